import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Views } from './views.ts';

/** The body of every API error: a machine code and a sentence a person can act on. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export const apiNotFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('not_found', `no API route ${req.method} ${req.path}`));
};

export const pageNotFound: RequestHandler = () => {
  throw new AppError('not_found', 'there is no page at this address');
};

/** Maps every error to JSON under /api and to an error page elsewhere. */
export function errorHandler(logger: Logger, views: Views): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const appError = toAppError(error);
    if (appError.code === 'internal') logger.error({ err: error, path: req.path }, 'unhandled error');
    else logger.debug({ code: appError.code, path: req.path }, appError.message);
    if (res.headersSent) return;
    res.status(appError.httpStatus);
    if (req.path.startsWith('/api/')) {
      res.json(errorBody(appError.code, appError.message));
    } else {
      res.type('html').send(views.render('error', { status: appError.httpStatus, message: appError.message }));
    }
  };
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const status = (error as { status?: number; type?: string })?.status;
  // express.json() reports a body it cannot parse as a 400 with this type.
  if (status === 400 && (error as { type?: string }).type === 'entity.parse.failed') {
    return new AppError('validation', 'the request body is not valid JSON');
  }
  if (status === 413) return new AppError('validation', 'the request body is too large');
  return new AppError('internal', 'something went wrong inside the controller; the log has the details', { cause: error });
}
