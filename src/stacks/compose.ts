/**
 * The compose CLI, run as a child process. Production images carry compose v2
 * (`docker compose`), development machines may only have v1 (`docker-compose`), so
 * every argument is built in `composeArgs` below from what both versions accept.
 * Which containers a project has is never read from here (v1 and v2 name them
 * differently and print `ps` differently): the dockerode adapter selects them by label.
 */
import path from 'node:path';
import { AppError } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import { runChild, type ChildResult, type StopReason } from './child.ts';
import { readCompose, type ComposeModel } from './compose-model.ts';
import { parseComposeOutput } from './compose-output.ts';

/** One compose project: its name, the folder relative paths resolve against, its files. */
export interface ComposeSpec {
  project: string;
  dir: string;
  files: string[];
}

/** Receives each line compose prints (stdout and stderr) as it comes. */
export type OnLine = (line: string) => void;

export interface Compose {
  /** The compose command in use, detected once: `['docker', 'compose']` or `['docker-compose']`. */
  command(): Promise<string[]>;
  /** The project as compose will run it (anchors, merges, defaults resolved), read into one model for v1 and v2. */
  config(spec: ComposeSpec): Promise<ComposeModel>;
  /**
   * `signal`, where taken, stops compose (SIGINT, then SIGKILL) when aborted: the
   * controller is stopping. Images are downloaded before, through the engine (images.ts).
   */
  up(spec: ComposeSpec, onLine?: OnLine, signal?: AbortSignal): Promise<void>;
  stop(spec: ComposeSpec): Promise<void>;
  start(spec: ComposeSpec): Promise<void>;
  restart(spec: ComposeSpec): Promise<void>;
  down(spec: ComposeSpec, signal?: AbortSignal): Promise<void>;
}

export interface ComposeOptions {
  /** Overrides detection (the controller passes FELHOM_COMPOSE split on spaces). */
  command?: string[];
  dockerHost: string;
  logger: Logger;
  /** Per call: `long` for up (it may wait for containers to stop and start), `short` for the rest. */
  timeoutsMs?: { long?: number; short?: number };
}

/**
 * The only subcommands and flags we use, each accepted by both compose v1 (1.29) and
 * v2; `--wait`, `ps --format json` and the like exist in one version only. `down`
 * never gets `-v`: data is never deleted by compose (the volumes are external anyway).
 */
const SUBCOMMANDS = {
  config: ['config'],
  up: ['up', '-d', '--remove-orphans'],
  stop: ['stop'],
  start: ['start'],
  restart: ['restart'],
  down: ['down', '--remove-orphans'],
} as const;
type Action = keyof typeof SUBCOMMANDS;

/** Global options both versions accept: `-p`, `-f` (repeatable), `--project-directory`. */
function composeArgs(spec: ComposeSpec, action: Action): string[] {
  const files = spec.files.flatMap((file) => ['-f', path.resolve(spec.dir, file)]);
  return ['-p', spec.project, '--project-directory', spec.dir, ...files, ...SUBCOMMANDS[action]];
}

const DEFAULT_LONG_MS = 10 * 60_000;
const DEFAULT_SHORT_MS = 2 * 60_000;
/**
 * What reading an app's compose file may cost. The file compose reads is the policy's
 * canonical rendering (no aliases to expand), so real ones take well under a second and
 * 100 MB; the bounds are there so that no file can take the controller (512 MiB) down.
 */
const CONFIG_TIMEOUT_MS = 30_000;
const CONFIG_MAX_RSS_BYTES = 256 * 1024 * 1024;
/** What config may print: the controller holds it and parses it (several times its size). */
const CONFIG_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export function createCompose(options: ComposeOptions): Compose {
  const env = childEnv(options.dockerHost);
  const longMs = options.timeoutsMs?.long ?? DEFAULT_LONG_MS;
  const shortMs = options.timeoutsMs?.short ?? DEFAULT_SHORT_MS;
  let detected: Promise<string[]> | null = options.command ? Promise.resolve(options.command) : null;

  const command = (): Promise<string[]> => {
    // Only a success is kept: compose installed later is then found on the next call.
    detected ??= detectCompose(env, shortMs).then(
      (found) => {
        options.logger.info({ command: found.join(' ') }, 'compose: detected');
        return found;
      },
      (error: unknown) => {
        detected = null;
        throw error;
      },
    );
    return detected;
  };

  const run = async (spec: ComposeSpec, action: Action, onLine?: OnLine, signal?: AbortSignal): Promise<string> => {
    const base = await command();
    const argv = [...base, ...composeArgs(spec, action)];
    const label = `${base.join(' ')} ${action}`;
    const reading = action === 'config';
    const timeoutMs = reading ? Math.min(shortMs, CONFIG_TIMEOUT_MS) : action === 'up' ? longMs : shortMs;
    const started = Date.now();
    options.logger.debug({ argv }, 'compose: running');
    const bounds = reading ? { maxRssBytes: CONFIG_MAX_RSS_BYTES, maxOutputBytes: CONFIG_MAX_OUTPUT_BYTES } : {};
    const result = await runChild(argv, { cwd: spec.dir, env, timeoutMs, ...bounds, onLine, cancel: signal });
    options.logger.debug({ argv, ms: Date.now() - started, exit: result.code, stopped: result.stopped }, 'compose: done');
    if (result.code === 0 && !result.stopped) return result.stdout;
    // Compose failing on config is the file's fault only when compose itself runs: a
    // docker CLI without the compose plugin, or one that cannot reach its engine's
    // settings, fails on every file alike, and on `version` too. That stays upstream.
    if (reading && (result.stopped !== null || (result.code !== null && (await answers(base, env, shortMs))))) {
      throw configRefused(spec, result.stopped, timeoutMs, result.stderrTail);
    }
    throw new AppError('upstream', howItEnded(result, timeoutMs, { command: label, project: spec.project, output: result.stderrTail.join('\n') || '(no output)' }), {
      details: { argv, exitCode: result.code, stderrTail: result.stderrTail },
    });
  };

  // One config at a time: each may take its bounds in memory, and plans can come at once.
  let reading: Promise<unknown> = Promise.resolve();
  return {
    command,
    config(spec) {
      const turn = reading.then(async () => readCompose(parseComposeOutput(await run(spec, 'config'))));
      reading = turn.catch(() => undefined);
      return turn;
    },
    up: async (spec, onLine, signal) => void (await run(spec, 'up', onLine, signal)),
    stop: async (spec) => void (await run(spec, 'stop')),
    start: async (spec) => void (await run(spec, 'start')),
    restart: async (spec) => void (await run(spec, 'restart')),
    down: async (spec, signal) => void (await run(spec, 'down', undefined, signal)),
  };
}

function howItEnded(result: ChildResult, timeoutMs: number, said: { command: string; project: string; output: string }): Message {
  if (result.stopped === 'cancelled') return { key: 'error.compose_cancelled', params: said };
  if (result.stopped) return { key: 'error.compose_timed_out', params: { ...said, seconds: timeoutMs / 1000 } };
  return { key: 'error.compose_failed', params: { ...said, exit: result.code === null ? `signal ${result.signal}` : `exit ${result.code}` } };
}

/**
 * `config` failing is compose refusing the app's file (or the file costing more than
 * compose may spend on it): the customer's mistake, said in compose's own words, with
 * the controller's folders left out of them.
 */
function configRefused(spec: ComposeSpec, stopped: StopReason | null, timeoutMs: number, stderr: string[]): AppError {
  if (stopped === 'output') {
    return new AppError('policy', { key: 'error.compose_config_too_long', params: { mib: CONFIG_MAX_OUTPUT_BYTES / 1024 / 1024 } });
  }
  if (stopped === 'memory') {
    return new AppError('policy', { key: 'error.compose_config_too_big', params: { mib: CONFIG_MAX_RSS_BYTES / 1024 / 1024 } });
  }
  if (stopped === 'timeout') {
    return new AppError('policy', { key: 'error.compose_config_too_slow', params: { seconds: timeoutMs / 1000 } });
  }
  // The app's folder, and the folder of all apps beside it, are the controller's business.
  const words = stderr
    .join('\n')
    .replaceAll(`${spec.dir}${path.sep}`, '')
    .replaceAll(spec.dir, '.')
    .replaceAll(path.dirname(spec.dir), '(the apps folder)')
    .trim();
  return words ? new AppError('validation', { key: 'error.compose_refused', params: { words } }) : new AppError('validation', { key: 'error.compose_refused_silently' });
}

/**
 * Only what compose needs: the engine to talk to, where to find `docker` and its
 * plugins. Nothing else of the controller's environment (tokens, settings) reaches
 * the child, nor compose's `${VAR}` interpolation of an app's files.
 */
function childEnv(dockerHost: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { DOCKER_HOST: dockerHost };
  for (const key of ['PATH', 'HOME'] as const) {
    if (process.env[key] !== undefined) env[key] = process.env[key];
  }
  return env;
}

/** Whether the compose command runs at all: it answers `version`. */
async function answers(command: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<boolean> {
  const result = await runChild([...command, 'version'], { cwd: process.cwd(), env, timeoutMs }).catch(() => null);
  return result?.code === 0 && result.stopped === null;
}

async function detectCompose(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string[]> {
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    if (await answers(candidate, env, timeoutMs)) return candidate;
  }
  throw new AppError('unavailable', { key: 'error.compose_not_found' });
}
