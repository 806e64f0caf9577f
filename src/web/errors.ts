import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { isHtmx, pageError, uiLocals, type Ui } from '../ui/index.ts';

/** The body of every API error: a machine code and a sentence a person can act on. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export const apiNotFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('not_found', `no API route ${req.method} ${req.path}`));
};

export const pageNotFound: RequestHandler = (_req, res) => {
  throw pageError(res, 'not_found', 'page_error.no_page');
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
    const data = { status, code: appError.code, message: appError.message };
    if (isHtmx(req)) {
      res.set({ 'HX-Retarget': '#flash', 'HX-Reswap': 'innerHTML' });
      ui.fragment(res, 'error-fragment', data, status);
    } else {
      const title = res.locals.ui.t(status === 404 ? 'error.not_found' : status < 500 ? 'error.refused' : 'error.title');
      ui.page(res, 'error', { title, ...data }, status);
    }
  };
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
  if (status === 400 && type === 'entity.parse.failed') return client(new AppError('validation', 'the request body is not valid JSON'));
  if (status === 413) return client(new AppError('validation', 'the request body is too large'));
  // serve-static answers 403 only for a path that would leave its folder: to the client, simply not there.
  if (status === 404 || status === 403) return { appError: new AppError('not_found', 'there is no file at this address'), status: 404 };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return client(new AppError('validation', 'the request cannot be served as sent (an address or body that cannot be decoded, or a range outside the file)'));
  }
  return { appError: new AppError('internal', 'something went wrong inside the controller; the log has the details', { cause: error }), status: 500 };
}
