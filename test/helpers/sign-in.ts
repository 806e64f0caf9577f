/** Signing in with plain fetch, as a browser does, for the benchmarks and the image test. */

/** Fetches a form page for its cookie and CSRF token, then posts the fields to it, as the browser does. */
async function submitForm(url: string, page: string, fields: Record<string, string>): Promise<Response> {
  const form = await fetch(`${url}${page}`);
  const formCookie = form.headers.get('set-cookie')!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  return fetch(`${url}${page}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, ...fields }),
  });
}

/** Creates the account with the setup code; returns the session cookie. */
export async function signInWithSetupCode(url: string, code: string, password: string): Promise<string> {
  const created = await submitForm(url, '/setup', { code, password, confirm: password });
  return created.headers.getSetCookie().find((c) => c.startsWith('felhom_session='))!.split(';')[0]!;
}

/** One sign-in attempt; returns the HTTP status (303 signed in, 401 wrong password, 429 limited). */
export async function attemptSignIn(url: string, password: string): Promise<number> {
  return (await submitForm(url, '/login', { password })).status;
}
