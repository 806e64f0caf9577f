/**
 * First-run setup (the account, with the setup code), sign-in and sign-out. Failed
 * attempts are rate-limited per client and every outcome lands in the audit log.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { AuditLog } from '../audit/index.ts';
import type { MessageKey } from '../i18n/index.ts';
import { formField, uiContext, type Ui } from '../ui/index.ts';
import { checkFormToken, endSession, formToken, safeNext, startSession } from './session.ts';
import type { Account } from './account.ts';
import { passwordProblem, PASSWORD_MIN_LENGTH } from './passwords.ts';
import type { Sessions } from './sessions.ts';
import type { SetupCode } from './setup-code.ts';

export interface AuthPagesDeps {
  account: Account;
  sessions: Sessions;
  /** The code issued at start; null once the account exists. */
  setupCode: () => SetupCode | null;
  audit: AuditLog;
  ui: Ui;
  attempts?: { windowMs: number; limit: number };
}

export function authPages(deps: AuthPagesDeps): { publicRoutes: Router; signOut: RequestHandler } {
  const { account, sessions, audit, ui } = deps;
  const router = Router();
  const attempts = deps.attempts ?? { windowMs: 15 * 60_000, limit: 10 };
  const limited = (render: (req: Request, res: Response, problem: MessageKey, status: number) => void) =>
    rateLimit({
      windowMs: attempts.windowMs,
      limit: attempts.limit,
      skipSuccessfulRequests: true,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      // The controller trusts no proxy (req.ip is the peer); a forwarded header a client
      // sends is simply ignored, not worth the warning the library prints to stderr.
      validate: { xForwardedForHeader: false, forwardedHeader: false },
      handler: (req, res) => {
        audit.record({ actor: `client:${req.ip}`, action: 'session.rate_limited', target: req.path, outcome: 'refused' });
        render(req, res, 'auth.too_many_attempts', 429);
      },
    });

  const renderSetup = (req: Request, res: Response, problem: MessageKey | null, status = 200) => {
    const code = deps.setupCode();
    ui.page(res, 'auth/setup', {
      title: uiContext(res).t('auth.setup_title'),
      formCsrf: formToken(req, res),
      problem,
      expired: !code || code.expired(),
      minLength: PASSWORD_MIN_LENGTH,
    }, status);
  };
  const renderLogin = (req: Request, res: Response, problem: MessageKey | null, status = 200) => {
    ui.page(res, 'auth/login', {
      title: uiContext(res).t('auth.login_title'),
      formCsrf: formToken(req, res),
      problem,
      next: safeNext(req.query.next ?? formField(req, 'next')),
    }, status);
  };

  router.get('/setup', (req, res) => {
    if (account.exists()) return res.redirect(303, '/login');
    renderSetup(req, res, null);
  });

  router.post('/setup', limited(renderSetup), async (req, res) => {
    checkFormToken(req, res);
    if (account.exists()) return res.redirect(303, '/login');
    const code = deps.setupCode();
    const password = formField(req, 'password');
    if (!code || !code.matches(formField(req, 'code'))) {
      audit.record({ actor: `client:${req.ip}`, action: 'account.setup', outcome: 'refused', details: { reason: code?.expired() ? 'code expired' : 'wrong code' } });
      return renderSetup(req, res, code?.expired() ? 'auth.code_expired' : 'auth.wrong_code', 403);
    }
    const problem = passwordProblem(password) ?? (password === formField(req, 'confirm') ? null : 'password_mismatch');
    if (problem) return renderSetup(req, res, `auth.${problem}`, 400);
    await account.create(password);
    code.retire();
    startSession(req, res, sessions);
    audit.record({ actor: 'customer', action: 'account.setup', outcome: 'ok', details: { client: req.ip } });
    res.redirect(303, '/');
  });

  router.get('/login', (req, res) => {
    if (!account.exists()) return res.redirect(303, '/setup');
    if (res.locals.session) return res.redirect(303, safeNext(req.query.next));
    renderLogin(req, res, null);
  });

  router.post('/login', limited(renderLogin), async (req, res) => {
    checkFormToken(req, res);
    if (!(await account.verify(formField(req, 'password')))) {
      audit.record({ actor: `client:${req.ip}`, action: 'session.sign_in', outcome: 'refused', details: { reason: 'wrong password' } });
      return renderLogin(req, res, 'auth.wrong_password', 401);
    }
    startSession(req, res, sessions);
    audit.record({ actor: 'customer', action: 'session.sign_in', outcome: 'ok', details: { client: req.ip } });
    res.redirect(303, safeNext(formField(req, 'next')));
  });

  const signOut: RequestHandler = (req, res) => {
    endSession(req, res, sessions);
    audit.record({ actor: 'customer', action: 'session.sign_out', outcome: 'ok' });
    res.redirect(303, '/login');
  };
  return { publicRoutes: router, signOut };
}
