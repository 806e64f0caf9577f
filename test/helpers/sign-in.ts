/** Creates the account with the setup code, as a browser does; returns the session cookie. For the benchmarks (plain fetch). */
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
