/**
 * Live container events of compose projects, for status that follows what happens.
 * The stream survives an engine restart: it reconnects with backoff and asks for the
 * events since the last one it saw. Docker's `since` counts whole seconds, so an
 * event may arrive twice; handlers refresh status, for which that is harmless.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../log.ts';
import { type ContainerHealth, PROJECT_LABEL, SERVICE_LABEL } from './containers.ts';
import { lineSplitter } from './lines.ts';

export type ProjectEventAction = 'start' | 'die' | 'stop' | 'health_status';

export interface ProjectEvent {
  action: ProjectEventAction;
  project: string;
  service: string;
  containerId: string;
  containerName: string;
  /** For health_status. */
  health: ContainerHealth;
  /** For die. */
  exitCode: number | null;
  time: Date;
}

export type ProjectEventHandler = (event: ProjectEvent) => void;

const ACTIONS: ProjectEventAction[] = ['start', 'die', 'stop', 'health_status'];

interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

/** One line of Docker's event stream as a project event; null for anything else. */
export function parseProjectEvent(line: string): ProjectEvent | null {
  let raw: RawEvent;
  try {
    raw = JSON.parse(line) as RawEvent;
  } catch {
    return null;
  }
  // health_status comes as "health_status: healthy".
  const [action, detail] = (raw.Action ?? '').split(': ');
  const attributes = raw.Actor?.Attributes ?? {};
  const project = attributes[PROJECT_LABEL];
  if (raw.Type !== 'container' || !ACTIONS.includes(action as ProjectEventAction) || project === undefined) return null;
  const health = detail === 'healthy' || detail === 'unhealthy' || detail === 'starting' ? detail : null;
  return {
    action: action as ProjectEventAction,
    project,
    service: attributes[SERVICE_LABEL] ?? '',
    containerId: raw.Actor?.ID ?? '',
    containerName: attributes.name ?? '',
    health,
    exitCode: attributes.exitCode === undefined ? null : Number(attributes.exitCode),
    time: new Date(raw.timeNano ? raw.timeNano / 1e6 : (raw.time ?? 0) * 1000),
  };
}

export interface SubscribeOptions {
  logger: Logger;
  /** First reconnection delay; it doubles up to 30 s. */
  retryMs?: number;
}

export function subscribeProjectEvents(docker: Docker, handler: ProjectEventHandler, options: SubscribeOptions): () => void {
  const firstRetryMs = options.retryMs ?? 1_000;
  let retryMs = firstRetryMs;
  let stopped = false;
  let stream: Readable | null = null;
  let retryTimer: NodeJS.Timeout | undefined;
  let since: number | undefined;

  const reconnectLater = () => {
    stream = null;
    if (stopped) return;
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 30_000);
  };

  const deliver = (line: string) => {
    const event = parseProjectEvent(line);
    if (event === null) return;
    since = Math.floor(event.time.getTime() / 1000);
    try {
      handler(event);
    } catch (error) {
      options.logger.error({ err: error }, 'docker events: a handler failed');
    }
  };

  async function connect(): Promise<void> {
    try {
      const opened = (await docker.getEvents({
        ...(since === undefined ? {} : { since }),
        filters: { type: ['container'], label: [PROJECT_LABEL], event: ACTIONS },
      })) as Readable;
      if (stopped) {
        opened.destroy();
        return;
      }
      stream = opened;
      retryMs = firstRetryMs;
      // From now on, a reconnection asks for what it missed.
      since ??= Math.floor(Date.now() / 1000);
      const lines = lineSplitter(deliver);
      opened.setEncoding('utf8');
      opened.on('data', (chunk: string) => lines.push(chunk));
      opened.on('error', (error) => options.logger.warn({ err: error }, 'docker events: stream failed; reconnecting'));
      opened.once('close', reconnectLater);
    } catch (error) {
      options.logger.warn({ err: error, retryMs }, 'docker events: cannot subscribe; retrying');
      reconnectLater();
    }
  }

  void connect();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    stream?.destroy();
  };
}
