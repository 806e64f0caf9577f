/**
 * What the development agent's backup holds: a copy of every mount the guest's backup
 * covers (`in_guest_backup`), taken at the moment the real agent's storage snapshot
 * would exist, so a test can restore it and see what a backup of that instant is worth.
 *
 * Each backup's copy is `<stateDir>/backup-copies/<backup id>/<mount id>/`, with owners,
 * modes and times kept (a database refuses a data folder with the wrong owner). Files are
 * cloned (reflink) where the filesystem can, else copied. Never hard-linked: an app that
 * writes a file in place after the resume (a database does) would change the backup too.
 *
 * Unlike a storage snapshot, a copy is not one instant: a folder copied while its app
 * runs is crash-consistent at best, and a file may vanish mid-copy (skipped, as it was
 * not there a moment later). With the apps stopped, as the quiesce loop leaves them,
 * the copy is exactly what was on disk.
 */
import { constants } from 'node:fs';
import { copyFile, lchown, lutimes, lstat, mkdir, readdir, readlink, rm, chmod, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { mountPath } from './storage.ts';
import type { MountRecord } from './state.ts';

export interface BackupCopies {
  /** Copies the covered mounts for this backup, replacing any partial copy of it. */
  take(backupId: string): Promise<void>;
  /** Where a backup's copy is (it may have been pruned, or never taken). */
  folder(backupId: string): string;
}

export function backupCopies(options: { stateDir: string; mountRoot: string; mounts: () => MountRecord[]; keep: number }): BackupCopies {
  const root = join(options.stateDir, 'backup-copies');
  const folder = (backupId: string) => join(root, backupId);
  return {
    folder,
    async take(backupId) {
      const into = folder(backupId);
      await rm(into, { recursive: true, force: true });
      await mkdir(into, { recursive: true, mode: 0o700 });
      // Bulk mounts are not in the guest's backup (context/004 §7); a dropped drive has nothing to copy.
      for (const mount of options.mounts().filter((m) => m.role === 'primary' && m.state === 'attached')) {
        await copyTree(mountPath(options.mountRoot, mount.id), join(into, mount.id));
      }
      await pruneCopies(root, options.keep);
    },
  };
}

/** Keeps the newest `keep` copies (backup ids sort by time: they carry their start). */
async function pruneCopies(root: string, keep: number): Promise<void> {
  const entries = (await readdir(root)).sort();
  for (const old of entries.slice(0, Math.max(0, entries.length - keep))) await rm(join(root, old), { recursive: true, force: true });
}

const vanished = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

async function copyTree(from: string, to: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(from);
  } catch (error) {
    if (vanished(error)) return;
    throw error;
  }
  try {
    if (stats.isDirectory()) {
      await mkdir(to, { mode: 0o700 });
      for (const name of await readdir(from)) await copyTree(join(from, name), join(to, name));
    } else if (stats.isFile()) {
      await copyFile(from, to, constants.COPYFILE_FICLONE);
    } else if (stats.isSymbolicLink()) {
      await symlink(await readlink(from), to);
    } else {
      // Sockets and FIFOs are runtime objects, not data; a snapshot's restore recreates them.
      return;
    }
  } catch (error) {
    if (vanished(error)) return;
    throw error;
  }
  await keepMetadata(to, stats);
}

async function keepMetadata(to: string, stats: Awaited<ReturnType<typeof lstat>>): Promise<void> {
  try {
    await lchown(to, Number(stats.uid), Number(stats.gid));
  } catch (error) {
    // Not root (a developer's agent): the copy belongs to whoever runs the agent.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
  if (!stats.isSymbolicLink()) await chmod(to, Number(stats.mode) & 0o7777);
  await lutimes(to, stats.atime, stats.mtime);
}
