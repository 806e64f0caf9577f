/** What the updates domain's own routes and pages use of it (updates.ts builds it). */
import type { AppUpdateInfo } from '../apps/index.ts';

export interface UpdatesCore {
  /** Checks every app (or one) now; a check already running or queued for it is joined. */
  check(appId?: string): Promise<void>;
  /** The scheduled run: every app checked, then the automatic updates. */
  runScheduled(): Promise<void>;
  /** What the last check found for the app, and whether it updates automatically. */
  state(appId: string): AppUpdateInfo;
  automatic(appId: string): boolean;
  setAutomatic(appId: string, enabled: boolean, actor: string): void;
}

