/**
 * The compose versions a test can run: v1 (`docker-compose` 1.29, Debian's package) and
 * v2 (the `docker compose` plugin, or the binary scripts/image.sh takes from the compose
 * image into .dev/compose-v2/). They read compose files differently, so tests of what
 * compose reads run under both.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';

export interface ComposeVersion {
  name: 'v1' | 'v2';
  command: string[];
}

export const standaloneV2 = path.join(import.meta.dirname, '..', '..', '.dev', 'compose-v2', 'docker-compose');

const works = (command: string[]) => spawnSync(command[0]!, [...command.slice(1), 'version'], { stdio: 'ignore' }).status === 0;

/** compose v2: the docker plugin, or the standalone binary; null when neither runs here. */
export function composeV2(): string[] | null {
  if (works(['docker', 'compose'])) return ['docker', 'compose'];
  if (fs.existsSync(standaloneV2) && works([standaloneV2])) return [standaloneV2];
  return null;
}

export function composeV1(): string[] | null {
  return works(['docker-compose']) && /^1\./.test(spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' }).stdout.trim()) ? ['docker-compose'] : null;
}

/**
 * Both versions, for a test that must see each. A missing one is skipped loudly, or
 * fails under CI=true (run scripts/engine.sh and, as root, scripts/image.sh).
 */
export function requireComposeVersions(t: TestContext): ComposeVersion[] {
  const found: ComposeVersion[] = [];
  for (const [name, command] of [['v1', composeV1()], ['v2', composeV2()]] as const) {
    if (command) {
      found.push({ name, command });
      continue;
    }
    const message = `compose ${name} is not installed here`;
    if (process.env.CI === 'true') throw new Error(`${message}, and CI=true: both compose versions must be tested (scripts/engine.sh, scripts/image.sh)`);
    process.stderr.write(`\n*** "${t.name}" RUNS WITHOUT compose ${name}: ${message}. ***\n\n`);
  }
  return found;
}
