import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import { isHtmx, pageError, uiLocals, worded, type Ui, type UiContext } from '../ui/index.ts';

/** The body of every API error: a machine code and a sentence a person can act on. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export const apiNotFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('not_found', `no API route ${req.method} ${req.path}`));
};

export const pageNotFound: RequestHandler = () => {
  throw pageError('not_found', 'page_error.no_page');
};

const englishUi = uiLocals(() => 'en');

/**
 * Maps every error to JSON under /api, to a fragment shown in the page's message area
 * for htmx, and to an error page otherwise.
 */
export function errorHandler(logger: Logger, ui: Ui): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const { appError, status } = toAppError(error);
    if (appError.code === 'internal') logger.error({ err: error, path: req.path }, 'unhandled error');
    else logger.debug({ code: appError.code, path: req.path }, appError.message);
    if (res.headersSent) return;
    // Routes match without regard to case, so /API/v1/… is the API too.
    if (req.path.toLowerCase().startsWith('/api/')) {
      res.status(status).json(errorBody(appError.code, appError.message));
      return;
    }
    // An error before the page middleware ran (a static file) has no UI context yet.
    if (!res.locals.ui) englishUi(req, res, () => undefined);
    const t = (res.locals.ui as UiContext).t;
    const data = { status, code: appError.code, message: worded(t, appError), problems: problemsOf(t, appError) };
    if (isHtmx(req)) {
      res.set({ 'HX-Retarget': '#flash', 'HX-Reswap': 'innerHTML' });
      ui.fragment(res, 'error-fragment', data, status);
    } else {
      const title = t(status === 404 ? 'error.not_found' : status < 500 ? 'error.refused' : 'error.title');
      ui.page(res, 'error', { title, ...data }, status);
    }
  };
}

/**
 * The problems an error lists one by one (a policy error's violations), each in the
 * customer's language; those without a catalog text are left to the message itself.
 */
function problemsOf(t: UiContext['t'], error: AppError): string[] {
  const listed = error.details?.violations;
  if (!Array.isArray(listed)) return [];
  return listed.flatMap((problem: { text?: Message }) => (problem?.text ? [t(problem.text.key, problem.text.params)] : []));
}

/**
 * Errors from express and its parts carry an HTTP status: a 4xx is the client's (a body
 * that is not JSON, an address that does not decode, a static path that climbs out of
 * its folder, a range that cannot be served) and is answered with that status, never as
 * the controller's failure.
 */
function toAppError(error: unknown): { appError: AppError; status: number } {
  if (error instanceof AppError) return { appError: error, status: error.httpStatus };
  const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown };
  const client = (appError: AppError) => ({ appError, status: status as number });
  if (status === 400 && type === 'entity.parse.failed') return client(new AppError('validation', { key: 'error.body_not_json' }));
  if (status === 413) return client(new AppError('validation', { key: 'error.body_too_large' }));
  // serve-static answers 403 only for a path that would leave its folder: to the client, simply not there.
  if (status === 404 || status === 403) return { appError: new AppError('not_found', { key: 'error.no_file' }), status: 404 };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return client(new AppError('validation', { key: 'error.request_unservable' }));
  }
  return { appError: new AppError('internal', { key: 'error.internal' }, { cause: error }), status: 500 };
}
