import { fileURLToPath } from 'node:url';
import express from 'express';
import { appsApi, type Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { ApiTokens } from '../auth/index.ts';
import type { AgentClient } from '../agent/index.ts';
import { disksApi } from '../disks/index.ts';
import { quiesceApi, type Quiesce } from '../quiesce/index.ts';
import type { Logger } from '../log.ts';
import type { StatusService } from '../status/index.ts';
import { requireApiToken } from './api-auth.ts';
import { apiNotFound, errorHandler, pageNotFound } from './errors.ts';
import { securityHeaders } from './security.ts';
import { statusApi, statusPage } from './status-routes.ts';
import { createViews } from './views.ts';

export interface WebDeps {
  logger: Logger;
  apiTokens: ApiTokens;
  status: StatusService;
  apps: Apps;
  agent: AgentClient;
  audit: AuditLog;
  quiesce: Quiesce;
  publicDir?: string;
}

export function createWebApp(deps: WebDeps): express.Express {
  const views = createViews();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(securityHeaders);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const api = express.Router();
  api.use(requireApiToken(deps.apiTokens));
  api.use(express.json({ limit: '256kb' }));
  api.use(statusApi(deps.status));
  api.use(appsApi(deps.apps));
  api.use(disksApi({ agent: deps.agent, apps: deps.apps, audit: deps.audit }));
  api.use(quiesceApi(deps.quiesce));
  api.use(apiNotFound);
  app.use('/api/v1', api);
  app.use('/api', apiNotFound);

  app.use(statusPage(deps.status, views));
  app.use(
    '/static',
    express.static(deps.publicDir ?? fileURLToPath(new URL('../../public', import.meta.url)), { fallthrough: true, maxAge: '1h' }),
  );
  app.use(pageNotFound);
  app.use(errorHandler(deps.logger, views));
  return app;
}
