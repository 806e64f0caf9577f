/** `node dev-agent/main.ts`: runs the development agent until SIGTERM or SIGINT. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Logger } from '../src/log.ts';
import { startDevAgent } from './agent.ts';
import type { DevAgentOptions } from './agent.ts';

const DEV_AGENT_USAGE = `usage: node dev-agent/main.ts [flags]

  --state-dir <dir>              state, certificates and bootstrap files (default .dev/agent)
  --listen <host:port>           address to serve the local API on (default 127.0.0.1:8443)
  --endpoint <url>               the URL the guest dials, written into bootstrap.json, when it
                                 differs from --listen (e.g. https://agent:8443 in compose)
  --guest <id>                   the guest to mint a token for (default 101)
  --mount-root <dir>             where mount directories live (default <state-dir>/mounts)
  --demo                         seed a history: past backups, a passed restore test
  --backup-mode snapshot|stop    effective backup mode (default snapshot)
  --queued-ms <n>                time a backup spends queued
  --running-ms <n>               time a backup spends running
  --snapshotted-ms <n>           time a backup spends snapshotted
  --due-every-seconds <n>        backup period behind /backup/due (default 86400)
  --retry-after-seconds <n>      back-off after a failed backup (default 900)
  --no-backup-copy               do not copy the covered mounts into each backup
                                 (by default <state-dir>/backup-copies/<backup id>/ holds
                                 them as they were at snapshotted)
  --keep-copies <n>              how many backups keep their copy (default 3)

The guest's bootstrap.json is written to <state-dir>/guests/<guest>/bootstrap.json.`;

export class DevAgentUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevAgentUsageError';
  }
}

const FLAGS = {
  'state-dir': { type: 'string', default: join('.dev', 'agent') },
  listen: { type: 'string', default: '127.0.0.1:8443' },
  endpoint: { type: 'string' },
  guest: { type: 'string' },
  'mount-root': { type: 'string' },
  demo: { type: 'boolean', default: false },
  'backup-mode': { type: 'string' },
  'queued-ms': { type: 'string' },
  'running-ms': { type: 'string' },
  'snapshotted-ms': { type: 'string' },
  'due-every-seconds': { type: 'string' },
  'retry-after-seconds': { type: 'string' },
  'no-backup-copy': { type: 'boolean', default: false },
  'keep-copies': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function count(flag: string, value: string | undefined, minimum = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < minimum || !Number.isSafeInteger(Number(value))) {
    throw new DevAgentUsageError(`--${flag} must be an integer of at least ${minimum}, got "${value}"`);
  }
  return Number(value);
}

function listenAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new DevAgentUsageError(`--listen must be host:port (e.g. 127.0.0.1:8443 or [::1]:8443), got "${value}"`);
  return { host: match[1] ?? match[2] ?? '', port };
}

/** The agent's options from the command line, or 'help'. Throws DevAgentUsageError on a bad flag. */
export function parseDevAgentArgs(args: string[]): DevAgentOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new DevAgentUsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const mode = values['backup-mode'];
  if (mode !== undefined && mode !== 'snapshot' && mode !== 'stop') throw new DevAgentUsageError(`--backup-mode must be snapshot or stop, got "${mode}"`);
  const guest = values.guest;
  if (guest !== undefined && !/^\d+$/.test(guest)) throw new DevAgentUsageError(`--guest must be a decimal guest id, got "${guest}"`);
  if (!values['state-dir']) throw new DevAgentUsageError('--state-dir must not be empty');
  const endpoint = values.endpoint;
  if (endpoint !== undefined && !/^https:\/\/[^/\s]+$/.test(endpoint)) throw new DevAgentUsageError(`--endpoint must be https://host:port, got "${endpoint}"`);
  return {
    stateDir: values['state-dir'],
    ...listenAddress(values.listen),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(guest === undefined ? {} : { guestId: guest }),
    ...(values['mount-root'] ? { mountRoot: values['mount-root'] } : {}),
    demo: values.demo,
    backup: {
      ...(mode === undefined ? {} : { mode }),
      queuedMs: count('queued-ms', values['queued-ms']),
      runningMs: count('running-ms', values['running-ms']),
      snapshottedMs: count('snapshotted-ms', values['snapshotted-ms']),
      dueEverySeconds: count('due-every-seconds', values['due-every-seconds'], 1),
      retryAfterSeconds: count('retry-after-seconds', values['retry-after-seconds']),
      copyMounts: !values['no-backup-copy'],
      keepCopies: count('keep-copies', values['keep-copies'], 1),
    },
  };
}

export async function runDevAgentCommand(args: string[], logger: Logger): Promise<void> {
  let options: DevAgentOptions | 'help';
  try {
    options = parseDevAgentArgs(args);
  } catch (error) {
    if (!(error instanceof DevAgentUsageError)) throw error;
    process.stderr.write(`dev-agent: ${error.message}\n\n${DEV_AGENT_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${DEV_AGENT_USAGE}\n`);
    return;
  }

  const agent = await startDevAgent({ ...options, logger });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(received);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  logger.info({ signal }, 'dev agent stopping');
  await agent.close();
  logger.info('dev agent stopped');
}
