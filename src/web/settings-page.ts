/**
 * The settings page: the password, API tokens (shown once at creation), the agent
 * channel as the controller holds it (never the token itself), and the language.
 */
import { Router } from 'express';
import { passwordProblem, readCookie, safeNext, SESSION_COOKIE, type Account, type ApiTokens, type Sessions } from '../auth/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { isLocale, locales } from '../i18n/index.ts';
import type { StatusService } from '../status/index.ts';
import { formField, pageError, type Ui } from '../ui/index.ts';
import { SETTING, type Settings } from '../settings/index.ts';

export interface SettingsPagesDeps {
  settings: Settings;
  account: Account;
  sessions: Sessions;
  apiTokens: ApiTokens;
  status: StatusService;
  audit: AuditLog;
  ui: Ui;
}

export function settingsPages(deps: SettingsPagesDeps): Router {
  const router = Router();
  const render = async (res: Parameters<Ui['page']>[0], extra: Record<string, unknown> = {}, status = 200) => {
    deps.ui.page(
      res,
      'settings/page',
      {
        title: res.locals.ui.t('nav.settings'),
        tokens: deps.apiTokens.list().filter((token) => !token.revokedAt),
        status: await deps.status.get(),
        locales,
        created: null,
        problem: null,
        done: null,
        ...extra,
      },
      status,
    );
  };

  router.get('/settings', async (req, res) => {
    await render(res, { done: typeof req.query.done === 'string' ? req.query.done : null });
  });

  router.post('/settings/password', async (req, res) => {
    if (!(await deps.account.verify(formField(req, 'current')))) {
      deps.audit.record({ actor: 'customer', action: 'account.password', outcome: 'refused', details: { reason: 'wrong current password' } });
      return render(res, { problem: 'auth.wrong_password' }, 403);
    }
    const password = formField(req, 'password');
    const problem = passwordProblem(password) ?? (password === formField(req, 'confirm') ? null : 'password_mismatch');
    if (problem) return render(res, { problem: `auth.${problem}` }, 400);
    await deps.account.changePassword(password);
    // Whoever else was signed in with the old password is signed out.
    const signedOut = deps.sessions.destroyOthers(readCookie(req, SESSION_COOKIE));
    deps.audit.record({ actor: 'customer', action: 'account.password', outcome: 'ok', details: { other_sessions_ended: signedOut } });
    res.redirect(303, '/settings?done=password');
  });

  router.post('/settings/tokens', async (req, res) => {
    const { info, token } = deps.apiTokens.create(formField(req, 'name').trim());
    deps.audit.record({ actor: 'customer', action: 'api_token.create', target: info.name, outcome: 'ok' });
    // Shown on this response only: it is stored hashed and cannot be shown again.
    await render(res, { created: { name: info.name, token } });
  });

  router.post('/settings/tokens/:id/revoke', (req, res) => {
    const info = deps.apiTokens.revoke(req.params.id);
    deps.audit.record({ actor: 'customer', action: 'api_token.revoke', target: info.name, outcome: 'ok' });
    res.redirect(303, '/settings?done=token_revoked');
  });

  router.post('/settings/language', (req, res) => {
    const locale = formField(req, 'locale');
    if (!isLocale(locale)) throw pageError('validation', 'page_error.unknown_language', { locale });
    deps.settings.setByCustomer(SETTING.locale, locale);
    deps.audit.record({ actor: 'customer', action: 'settings.language', target: locale, outcome: 'ok' });
    res.redirect(303, safeNext(formField(req, 'back')));
  });
  return router;
}
