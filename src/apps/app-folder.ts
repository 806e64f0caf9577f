/**
 * The folder the controller keeps for each installed app under FELHOM_DATA_DIR/apps:
 * the manifest and compose file as installed, and the override file the controller
 * generates to bind each named volume to its placement.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { canonicalText } from './policy/index.ts';
import { AppError } from '../errors.ts';
import { ONE_SHOT_LABEL, volumeName } from '../stacks/index.ts';

export const OVERRIDE_FILE = 'felhom.override.yml';
export const MANIFEST_FILE = '.felhom.yml';

export interface AppFiles {
  /** The manifest text. */
  manifest: string;
  /** Relative path → text: the compose file and anything beside it it needs. */
  files: Record<string, string>;
}

/** Writes the files into a fresh staging folder beside the apps folder. */
export async function stageAppFolder(appsDir: string, appId: string, source: AppFiles): Promise<string> {
  await fs.mkdir(appsDir, { recursive: true, mode: 0o700 });
  const staging = await fs.mkdtemp(path.join(appsDir, `.staging-${appId}-`));
  await fs.writeFile(path.join(staging, MANIFEST_FILE), source.manifest);
  for (const [relative, text] of Object.entries(source.files)) {
    const target = path.resolve(staging, relative);
    if (!target.startsWith(staging + path.sep)) throw new AppError('validation', { key: 'manifest.file_outside', params: { file: relative } });
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, text);
  }
  return staging;
}

/** Moves a staged folder into place, replacing what an earlier install left. */
export async function commitAppFolder(staging: string, appDir: string): Promise<void> {
  await fs.rm(appDir, { recursive: true, force: true });
  await fs.rename(staging, appDir);
}

/**
 * Every named volume becomes an external volume the controller created on its
 * placement, and every service is labelled with the app it belongs to. Compose v1
 * and v2 both accept `external: true` with `name`.
 */
export async function writeOverride(appDir: string, appId: string, volumes: string[], services: string[], oneShot: string[]): Promise<void> {
  // Set on every service, true or false: a label the image carries would otherwise count.
  const labels = (service: string) => ({ 'org.felhom.app': appId, [ONE_SHOT_LABEL]: oneShot.includes(service) ? 'true' : 'false' });
  const override = {
    services: Object.fromEntries(services.map((service) => [service, { labels: labels(service) }])),
    volumes: Object.fromEntries(volumes.map((volume) => [volume, { external: true, name: volumeName(appId, volume) }])),
  };
  // Rendered as the app's own compose file is, so v1 and v2 read the names as written
  // (a volume named `on` is a boolean to PyYAML, `1_0` a number to go-yaml).
  await fs.writeFile(path.join(appDir, OVERRIDE_FILE), canonicalText(override));
}
