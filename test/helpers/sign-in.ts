/** Signing in with plain fetch, as a browser does, for the benchmarks and the image test. */
export async function signInWithSetupCode(url: string, code: string, password: string): Promise<string> {
  const form = await fetch(`${url}/setup`);
  const formCookie = form.headers.get('set-cookie')!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const created = await fetch(`${url}/setup`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, code, password, confirm: password }),
  });
  return created.headers.getSetCookie().find((c) => c.startsWith('felhom_session='))!.split(';')[0]!;
}

/** One sign-in attempt, as the login form sends it; returns the HTTP status (303 signed in, 401 wrong password, 429 limited). */
export async function attemptSignIn(url: string, password: string): Promise<number> {
  const form = await fetch(`${url}/login`);
  const formCookie = form.headers.get('set-cookie')!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const answer = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, password }),
  });
  return answer.status;
}
