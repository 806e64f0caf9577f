/**
 * Deleting an app's data on uninstall: only with a confirmation code bound to exactly
 * the folders that go, and with everything that lives beside a volume under its name.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.ts';
import { seedSentinel } from '../stacks/index.ts';

/** The code that confirms deleting exactly these paths: a changed list needs a new confirmation. */
export function confirmationCode(id: string, paths: string[]): string {
  return createHash('sha256').update(JSON.stringify([id, ...paths])).digest('hex').slice(0, 12);
}

export function assertDeletionConfirmed(id: string, paths: string[], confirm: string | undefined): void {
  const expected = confirmationCode(id, paths);
  if (confirm !== expected) {
    throw new AppError('conflict', { key: 'error.confirm_delete_data', params: { id, paths: paths.join(', '), code: expected } }, {
      details: { confirmation_required: true, paths, confirm: expected },
    });
  }
}

/** Deletes each volume's folder, its seeding sentinel and what is named after it; returns the paths deleted. */
export async function deleteVolumeData(volumePaths: string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const volumePath of volumePaths) {
    await fs.rm(volumePath, { recursive: true, force: true });
    await fs.rm(seedSentinel(volumePath), { force: true });
    deleted.push(volumePath, ...(await removeNamedAfter(volumePath)));
  }
  return deleted;
}

/**
 * Removes what lives beside a volume under its name: copies and kept data of its
 * restores (`<volume>.restore-…`, `<volume>.before-restore-…`) and seeding leftovers.
 */
async function removeNamedAfter(volumePath: string): Promise<string[]> {
  const dir = path.dirname(volumePath);
  const prefix = `${path.basename(volumePath)}.`;
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => name.startsWith(prefix));
  for (const name of names) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  return names.map((name) => path.join(dir, name));
}
