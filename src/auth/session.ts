/**
 * Sign-in state for the customer UI: the session cookie, the sign-in requirement, and
 * CSRF checks. Signed-in forms and htmx requests carry the session's synchronizer token;
 * the sign-in and setup forms, which come before any session, use a double-submit cookie.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { isHtmx, pageError } from '../ui/index.ts';
import type { Account } from './account.ts';
import { SESSION_IDLE_MS, type Session, type Sessions } from './sessions.ts';

export const SESSION_COOKIE = 'felhom_session';
const FORM_COOKIE = 'felhom_form';

/** Only a path on this site: never `//evil.example` or a full URL. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

export function readCookie(req: Request, name: string): string | null {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** HttpOnly and SameSite=Lax always; Secure when the request came over TLS. */
function setCookie(req: Request, res: Response, name: string, value: string, maxAgeMs: number): void {
  res.cookie(name, value, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: maxAgeMs });
}

function equalTokens(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function startSession(req: Request, res: Response, sessions: Sessions): Session {
  const previous = readCookie(req, SESSION_COOKIE);
  if (previous) sessions.destroy(previous);
  const { cookie, session } = sessions.create();
  setCookie(req, res, SESSION_COOKIE, cookie, SESSION_IDLE_MS);
  res.clearCookie(FORM_COOKIE, { path: '/' });
  res.locals.session = session;
  return session;
}

export function endSession(req: Request, res: Response, sessions: Sessions): void {
  const cookie = readCookie(req, SESSION_COOKIE);
  if (cookie) sessions.destroy(cookie);
  res.clearCookie(SESSION_COOKIE, { path: '/' });
}

export function loadSession(sessions: Sessions): RequestHandler {
  return (req, res, next) => {
    const cookie = readCookie(req, SESSION_COOKIE);
    res.locals.session = cookie ? sessions.lookup(cookie) : null;
    next();
  };
}

/** Without a session: to /setup while there is no account, else to /login. */
export function requireSignIn(account: Account): RequestHandler {
  return (req, res, next) => {
    if (res.locals.session) return next();
    const target = account.exists() ? `/login?next=${encodeURIComponent(req.originalUrl)}` : '/setup';
    // htmx follows HX-Redirect; a plain form (a session that expired meanwhile) is sent
    // to the sign-in page, and nothing it asked for is done.
    if (isHtmx(req)) {
      res.status(401).set('HX-Redirect', target).type('text').send('sign in first');
      return;
    }
    res.redirect(303, req.method === 'GET' ? target : target.replace(/\?next=.*$/, ''));
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function submittedToken(req: Request): string {
  const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf;
  return typeof fromBody === 'string' ? fromBody : (req.get('x-csrf-token') ?? '');
}

/** Every mutating request of a signed-in customer carries the session's CSRF token. */
export const requireCsrf: RequestHandler = (req, res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  const session = res.locals.session as Session | null;
  if (!session || !equalTokens(submittedToken(req), session.csrfToken)) {
    throw pageError('forbidden', 'page_error.form_expired');
  }
  next();
};

/** The double-submit token for the forms shown before sign-in. */
export function formToken(req: Request, res: Response): string {
  const existing = readCookie(req, FORM_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  setCookie(req, res, FORM_COOKIE, token, 3600_000);
  return token;
}

export function checkFormToken(req: Request, res: Response): void {
  const cookie = readCookie(req, FORM_COOKIE);
  if (!cookie || !equalTokens(submittedToken(req), cookie)) {
    throw pageError('forbidden', 'page_error.form_expired');
  }
}
