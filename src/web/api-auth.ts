import type { RequestHandler } from 'express';
import type { ApiTokens } from '../auth/index.ts';
import { errorBody } from './errors.ts';

/** `Authorization: Bearer <api token>` on every /api/v1 request. */
export function requireApiToken(tokens: ApiTokens): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const info = match?.[1] ? tokens.verify(match[1]) : null;
    if (!info) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer realm="felhom"')
        .json(
          errorBody(
            'unauthorized',
            match ? 'this API token is unknown or revoked' : 'send an API token as "Authorization: Bearer <token>" (create one with `felhom api-token create <name>`)',
          ),
        );
      return;
    }
    res.locals.actor = `api-token:${info.name}`;
    next();
  };
}
