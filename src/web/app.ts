import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Apps } from '../apps/index.ts';
import { activityPage, type AuditLog } from '../audit/index.ts';
import { authPages, loadSession, requireCsrf, requireSignIn, type Account, type ApiTokens, type Sessions, type SetupCode } from '../auth/index.ts';
import type { AgentClient } from '../agent/index.ts';
import { backupPages, backupsApi, type Backups } from '../backups/index.ts';
import type { Clock } from '../clock.ts';
import { diskPages, disksApi } from '../disks/index.ts';
import type { Host } from '../host/index.ts';
import type { Quiesce } from '../quiesce/index.ts';
import type { Logger } from '../log.ts';
import { SETTING, type Settings } from '../settings/index.ts';
import type { StatusService } from '../status/index.ts';
import type { Updates } from '../updates/index.ts';
import { createUi, createViews, formBodies, signInForm, uiLocals } from '../ui/index.ts';
import { requireApiToken } from './api-auth.ts';
import { apiNotFound, errorHandler, pageNotFound } from './errors.ts';
import { homePage } from './home.ts';
import { securityHeaders } from './security.ts';
import { settingsPages } from './settings-page.ts';
import { readiness, statusApi, statusPage } from './status-routes.ts';

export interface WebDeps {
  logger: Logger;
  clock: Clock;
  apiTokens: ApiTokens;
  account: Account;
  sessions: Sessions;
  setupCode: () => SetupCode | null;
  settings: Settings;
  status: StatusService;
  apps: Apps;
  agent: AgentClient;
  audit: AuditLog;
  quiesce: Quiesce;
  backups: Backups;
  host: Host;
  updates: Updates;
  publicDir?: string;
  /** Sign-in attempts per client and window (tests lower it). */
  signInAttempts?: { windowMs: number; limit: number };
}

const htmxFile = fileURLToPath(import.meta.resolve('htmx.org/dist/htmx.min.js'));

export function createWebApp(deps: WebDeps): express.Express {
  const views = createViews();
  const ui = createUi(views);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(securityHeaders);

  // Liveness: the process serves. Readiness: it can do its work (status.ts says what counts).
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(readiness(deps.status));

  const api = express.Router();
  api.use(requireApiToken(deps.apiTokens));
  api.use(express.json({ limit: '256kb' }));
  api.use(statusApi(deps.status));
  api.use(deps.apps.api);
  api.use(deps.updates.api);
  api.use(disksApi({ agent: deps.agent, apps: deps.apps, bulk: deps.backups.bulk, audit: deps.audit }));
  api.use(backupsApi(deps.backups));
  api.use(apiNotFound);
  app.use('/api/v1', api);
  app.use('/api', apiNotFound);

  // htmx is served from our own files: the box may have no internet.
  app.get('/static/htmx.min.js', (_req, res) => res.sendFile(htmxFile, { maxAge: '1d' }));
  app.use('/static', express.static(deps.publicDir ?? fileURLToPath(new URL('../../public', import.meta.url)), { fallthrough: false, maxAge: '1h' }));

  const pages = express.Router();
  pages.use(loadSession(deps.sessions));
  pages.use(uiLocals(() => deps.settings.get(SETTING.locale)?.value ?? null));
  pages.use(['/setup', '/login'], signInForm);
  const auth = authPages({ account: deps.account, sessions: deps.sessions, setupCode: deps.setupCode, audit: deps.audit, ui, ...(deps.signInAttempts ? { attempts: deps.signInAttempts } : {}) });
  pages.use(auth.publicRoutes);
  pages.use(requireSignIn(deps.account));
  pages.use(formBodies);
  pages.use(requireCsrf);
  pages.post('/logout', auth.signOut);
  pages.use(homePage({ ...deps, ui }));
  pages.use(statusPage(deps.status, ui));
  pages.use(deps.apps.pages(ui));
  pages.use(deps.updates.pages());
  pages.use(diskPages({ agent: deps.agent, apps: deps.apps, bulk: deps.backups.bulk, audit: deps.audit, ui }));
  pages.use(deps.host.pages(ui));
  pages.use(backupPages({ backups: deps.backups, ui }));
  pages.use(activityPage({ audit: deps.audit, now: () => deps.clock.now(), ui }));
  pages.use(settingsPages({ settings: deps.settings, account: deps.account, sessions: deps.sessions, apiTokens: deps.apiTokens, status: deps.status, audit: deps.audit, ui }));
  pages.use(pageNotFound);
  app.use(pages);
  app.use(errorHandler(deps.logger, ui));
  return app;
}
