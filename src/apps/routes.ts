import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Mount } from '../agent/index.ts';
import { AppError } from '../errors.ts';
import { inEnglish } from '../i18n/index.ts';
import type { AppsParts } from './parts.ts';
import { describeApp, presentOperation } from './view.ts';

const installBody = z.union([
  z.object({ manifest: z.string().min(1), compose: z.string().min(1), confirm_bulk_on_primary: z.boolean().optional() }),
  z.object({ catalog: z.string().min(1), confirm_bulk_on_primary: z.boolean().optional() }),
]);
const rollbackBody = z.object({ snapshot: z.string().min(1), confirm: z.boolean().optional() });

function parseBody<T>(schema: z.ZodType<T>, req: Request): T {
  const parsed = schema.safeParse(req.body);
  if (!parsed.success) {
    throw new AppError('validation', { key: 'error.invalid_body', params: { issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') } });
  }
  return parsed.data;
}

const actorOf = (res: { locals: Record<string, unknown> }) => String(res.locals.actor ?? 'unknown');

/** /api/v1 routes of the apps domain. */
export function appsApi(apps: AppsParts): Router {
  const router = Router();
  const { service, store, docker, operations } = apps;

  router.get('/apps', async (_req, res) => {
    const list = await Promise.all(store.list().map((app) => describeApp({ store, docker, operations, updateOf: apps.updateOf }, app, false)));
    const found = apps.lastReconcile();
    res.json({ apps: list, unmanaged_projects: found?.unmanaged ?? [], reconciled_at_start: found });
  });

  router.get('/apps/:id', async (req, res) => {
    const app = store.get(req.params.id);
    if (!app) throw new AppError('not_found', { key: 'error.app_not_installed', params: { id: req.params.id } });
    res.json(await describeApp({ store, docker, operations, updateOf: apps.updateOf }, app, true));
  });

  router.post('/apps', async (req, res) => {
    const body = parseBody(installBody, req);
    const source = 'catalog' in body ? { catalog: body.catalog } : { manifest: body.manifest, compose: body.compose };
    const { operationId } = await service.install(source, { actor: actorOf(res), confirmBulkOnPrimary: body.confirm_bulk_on_primary ?? false });
    res.status(202).location(`/api/v1/operations/${operationId}`).json({ operation: presentOperation(operations.get(operationId)) });
  });

  router.post('/apps/plan', async (req, res) => {
    const body = parseBody(installBody, req);
    const source = 'catalog' in body ? { catalog: body.catalog } : { manifest: body.manifest, compose: body.compose };
    const { manifest, plan } = await service.plan(source);
    res.json({ app_id: manifest.id, placements: plan.placements, problems: plan.problems.map(inEnglish), needs_confirmation: plan.needsConfirmation });
  });

  for (const action of ['start', 'stop', 'restart'] as const) {
    router.post(`/apps/:id/${action}`, async (req, res) => {
      await service[action](req.params.id as string, { actor: actorOf(res) });
      res.json(await describeApp({ store, docker, operations, updateOf: apps.updateOf }, store.get(req.params.id as string)!, false));
    });
  }

  router.post('/apps/:id/update', async (req, res) => {
    const { operationId } = await service.update(req.params.id, { actor: actorOf(res) });
    res.status(202).location(`/api/v1/operations/${operationId}`).json({ operation: presentOperation(operations.get(operationId)) });
  });

  router.post('/apps/:id/rollback', async (req, res) => {
    const body = parseBody(rollbackBody, req);
    await service.rollback(req.params.id, body.snapshot, { actor: actorOf(res), confirm: body.confirm ?? false });
    res.status(202).json({ accepted: true, snapshot: body.snapshot });
  });

  router.delete('/apps/:id', async (req, res) => {
    const deleteData = req.query.delete_data === 'true';
    const confirm = typeof req.query.confirm === 'string' ? req.query.confirm : undefined;
    const result = await service.uninstall(req.params.id, { actor: actorOf(res), deleteData, ...(confirm ? { confirm } : {}) });
    res.json({ uninstalled: req.params.id, data: deleteData ? 'deleted' : 'kept', deleted_paths: result.deletedPaths });
  });

  router.get('/operations/:id', (req, res) => {
    const operation = operations.get(req.params.id);
    if (!operation) throw new AppError('not_found', { key: 'error.no_operation', params: { id: req.params.id } });
    res.json({ operation: presentOperation(operation) });
  });

  router.get('/apps/:id/logs', async (req, res) => {
    if (!store.get(req.params.id)) throw new AppError('not_found', { key: 'error.app_not_installed', params: { id: req.params.id } });
    const tail = req.query.tail === undefined ? 200 : Number(req.query.tail);
    if (!Number.isInteger(tail) || tail < 1 || tail > 2000) throw new AppError('validation', { key: 'error.tail_invalid' });
    const service = typeof req.query.service === 'string' ? req.query.service : undefined;
    res.json({ lines: await docker.logs(req.params.id, { tail, ...(service ? { service } : {}) }) });
  });

  router.get('/storage', async (_req, res) => {
    const storage = await apps.agent.getStorage();
    const usedBy = (mount: Mount) => store.appsWithData().filter((appId) => store.placements(appId).some((p) => p.mountId === mount.id));
    res.json({ ...storage, mounts: storage.mounts.map((mount) => ({ ...mount, apps: usedBy(mount) })) });
  });

  router.get('/catalog', async (_req, res) => {
    const entries = await apps.catalog();
    // As the store shows it: whether the app's images can be had here (null: not asked, a box with internet).
    const availability = await Promise.all(entries.map((entry) => Promise.resolve(apps.availability(entry)).catch(() => null)));
    res.json({
      apps: entries.map(({ id, manifest, category, description, icon }, index) => ({
        id,
        name: manifest.name,
        version: manifest.version,
        category,
        description,
        icon: icon !== null,
        installed: store.get(manifest.id) !== null,
        availability: availability[index],
        volumes: manifest.volumes,
      })),
    });
  });

  return router;
}
