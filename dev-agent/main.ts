#!/usr/bin/env node
/**
 * The development agent's own command, outside the controller's sources so that the
 * production image never carries it: `node dev-agent/main.ts [flags]` (--help lists them).
 * It logs like the controller does, as FELHOM_LOG_LEVEL and FELHOM_LOG_FORMAT say.
 */
import { ConfigError, loadLogConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runDevAgentCommand } from './command.ts';

async function main(args: string[]): Promise<void> {
  const { logLevel, logFormat } = loadLogConfig();
  await runDevAgentCommand(args, createLogger({ level: logLevel, format: logFormat, name: 'dev-agent' }));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`dev-agent: ${error.message}`);
    process.exitCode = 2;
  } else {
    console.error('dev-agent: failed to start:', error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
});
