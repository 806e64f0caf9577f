/**
 * App volumes: Docker named volumes of the `local` driver bound onto a directory of
 * the volume's placement (`<mount>/felhom/apps/<app>/<volume>`), so the data lives on
 * the disk the placement chose and never in the guest's root filesystem, and removing
 * the Docker object never removes the data.
 *
 * Seeding: an app whose image ships content at a volume's path (config, an initial
 * database) breaks when an empty directory is mounted over it (context 003). Docker
 * copies that content into an empty volume when a container is created, but only into
 * an empty one and with no record of having done so. We seed once, on our terms: into
 * a staging directory beside the target, moved into place in one rename, then a
 * sentinel written last beside it. The sentinel lives outside the volume, since a
 * file inside would break apps that want an empty data directory (postgres initdb).
 * Callers run one seed of a given volume at a time (the install lock).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { syncDir } from '../durable.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { connectEngine, statusOf, unless, upstream } from './engine.ts';

export interface VolumeRef {
  app: string;
  volume: string;
  /** Absolute: the directory the volume is bound to. */
  dir: string;
}

export interface SeedRequest extends VolumeRef {
  /** An image present in the engine; its content at `mountPath` is the seed. */
  image: string;
  mountPath: string;
}

export type SeedResult = 'seeded' | 'already' | 'kept-existing';

export interface Volumes {
  /** Creates (or reuses) the bind volume `felhom_<app>_<volume>` onto `dir`. */
  ensureVolume(ref: VolumeRef): Promise<{ name: string }>;
  seedVolume(request: SeedRequest): Promise<SeedResult>;
  /** Removes the Docker object only, and only one the controller made; the files stay. */
  removeVolume(name: string): Promise<void>;
}

export const volumeName = (app: string, volume: string) => `felhom_${app}_${volume}`;
export const seedSentinel = (dir: string) => `${path.resolve(dir)}.seeded`;

const MANAGED_LABEL = 'org.felhom.managed';
const SEED_LABEL = 'org.felhom.seed';

/** The temporary container and volume that seed an app's volume. */
export const seedName = (app: string, volume: string) => `felhom-seed.${app}.${volume}`;

/** Removes a seeding leftover, and nothing that is not one. */
async function removeSeeding(labels: Record<string, string> | undefined | null, remove: () => Promise<unknown>): Promise<void> {
  if (labels?.[SEED_LABEL] !== 'true') throw new AppError('conflict', { key: 'error.seed_object_foreign' });
  await unless([404], remove());
}

export function createVolumes(options: { dockerHost: string; logger: Logger; timeoutMs?: number }): Volumes {
  const { quick, slow } = connectEngine(options.dockerHost, options.timeoutMs ?? 10_000);
  const { logger } = options;

  const createBindVolume = (name: string, device: string, labels: Record<string, string>) =>
    quick.createVolume({ Name: name, Driver: 'local', DriverOpts: { type: 'none', o: 'bind', device }, Labels: labels });

  async function ensureVolume(ref: VolumeRef): Promise<{ name: string }> {
    const dir = absolute(ref.dir);
    const name = volumeName(ref.app, ref.volume);
    await fs.mkdir(dir, { recursive: true });
    try {
      const existing = await unless([404], quick.getVolume(name).inspect());
      if (existing !== null) {
        const device = existing.Options?.device;
        if (existing.Driver === 'local' && existing.Options?.o === 'bind' && device !== undefined && path.resolve(device) === dir) return { name };
        const where = device ?? `${existing.Mountpoint} (a plain volume in Docker's own storage)`;
        const users = await quick.listContainers({ all: true, filters: { volume: [name] } });
        if (users.length > 0) {
          const names = users.map((c) => c.Names[0]?.replace(/^\//, '') ?? c.Id).join(', ');
          throw new AppError('conflict', { key: 'error.volume_bound_elsewhere', params: { name, where, dir, containers: names } });
        }
        logger.info({ volume: name, from: where, to: dir }, 'volumes: recreating a volume bound elsewhere');
        await quick.getVolume(name).remove();
      }
      await createBindVolume(name, dir, { 'org.felhom.app': ref.app, 'org.felhom.volume': ref.volume, [MANAGED_LABEL]: 'true' });
      return { name };
    } catch (error) {
      throw upstream(`preparing volume ${name} on ${dir}`, error);
    }
  }

  async function seedVolume(request: SeedRequest): Promise<SeedResult> {
    const dir = absolute(request.dir);
    const sentinel = seedSentinel(dir);
    if (await exists(sentinel)) return 'already';
    await fs.mkdir(dir, { recursive: true });
    if ((await fs.readdir(dir)).length > 0) {
      // Data from an earlier life of this app (or put there by hand): never overwrite it.
      await writeSentinel(sentinel, { result: 'kept-existing' });
      logger.info({ dir }, 'volumes: kept the data already there instead of seeding');
      return 'kept-existing';
    }
    // A staging directory left by a crash is ours and incomplete.
    const staging = `${dir}.seeding`;
    await fs.rm(staging, { recursive: true, force: true });
    await fs.mkdir(staging);
    await copyImageContent(request, staging);
    await fs.rmdir(dir);
    await fs.rename(staging, dir);
    await syncDir(path.dirname(dir));
    await writeSentinel(sentinel, { result: 'seeded', image: request.image, mountPath: request.mountPath });
    logger.info({ dir, image: request.image, mountPath: request.mountPath }, 'volumes: seeded from the image');
    return 'seeded';
  }

  /**
   * Lets Docker do the copy (it keeps owners, modes and the root directory's own
   * owner and mode): a container created, never started, with a temporary volume
   * bound onto `staging` at `mountPath`. Names are fixed per volume, so what a crash
   * left behind is found and removed by the next attempt. They are joined with dots,
   * which neither app ids nor volume names may hold: no app's volume or container can
   * have them (`felhom_seed_photos_db` was also app `seed`'s volume `photos_db`), and
   * only objects labelled as seeding leftovers are removed.
   */
  async function copyImageContent(request: SeedRequest, staging: string): Promise<void> {
    const name = seedName(request.app, request.volume);
    const cleanUp = async () => {
      const container = await unless([404], slow.getContainer(name).inspect());
      if (container) await removeSeeding(container.Config.Labels, () => slow.getContainer(name).remove({ force: true }));
      const volume = await unless([404], quick.getVolume(name).inspect());
      if (volume) await removeSeeding(volume.Labels, () => quick.getVolume(name).remove());
    };
    try {
      await cleanUp();
      await createBindVolume(name, staging, { [SEED_LABEL]: 'true' });
      await slow.createContainer({
        name,
        Image: request.image,
        // Never started; an entrypoint is still required for images that have none.
        Entrypoint: ['/felhom-seed-never-runs'],
        Cmd: [],
        NetworkDisabled: true,
        Labels: { [SEED_LABEL]: 'true' },
        HostConfig: { Mounts: [{ Type: 'volume', Source: name, Target: request.mountPath }] },
      });
      await cleanUp();
    } catch (error) {
      await cleanUp().catch((cleanupError: unknown) => logger.warn({ err: cleanupError, name }, 'volumes: seeding left objects behind; the next attempt removes them'));
      const what = `seeding volume ${request.volume} of ${request.app} from image ${request.image}`;
      // The image is read from the engine, never pulled here.
      if (statusOf(error) === 404) throw new AppError('upstream', { key: 'error.docker_image_missing', params: { what } }, { cause: error });
      throw upstream(what, error);
    }
  }

  async function removeVolume(name: string): Promise<void> {
    try {
      const volume = await unless([404], quick.getVolume(name).inspect());
      if (volume === null) return;
      if (volume.Labels?.[MANAGED_LABEL] !== 'true') {
        throw new AppError('conflict', { key: 'error.volume_foreign', params: { name } });
      }
      await quick.getVolume(name).remove();
    } catch (error) {
      if (statusOf(error) === 409) throw new AppError('conflict', { key: 'error.volume_in_use', params: { name } }, { cause: error });
      throw upstream(`removing volume ${name}`, error);
    }
  }

  return { ensureVolume, seedVolume, removeVolume };
}

function absolute(dir: string): string {
  // Docker would resolve a relative device path against its own working directory.
  if (!path.isAbsolute(dir)) throw new AppError('internal', { key: 'error.volume_dir_relative', params: { dir } });
  return path.resolve(dir);
}

const exists = (file: string) => fs.access(file).then(() => true, () => false);

/** Written last, after the rename is durable, and made durable itself. */
async function writeSentinel(file: string, content: Record<string, unknown>): Promise<void> {
  await fs.writeFile(file, `${JSON.stringify({ ...content, at: new Date().toISOString() })}\n`);
  await syncDir(path.dirname(file));
}
