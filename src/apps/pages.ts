/**
 * The customer's pages for apps: the app store (the catalog with icons, search and
 * categories; upload; the placement plan; install) and each app's page (services,
 * actions, live logs, volumes, snapshots). Destructive actions go through a confirmation
 * page first.
 */
import fs from 'node:fs/promises';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { isHtmx, formField, pageError, uiContext, type Ui } from '../ui/index.ts';
import { installedAppIcon } from './icons.ts';
import type { AppsParts } from './parts.ts';
import { refusalOf } from './refusals.ts';
import type { InstallSource } from './service.ts';
import { storeView, type Availability } from './store-view.ts';
import { describeApp } from './view.ts';

const ACTOR = 'customer';
/**
 * An icon is the catalog's own drawing, but an SVG can carry script: served alone it gets
 * no script, no fetching and a sandbox, and the browser may not guess another type.
 */
const ICON_HEADERS = {
  'Content-Type': 'image/svg+xml',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  // Signed-in pages only; an icon changes only with the catalog, and the ETag tells.
  'Cache-Control': 'private, max-age=3600',
};
const ICON_FILE = /^([a-z0-9][a-z0-9-]{0,30})\.svg$/;

// GET forms (the plan of a catalog app, a roll-back's confirmation) send their fields in the query.
const str = (req: Request, name: string) => formField(req, name) || (typeof req.query[name] === 'string' ? req.query[name] : '');

function sourceOf(req: Request, res: Response): InstallSource {
  const catalog = str(req, 'catalog');
  if (catalog) return { catalog };
  const manifest = str(req, 'manifest');
  const compose = str(req, 'compose');
  if (!manifest.trim() || !compose.trim()) throw pageError('validation', 'page_error.choose_both_files');
  return { manifest, compose };
}

export function appPages(apps: AppsParts, ui: Ui): Router {
  const router = Router();
  const { service, store, docker, operations } = apps;
  const requireApp = (res: Response, id: string) => {
    const app = store.get(id);
    if (!app) throw pageError('not_found', 'page_error.no_app', { id });
    return app;
  };
  const detail = async (res: Response, id: string) => describeApp({ store, docker, operations, updateOf: apps.updateOf }, requireApp(res, id), true);
  /** A refusal with a list of problems is shown as that list, each in the customer's language. */
  const listingRefusals = (back: (req: Request, res: Response) => { href: string; label: string }, handler: RequestHandler): RequestHandler => async (req, res, next) => {
    try {
      await handler(req, res, next);
    } catch (error) {
      const refusal = refusalOf(error);
      if (!refusal) throw error;
      ui.page(res, 'apps/refused', { title: res.locals.ui.t(refusal.heading), ...refusal, back: back(req, res) }, refusal.status);
    }
  };
  const toStore = (_req: Request, res: Response) => ({ href: '/store', label: res.locals.ui.t('nav.store') });

  router.get('/store', async (req, res) => {
    const entries = await apps.catalog();
    // What cannot be told is shown as nothing, not as an error page: the store still works.
    const availability = new Map(await Promise.all(entries.map(async (entry) => [entry.id, await Promise.resolve(apps.availability(entry)).catch((): Availability => null)] as const)));
    const view = storeView(entries, { locale: uiContext(res).locale, query: str(req, 'q'), category: str(req, 'category'), installed: (id) => store.get(id) !== null, availability });
    // The same address answers the whole page and, for htmx, the results alone.
    res.vary('HX-Request');
    if (isHtmx(req)) ui.fragment(res, 'apps/store-results', { view, outOfBand: true });
    else ui.page(res, 'apps/store', { title: res.locals.ui.t('nav.store'), view });
  });

  // Only the icon of an entry the catalog lists, found by its id: nothing of the request becomes a path.
  router.get('/store/icons/:file', async (req, res) => {
    const id = ICON_FILE.exec(req.params.file)?.[1];
    const file = id ? (await apps.catalog()).find((entry) => entry.id === id)?.icon : null;
    const svg = file ? await fs.readFile(file).catch(() => null) : null;
    if (!svg) throw pageError('not_found', 'page_error.no_icon', { id: req.params.file });
    res.set(ICON_HEADERS).send(svg);
  });

  const plan = listingRefusals(toStore, async (req, res) => {
    const source = sourceOf(req, res);
    const { manifest, plan } = await service.plan(source);
    ui.page(res, 'apps/plan', { title: res.locals.ui.t('store.plan_title', { app: manifest.name }), manifest, plan, source, installed: store.get(manifest.id) !== null });
  });
  router.get('/store/plan', plan);
  router.post('/store/plan', plan);

  router.post('/store/install', listingRefusals(toStore, async (req, res) => {
    const source = sourceOf(req, res);
    const { manifest } = await service.plan(source);
    await service.install(source, { actor: ACTOR, confirmBulkOnPrimary: str(req, 'confirm_bulk_on_primary') === 'yes' });
    res.redirect(303, `/apps/${encodeURIComponent(manifest.id)}`);
  }));

  router.get('/apps/:id', async (req, res) => {
    const app = await detail(res, req.params.id);
    ui.page(res, 'apps/page', { title: app.name, app, icon: installedAppIcon(app, await apps.catalog()), message: typeof req.query.done === 'string' ? req.query.done : null });
  });
  router.get('/apps/:id/live', async (req, res) => {
    ui.fragment(res, 'apps/live', { app: await detail(res, req.params.id), outOfBandAt: Date.now() });
  });
  router.get('/apps/:id/logs', async (req, res) => {
    requireApp(res, req.params.id);
    const lines = await docker.logs(req.params.id, { tail: 200 }).catch(() => null);
    ui.fragment(res, 'apps/logs', { lines });
  });

  for (const action of ['start', 'stop', 'restart'] as const) {
    router.post(`/apps/:id/${action}`, async (req, res) => {
      await service[action](req.params.id as string, { actor: ACTOR });
      res.redirect(303, `/apps/${encodeURIComponent(req.params.id as string)}?done=${action}`);
    });
  }
  const toApp = (req: Request, res: Response) => ({ href: `/apps/${encodeURIComponent(req.params.id as string)}`, label: res.locals.ui.t('policy.back_to_app') });
  router.post('/apps/:id/update', listingRefusals(toApp, async (req, res) => {
    await service.update(req.params.id as string, { actor: ACTOR });
    res.redirect(303, `/apps/${encodeURIComponent(req.params.id as string)}?done=update`);
  }));

  router.get('/apps/:id/uninstall', async (req, res) => {
    const app = await detail(res, req.params.id);
    ui.page(res, 'apps/uninstall', { title: app.name, app, deletion: service.deletionCode(app.id) });
  });
  router.post('/apps/:id/uninstall', async (req, res) => {
    const id = req.params.id;
    const deleteData = str(req, 'data') === 'delete';
    if (deleteData && str(req, 'typed_id') !== id) {
      throw pageError('validation', 'page_error.type_app_id', { id });
    }
    await service.uninstall(id, { actor: ACTOR, deleteData, ...(deleteData ? { confirm: str(req, 'confirm') } : {}) });
    res.redirect(303, '/?uninstalled=' + encodeURIComponent(id));
  });

  router.get('/apps/:id/rollback', async (req, res) => {
    const app = await detail(res, req.params.id);
    const snapshot = app.snapshots.find((s) => s.name === str(req, 'snapshot'));
    if (!snapshot) throw pageError('not_found', 'page_error.no_snapshot', { snapshot: str(req, 'snapshot'), app: app.name });
    ui.page(res, 'apps/rollback', { title: app.name, app, snapshot });
  });
  router.post('/apps/:id/rollback', async (req, res) => {
    await service.rollback(req.params.id, str(req, 'snapshot'), { actor: ACTOR, confirm: str(req, 'confirm') === 'yes' });
    res.redirect(303, `/apps/${encodeURIComponent(req.params.id)}?done=rollback`);
  });
  return router;
}
