/**
 * The built-in catalog: one folder per app under compose/apps/, each a `.felhom.yml`
 * and its compose file, exactly what a customer could upload themselves.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import { MANIFEST_FILE, type AppFiles } from './app-folder.ts';
import { parseManifest, type Manifest } from './manifest.ts';

export const defaultCatalogDir = fileURLToPath(new URL('../../compose/apps', import.meta.url));

export interface CatalogEntry {
  id: string;
  manifest: Manifest;
}

export async function listCatalog(catalogDir: string): Promise<CatalogEntry[]> {
  let folders: string[];
  try {
    folders = (await fs.readdir(catalogDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  const entries: CatalogEntry[] = [];
  for (const folder of folders.sort()) {
    const manifest = parseManifest(await fs.readFile(path.join(catalogDir, folder, MANIFEST_FILE), 'utf8'));
    entries.push({ id: folder, manifest });
  }
  return entries;
}

export async function readCatalogApp(catalogDir: string, id: string): Promise<AppFiles> {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(id)) throw new AppError('validation', { key: 'error.catalog_id_invalid', params: { id } });
  const folder = path.join(catalogDir, id);
  let names: string[];
  try {
    names = (await fs.readdir(folder, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    throw new AppError('not_found', { key: 'error.catalog_no_app', params: { id } });
  }
  const files: Record<string, string> = {};
  for (const name of names) {
    if (name !== MANIFEST_FILE) files[name] = await fs.readFile(path.join(folder, name), 'utf8');
  }
  return { manifest: await fs.readFile(path.join(folder, MANIFEST_FILE), 'utf8'), files };
}
