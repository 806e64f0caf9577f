/**
 * What an update changes before it deploys, kept so a failed update can go back to it:
 * the app's folder (manifest, compose file, what it shipped beside them, and the
 * override the last deploy wrote) and its record with its placements and ports. A
 * catalog update writes the new version's files and record before downloading; when
 * the update then fails, the app runs the previous version, and its folder and record
 * must say so, or the next `compose up` (a restart, the roll-back itself) would start
 * the new version.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { commitAppFolder } from './app-folder.ts';
import type { VolumePlacement } from './placement.ts';
import type { AppRecord, AppStore, PortRecord } from './store.ts';

export interface UpdateUndo {
  /** Puts the folder and the record back as they were when the undo was kept. */
  restore(): Promise<void>;
}

/** Keeps the app's folder and record as they are now, before an update changes them. */
export async function keepForUndo(store: AppStore, appsDir: string, app: AppRecord): Promise<UpdateUndo> {
  const dir = path.join(appsDir, app.id);
  const files = await readFolder(dir);
  const placements: VolumePlacement[] = store.placements(app.id);
  const ports: PortRecord[] = store.ports(app.id);
  const { id, name, version, source, composeFile, web } = app;
  return {
    async restore() {
      const staging = await fs.mkdtemp(path.join(appsDir, `.staging-${app.id}-`));
      try {
        for (const [relative, content] of files) {
          await fs.mkdir(path.dirname(path.join(staging, relative)), { recursive: true });
          await fs.writeFile(path.join(staging, relative), content);
        }
        await commitAppFolder(staging, dir);
      } finally {
        await fs.rm(staging, { recursive: true, force: true });
      }
      // Placements are kept per volume (a new volume's stays, as removed apps' do); the
      // old ones are written back with what they said.
      store.replace({ id, name, version, source, composeFile, web }, placements, ports);
    },
  };
}

/** Every file under `dir` (an app's few small files), by relative path. */
async function readFolder(dir: string): Promise<Array<[string, Buffer]>> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const files: Array<[string, Buffer]> = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.push([path.relative(dir, full), await fs.readFile(full)]);
  }
  return files;
}
