/**
 * The controller's configuration: environment variables, validated once at start.
 * A bad value stops the start with one message per variable, naming it, what it
 * must look like and what it was.
 */
import path from 'node:path';
import { validate } from 'node-cron';
import { z } from 'zod';
import { defaultCatalogDir } from './apps/catalog.ts';
import type { LogFormat } from './log.ts';

const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, { error: 'must be host:port, e.g. 0.0.0.0:8080', abort: true })
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535');

const dockerHost = z
  .string()
  .regex(/^(unix:\/\/\/.+|tcp:\/\/[^/]+:\d+\/?)$/, 'must be unix:///path/to/docker.sock or tcp://host:port');

const milliseconds = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a whole number of milliseconds' })
    .int()
    .min(min, `must be at least ${min} ms`)
    .max(max, `must be at most ${max} ms`);

const cron = z.string().refine((value) => validate(value), 'must be a cron expression, e.g. "0 3 * * *"');

const environmentSchema = z.object({
  FELHOM_DATA_DIR: z.string().min(1).default('./data'),
  FELHOM_BOOTSTRAP_PATH: z.string().min(1).default('/etc/felhom/bootstrap.json'),
  FELHOM_LISTEN: listenAddress.default('0.0.0.0:8080'),
  DOCKER_HOST: dockerHost.default('unix:///var/run/docker.sock'),
  FELHOM_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' })
    .default('info'),
  FELHOM_LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).optional(),
  FELHOM_AGENT_TIMEOUT_MS: milliseconds(100, 120_000).default(10_000),
  FELHOM_COMPOSE: z.string().regex(/^\S+( \S+)*$/, 'must be a command, e.g. "docker compose" or "docker-compose"').optional(),
  // Folders separated by colons, like PATH.
  FELHOM_CATALOG_DIR: z.string().min(1).optional(),
  FELHOM_STORAGE_CHECK_MS: milliseconds(200, 3_600_000).default(15_000),
  FELHOM_MAX_QUIESCE_SECONDS: z.coerce.number({ error: 'must be a whole number of seconds' }).int().min(10).max(86_400).default(600),
  FELHOM_QUIESCE_POLL_MS: milliseconds(20, 60_000).default(50),
  FELHOM_TRACKING_POLL_MS: milliseconds(100, 600_000).default(5_000),
  FELHOM_BACKUP_CHECK_CRON: z.string().refine((value) => validate(value), 'must be a cron expression, e.g. "* * * * *"').default('* * * * *'),
  FELHOM_BULK_BACKUP_CRON: cron.default('0 3 * * *'),
  FELHOM_BULK_PRUNE_CRON: cron.default('30 4 * * 0'),
  FELHOM_RESTORE_TEST_CRON: cron.default('0 5 * * 0'),
  FELHOM_BULK_KEEP: z
    .string()
    .regex(/^(last|daily|weekly|monthly)=\d{1,3}(,(last|daily|weekly|monthly)=\d{1,3}){0,3}$/, 'must be like daily=7,weekly=4,monthly=6 (also last=N)')
    .default('daily=7,weekly=4,monthly=6'),
  FELHOM_RESTORE_TEST_READ_DATA: z.string().regex(/^(100|[1-9]?\d(\.\d+)?)%$/, 'must be a percentage of the data, e.g. 5%').default('5%'),
  FELHOM_RESTIC: z.string().regex(/^\S+$/, 'must be the restic command, e.g. restic or /usr/bin/restic').default('restic'),
  FELHOM_PULL: z.enum(['always', 'never'], { error: 'must be always or never' }).default('always'),
  FELHOM_REGISTRIES: z
    .string()
    .regex(/^[A-Za-z0-9.[\]:-]+(,[A-Za-z0-9.[\]:-]+)*$/, 'must be registries as host[:port], separated by commas')
    .optional(),
  FELHOM_OFFLINE: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  FELHOM_PULL_STALL_SECONDS: z.coerce.number({ error: 'must be a whole number of seconds' }).int().min(2).max(3600).default(120),
  FELHOM_UPDATE_CHECK_CRON: cron.default('20 4 * * *'),
  FELHOM_KEEP_SNAPSHOTS: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(50).default(5),
  FELHOM_CONTROLLER_PROJECT: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be a compose project name').default('felhom'),
  FELHOM_HOST_SAMPLE_MS: milliseconds(1_000, 3_600_000).default(60_000),
  FELHOM_SETUP_CODE_MINUTES: z.coerce.number({ error: 'must be a whole number of minutes' }).int().min(1).max(7 * 24 * 60).default(60),
  NODE_ENV: z.string().optional(),
});

export interface Config {
  dataDir: string;
  bootstrapPath: string;
  listen: { host: string; port: number };
  dockerHost: string;
  logLevel: string;
  logFormat: LogFormat;
  agentTimeoutMs: number;
  /** Overrides compose detection: `docker compose` where present, else `docker-compose`. */
  composeCommand: string[] | null;
  /** The catalog folders, in order: an app id found in two is taken from the first. */
  catalogDirs: string[];
  storageCheckMs: number;
  /** The max-quiesce bound: apps are started again after this, whatever the backup does. */
  maxQuiesceMs: number;
  quiescePollMs: number;
  trackingPollMs: number;
  /** When to ask the agent whether a backup is due. */
  backupCheckCron: string;
  /**
   * Whether images are downloaded: `always` (an update pulls, an install pulls what the
   * engine lacks) or `never` (an offline box, and the tests: no registry is ever asked).
   */
  pullImages: boolean;
  /** How often host health is sampled into the history. */
  hostSampleMs: number;
  /** How long the first-run setup code is valid after start. */
  setupCodeValidMs: number;
  /** How many pre-deploy snapshots to keep; older ones the controller took are deleted. */
  keepSnapshots: number;
  /** The controller's own compose project: no app may take its name. */
  controllerProject: string;
  /** Registries on the guest or its network that apps may take images from (host[:port]). */
  allowedRegistries: string[];
  /**
   * The box reaches no registry on the internet: only the registries of
   * `allowedRegistries` are asked or pulled from, and an image elsewhere needs internet.
   */
  offline: boolean;
  /** How long an image download may go without progress before it is given up. */
  pullStallMs: number;
  /** When the registries are asked whether the apps' images have newer versions. */
  updateCheckCron: string;
  bulk: BulkBackupConfig;
}

/** The controller's own restic backups of bulk volumes (docs/backups.md). */
export interface BulkBackupConfig {
  restic: string;
  backupCron: string;
  pruneCron: string;
  restoreTestCron: string;
  /** restic forget --keep-*: the newest `last`, and one per day, week and month. */
  keep: { last: number; daily: number; weekly: number; monthly: number };
  /** restic check --read-data-subset during a restore test, e.g. "5%". */
  readDataSubset: string;
}

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function parseEnvironment<T extends z.ZodType>(schema: T, environment: NodeJS.ProcessEnv): z.infer<T> {
  // An empty variable means "not set": shells and compose files leave them behind.
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        return `${name}: ${issue.message} (got ${JSON.stringify(environment[name])})`;
      }),
    );
  }
  return parsed.data;
}

const defaultLogFormat = (env: { FELHOM_LOG_FORMAT?: LogFormat | undefined; NODE_ENV?: string | undefined }): LogFormat =>
  env.FELHOM_LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'pretty');

/** Only the logging variables: for commands that are not the controller (the development agent). */
export function loadLogConfig(environment: NodeJS.ProcessEnv = process.env): { logLevel: string; logFormat: LogFormat } {
  const env = parseEnvironment(environmentSchema.pick({ FELHOM_LOG_LEVEL: true, FELHOM_LOG_FORMAT: true, NODE_ENV: true }), environment);
  return { logLevel: env.FELHOM_LOG_LEVEL, logFormat: defaultLogFormat(env) };
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const env = parseEnvironment(environmentSchema, environment);
  const separator = env.FELHOM_LISTEN.lastIndexOf(':');
  return {
    dataDir: path.resolve(env.FELHOM_DATA_DIR),
    bootstrapPath: path.resolve(env.FELHOM_BOOTSTRAP_PATH),
    listen: {
      host: env.FELHOM_LISTEN.slice(0, separator).replace(/^\[|\]$/g, ''),
      port: Number(env.FELHOM_LISTEN.slice(separator + 1)),
    },
    dockerHost: env.DOCKER_HOST,
    logLevel: env.FELHOM_LOG_LEVEL,
    logFormat: defaultLogFormat(env),
    agentTimeoutMs: env.FELHOM_AGENT_TIMEOUT_MS,
    composeCommand: env.FELHOM_COMPOSE ? env.FELHOM_COMPOSE.split(' ') : null,
    catalogDirs: env.FELHOM_CATALOG_DIR ? env.FELHOM_CATALOG_DIR.split(':').filter(Boolean).map((dir) => path.resolve(dir)) : [defaultCatalogDir],
    storageCheckMs: env.FELHOM_STORAGE_CHECK_MS,
    controllerProject: env.FELHOM_CONTROLLER_PROJECT,
    allowedRegistries: env.FELHOM_REGISTRIES ? env.FELHOM_REGISTRIES.split(',') : [],
    keepSnapshots: env.FELHOM_KEEP_SNAPSHOTS,
    pullImages: env.FELHOM_PULL === 'always',
    offline: env.FELHOM_OFFLINE === 'true',
    pullStallMs: env.FELHOM_PULL_STALL_SECONDS * 1000,
    updateCheckCron: env.FELHOM_UPDATE_CHECK_CRON,
    maxQuiesceMs: env.FELHOM_MAX_QUIESCE_SECONDS * 1000,
    quiescePollMs: env.FELHOM_QUIESCE_POLL_MS,
    trackingPollMs: env.FELHOM_TRACKING_POLL_MS,
    backupCheckCron: env.FELHOM_BACKUP_CHECK_CRON,
    hostSampleMs: env.FELHOM_HOST_SAMPLE_MS,
    setupCodeValidMs: env.FELHOM_SETUP_CODE_MINUTES * 60_000,
    bulk: {
      restic: env.FELHOM_RESTIC,
      backupCron: env.FELHOM_BULK_BACKUP_CRON,
      pruneCron: env.FELHOM_BULK_PRUNE_CRON,
      restoreTestCron: env.FELHOM_RESTORE_TEST_CRON,
      keep: { last: 0, daily: 0, weekly: 0, monthly: 0, ...Object.fromEntries(env.FELHOM_BULK_KEEP.split(',').map((rule) => [rule.split('=')[0], Number(rule.split('=')[1])])) },
      readDataSubset: env.FELHOM_RESTORE_TEST_READ_DATA,
    },
  };
}
