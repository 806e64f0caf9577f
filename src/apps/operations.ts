/**
 * Long operations (install, update, ...) with progress the UI and the API can follow
 * while they run. Each is a row with its current step and a bounded list of events;
 * an operation that was running when the controller died is closed at the next start.
 */
import { randomUUID } from 'node:crypto';
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import { inEnglish, loadMessage, storedMessage, type Message, type MessageKey } from '../i18n/index.ts';
import type { PullProgress } from '../stacks/index.ts';

export type OperationKind = 'install' | 'update' | 'start' | 'stop' | 'restart' | 'uninstall' | 'rollback' | 'resume-install';
export type OperationState = 'running' | 'succeeded' | 'failed';
/**
 * The steps of a deploy; each is worded by its message `deploy_step.<step>`. Images come
 * first: an update that cannot download them has touched nothing yet.
 */
export const deploySteps = ['download_images', 'snapshot', 'prepare_storage', 'start', 'wait_healthy', 'roll_back'] as const;
export type DeployStep = (typeof deploySteps)[number];

export interface Operation {
  id: string;
  appId: string;
  kind: OperationKind;
  state: OperationState;
  step: string | null;
  snapshot: string | null;
  /** Why it failed, in English (the API, the log); `errorText` the same for the UI. */
  error: string | null;
  errorText: Message | null;
  startedAt: string;
  finishedAt: string | null;
  events: OperationEvent[];
  /**
   * Each image's download as it went, kept in this process's memory (after a restart
   * only the events' note of each finished download remains).
   */
  pull: ImagePull[];
  /** An update that did not come up healthy and whose previous images run again. */
  rolledBack: boolean;
}

/**
 * `message` is the English text (the API, the log); `text` is the same as a catalog
 * message for the UI to word in the customer's language, or null for a line printed by
 * compose or the engine, which is shown as it is.
 */
export interface OperationEvent {
  at: string;
  message: string;
  text: Message | null;
}

/** Where an image's download stands; `done` once the engine has the image. */
export interface ImagePull extends PullProgress {
  done: boolean;
}

/** What a running operation reports through. */
export interface Progress {
  readonly operationId: string;
  /** Sets the current step and records it among the events. */
  step(step: DeployStep): void;
  /** Records what the controller did, worded by the catalog. */
  note(text: Message): void;
  /** Records a line of compose's or the engine's own output. */
  line(line: string): void;
  snapshot(name: string): void;
  /** Records where an image's download stands, and when it is done. */
  pull(progress: PullProgress, done?: boolean): void;
}

/** The message an operation ends with when an update was undone by starting the previous images again. */
export const ROLLED_BACK_KEY = 'error.update_rolled_back' satisfies MessageKey;
/** How many operations' download progress is kept in memory. */
const KEEP_PULLS = 50;

const MAX_EVENTS = 300;

interface EventRow {
  at: string;
  message: string;
  key: MessageKey | null;
  params: string | null;
}

interface Row {
  id: string;
  app_id: string;
  kind: OperationKind;
  state: OperationState;
  step: string | null;
  snapshot: string | null;
  error: string | null;
  error_key: MessageKey | null;
  error_params: string | null;
  started_at: string;
  finished_at: string | null;
}

export function createOperations(db: Db, clock: Clock) {
  const now = () => rfc3339(clock.now());
  // Insertion-ordered, so the oldest operation's progress is the first to go.
  const pulls = new Map<string, Map<string, ImagePull>>();
  const load = (row: Row): Operation => ({
    id: row.id,
    appId: row.app_id,
    kind: row.kind,
    state: row.state,
    step: row.step,
    snapshot: row.snapshot,
    error: row.error,
    errorText: loadMessage(row.error_key, row.error_params),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    events: db
      .prepare<[string], EventRow>('SELECT at, message, key, params FROM operation_events WHERE operation_id = ? ORDER BY seq')
      .all(row.id)
      .map(({ at, message, key, params }) => ({ at, message, text: loadMessage(key, params) })),
    pull: [...(pulls.get(row.id)?.values() ?? [])],
    rolledBack: row.error_key === ROLLED_BACK_KEY,
  });

  return {
    start(appId: string, kind: OperationKind): Progress & { finish(error?: Message | null): void } {
      const id = randomUUID();
      db.prepare("INSERT INTO operations (id, app_id, kind, state, started_at) VALUES (?, ?, ?, 'running', ?)").run(id, appId, kind, now());
      let seq = 0;
      // A catalog text is stored with its English words, a line of output as it is.
      const event = (message: string, text: Message | null) => {
        seq++;
        const stored = storedMessage(text);
        db.prepare('INSERT INTO operation_events (operation_id, seq, at, message, key, params) VALUES (?, ?, ?, ?, ?, ?)').run(id, seq, now(), message.slice(0, 2000), stored.key, stored.params);
        if (seq > MAX_EVENTS) db.prepare('DELETE FROM operation_events WHERE operation_id = ? AND seq <= ?').run(id, seq - MAX_EVENTS);
      };
      const note = (text: Message) => event(inEnglish(text), text);
      return {
        operationId: id,
        step(step) {
          db.prepare('UPDATE operations SET step = ? WHERE id = ?').run(step, id);
          note({ key: `deploy_step.${step}` });
        },
        note,
        line: (line) => event(line, null),
        snapshot(name) {
          db.prepare('UPDATE operations SET snapshot = ? WHERE id = ?').run(name, id);
        },
        pull(progress, done = false) {
          let images = pulls.get(id);
          if (!images) {
            images = new Map();
            pulls.set(id, images);
            for (const old of pulls.keys()) if (pulls.size > KEEP_PULLS) pulls.delete(old);
          }
          images.set(progress.image, { ...progress, done });
        },
        finish(error = null) {
          const stored = storedMessage(error);
          db.prepare('UPDATE operations SET state = ?, error = ?, error_key = ?, error_params = ?, finished_at = ? WHERE id = ?').run(
            error ? 'failed' : 'succeeded',
            error && inEnglish(error),
            stored.key,
            stored.params,
            now(),
            id,
          );
        },
      };
    },

    get(id: string): Operation | null {
      const row = db.prepare<[string], Row>('SELECT * FROM operations WHERE id = ?').get(id);
      return row ? load(row) : null;
    },

    /** The newest operation of an app, running or not. */
    latest(appId: string): Operation | null {
      const row = db.prepare<[string], Row>('SELECT * FROM operations WHERE app_id = ? ORDER BY started_at DESC, rowid DESC LIMIT 1').get(appId);
      return row ? load(row) : null;
    },

    running(): Operation[] {
      return db.prepare<[], Row>("SELECT * FROM operations WHERE state = 'running'").all().map(load);
    },

    /** Closes operations a dead process left running; says which. */
    closeInterrupted(reason: Message): Operation[] {
      const interrupted = this.running();
      const stored = storedMessage(reason);
      db.prepare("UPDATE operations SET state = 'failed', error = ?, error_key = ?, error_params = ?, finished_at = ? WHERE state = 'running'").run(
        inEnglish(reason),
        stored.key,
        stored.params,
        now(),
      );
      return interrupted;
    },
  };
}

export type Operations = ReturnType<typeof createOperations>;
