/**
 * The disks page: the drives the agent lists, and assign, eject and format. Eject and
 * format are shown on a confirmation page first (eject names the apps it will stop).
 */
import { Router, type Request } from 'express';
import { isAgentError, type Disk } from '../agent/index.ts';
import { formField, pageError, type Ui } from '../ui/index.ts';
import { assignDisk, defaultFsLabel, ejectDisk, formatDisk, type DisksDeps } from './disks.ts';

const ACTOR = 'customer';
const str = (req: Request, name: string) => formField(req, name).trim();

export function diskPages(deps: DisksDeps & { ui: Ui }): Router {
  const router = Router();
  const { ui } = deps;
  const appsOn = (disk: Disk) => (disk.mount ? deps.apps.appsOnMount(disk.mount.id) : []);
  const findDisk = async (id: string) => {
    const disk = (await deps.agent.listDisks()).find((d) => d.id === id);
    if (!disk) throw pageError('not_found', 'page_error.no_disk', { id });
    return disk;
  };

  router.get('/disks', async (req, res) => {
    const disks = await deps.agent.listDisks();
    ui.page(res, 'disks/page', {
      title: res.locals.ui.t('nav.disks'),
      disks: disks.map((disk) => ({ disk, apps: appsOn(disk) })),
      done: typeof req.query.done === 'string' ? req.query.done : null,
    });
  });

  router.post('/disks/assign', async (req, res) => {
    await assignDisk(deps, { disk: str(req, 'disk'), label: str(req, 'label'), class: str(req, 'class') as 'fast', role: str(req, 'role') as 'bulk-data' }, ACTOR);
    res.redirect(303, '/disks?done=assigned');
  });

  router.get('/disks/:id/eject', async (req, res) => {
    const disk = await findDisk(req.params.id);
    ui.page(res, 'disks/eject', { title: res.locals.ui.t('disks.eject_title'), disk, apps: appsOn(disk) });
  });
  router.post('/disks/:id/eject', async (req, res) => {
    const ejected = await ejectDisk(deps, req.params.id, ACTOR);
    res.redirect(303, ejected.cancelled_backups.length > 0 ? '/disks?done=ejected_backup_cancelled' : '/disks?done=ejected');
  });

  router.get('/disks/:id/format', async (req, res) => {
    const disk = await findDisk(req.params.id);
    ui.page(res, 'disks/format', { title: res.locals.ui.t('disks.format_title'), disk, refusal: null });
  });
  router.post('/disks/:id/format', async (req, res) => {
    const disk = await findDisk(req.params.id);
    if (str(req, 'confirm') !== 'yes') throw pageError('validation', 'page_error.tick_to_erase');
    try {
      await formatDisk(deps, { disk: disk.id, filesystem: 'ext4', fs_label: str(req, 'fs_label') || defaultFsLabel(disk.id) }, ACTOR);
    } catch (error) {
      // The agent refuses to wipe a drive with data unless Felhom support signed the wipe:
      // that is an answer to show in words, not an error page.
      if (isAgentError(error, 'pending_signature')) {
        return ui.page(res, 'disks/format', { title: res.locals.ui.t('disks.format_title'), disk, refusal: error.message }, 403);
      }
      throw error;
    }
    res.redirect(303, '/disks?done=formatted');
  });
  return router;
}
