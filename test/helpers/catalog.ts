/** A catalog folder of the test's own (FELHOM_CATALOG_DIR), so store tests do not depend on the real catalog's apps. */
import fs from 'node:fs';
import path from 'node:path';

export interface TestCatalogApp {
  id: string;
  name: string;
  category: string;
  description: string;
  descriptionHu: string;
  /** The compose file; by default one busybox service (a local image: no registry). */
  compose?: string;
  /** Extra manifest lines (web, volumes). */
  manifestLines?: string[];
  /** The icon.svg to put beside the manifest; none when absent. */
  icon?: string;
}

/** A square icon of one colour: small, valid, and the store serves it as it is. */
export const squareIcon = (colour: string) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="${colour}"/></svg>\n`;

export const busyboxCompose = 'services:\n  main:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sh", "-c", "exec sleep 3600"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n';

export function writeCatalog(dir: string, apps: TestCatalogApp[]): string {
  for (const app of apps) {
    const folder = path.join(dir, app.id);
    fs.mkdirSync(folder, { recursive: true });
    const manifest = [
      'schema: felhom.app/v1',
      `id: ${app.id}`,
      `name: ${app.name}`,
      'version: "1.0"',
      `description: ${JSON.stringify(app.description)}`,
      ...(app.manifestLines ?? ['volumes:', '  data: { class: hot }']),
      'x-catalog:',
      `  category: ${app.category}`,
      `  description_hu: ${JSON.stringify(app.descriptionHu)}`,
      '',
    ].join('\n');
    fs.writeFileSync(path.join(folder, '.felhom.yml'), manifest);
    fs.writeFileSync(path.join(folder, 'compose.yml'), app.compose ?? busyboxCompose);
    if (app.icon) fs.writeFileSync(path.join(folder, 'icon.svg'), app.icon);
  }
  return dir;
}
