/**
 * Rendering for the customer UI: every template gets `it.ui` (translate, format, the
 * CSRF token, where we are), and a page is its view inside the layout. An htmx request
 * for a fragment gets the fragment alone.
 */
import type { Request, RequestHandler, Response } from 'express';
import { AppError, type ErrorCode } from '../errors.ts';
import { formatter, pickLocale, translator, type Format, type Locale, type MessageKey, type Params, type Translate } from '../i18n/index.ts';
import type { Views } from './views.ts';

export interface UiContext {
  locale: Locale;
  t: Translate;
  fmt: Format;
  /** The session's CSRF token (or the sign-in form's); null when neither exists yet. */
  csrf: string | null;
  path: string;
  signedIn: boolean;
}

export interface Ui {
  page(res: Response, view: string, data: { title: string } & Record<string, unknown>, status?: number): void;
  fragment(res: Response, view: string, data: Record<string, unknown>, status?: number): void;
}

export const isHtmx = (req: Request) => req.get('hx-request') === 'true';

export function uiContext(res: Response): UiContext {
  return res.locals.ui as UiContext;
}

/** An error raised by a page itself: the error page words it in the customer's language, the log in English. */
export function pageError(code: ErrorCode, key: MessageKey, params?: Params): AppError {
  return new AppError(code, { key, params });
}

/** What an error says to the customer: in their language when it carries a catalog text, else as it was raised. */
export function worded(t: Translate, error: unknown): string {
  if (error instanceof AppError && error.text) return t(error.text.key, error.text.params);
  return error instanceof Error ? error.message : String(error);
}

/** Builds `res.locals.ui` for this request: the language is a setting (seeded by bootstrap). */
export function uiLocals(currentLocale: () => string | null): RequestHandler {
  return (req, res, next) => {
    const locale = pickLocale(currentLocale());
    const t = translator(locale);
    const ui: UiContext = {
      locale,
      t,
      fmt: formatter(locale, t),
      csrf: res.locals.session?.csrfToken ?? null,
      path: req.path,
      signedIn: Boolean(res.locals.session),
    };
    res.locals.ui = ui;
    next();
  };
}

export function createUi(views: Views): Ui {
  return {
    page(res, view, data, status = 200) {
      const ui = uiContext(res);
      const body = views.render(view, { ...data, ui });
      res.status(status).type('html').send(views.render('layout', { title: data.title, body, ui }));
    },
    fragment(res, view, data, status = 200) {
      res.status(status).type('html').send(views.render(view, { ...data, ui: uiContext(res) }));
    },
  };
}
