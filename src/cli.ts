#!/usr/bin/env node
/**
 * The `felhom` command: `serve` (default) runs the controller; `api-token` manages API
 * tokens in the controller's database. The development agent has its own command
 * (dev-agent/main.ts), so the production image carries none of it.
 */
import { createApiTokens } from './auth/index.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openDatabase } from './db/index.ts';
import { AppError } from './errors.ts';
import { createLogger } from './log.ts';
import { openDataDir, startController, type RunningController } from './main.ts';

const USAGE = `usage: felhom [command]

  serve                        run the controller (the default)
  api-token create <name>      create an API token for /api/v1 and print it once
  api-token list               list API tokens (never the tokens themselves)
  api-token revoke <id|name>   revoke an API token

The controller reads FELHOM_DATA_DIR, FELHOM_BOOTSTRAP_PATH, FELHOM_LISTEN, DOCKER_HOST,
FELHOM_LOG_LEVEL, FELHOM_LOG_FORMAT and FELHOM_AGENT_TIMEOUT_MS (see docs/operations.md).`;

async function serve(config: Config): Promise<void> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  // Signals are taken from the first moment: a docker stop while startup restarts apps a
  // crashed run left down lets that finish and then stops cleanly, instead of killing
  // the process half-way (docker waits the deployment's grace period for either).
  let controller: RunningController | null = null;
  let stopSignal: string | null = null;
  const close = (running: RunningController) =>
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  const stop = (signal: string) => {
    if (stopSignal) {
      // A second signal (Ctrl-C twice) is someone who will not wait: leave now.
      logger.warn({ signal }, 'stopping at once; apps a backup stopped start again at the next start');
      process.exit(1);
    }
    stopSignal = signal;
    logger.info({ signal }, controller ? 'stopping' : 'stopping once startup has finished');
    if (controller) void close(controller);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  controller = await startController(config, { logger });
  if (stopSignal) {
    logger.info({ signal: stopSignal }, 'stopping');
    await close(controller);
  }
}

function apiToken(config: Config, args: string[]): void {
  const db = openDatabase(openDataDir(config.dataDir));
  try {
    const tokens = createApiTokens(db, systemClock);
    const [action, argument] = args;
    if (action === 'create' && argument) {
      const { info, token } = tokens.create(argument);
      console.log(`Created API token "${info.name}" (id ${info.id}). It is shown only this once:\n\n  ${token}\n`);
      console.log(`Use it as: Authorization: Bearer ${token}`);
    } else if (action === 'list') {
      const all = tokens.list();
      if (all.length === 0) console.log('No API tokens. Create one with: felhom api-token create <name>');
      for (const t of all) {
        const state = t.revokedAt ? `revoked ${t.revokedAt}` : `last used ${t.lastUsedAt ?? 'never'}`;
        console.log(`${t.id}  ${t.name.padEnd(20)}  created ${t.createdAt}  ${state}`);
      }
    } else if (action === 'revoke' && argument) {
      const info = tokens.revoke(argument);
      console.log(`Revoked API token "${info.name}" (id ${info.id}).`);
    } else {
      throw new AppError('validation', 'usage: felhom api-token create <name> | list | revoke <id|name>');
    }
  } finally {
    db.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...args] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  if (command !== 'serve' && command !== 'api-token') {
    console.error(`felhom: unknown command "${command}"\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig();
  if (command === 'serve') await serve(config);
  else apiToken(config, args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof AppError) {
    console.error(`felhom: ${error.message}`);
    process.exitCode = 2;
  } else {
    console.error('felhom: failed to start:', error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
});
