/**
 * What the home page warns about, from what the controller knows: a pure function so
 * every alert can be tested without a box in a hallway.
 */
import type { Mount } from '../agent/index.ts';
import type { AgentBackupView } from '../backups/index.ts';
import type { MessageKey, Params } from '../i18n/index.ts';
import type { StoredRun } from '../quiesce/store.ts';
import type { ControllerStatus } from '../status/index.ts';

export interface Alert {
  level: 'error' | 'warning';
  message: MessageKey;
  params: Params;
  href: string | null;
  /** For an alert the customer can acknowledge: what to send to /alerts/acknowledge. */
  acknowledge?: string;
}

export interface AlertInput {
  status: ControllerStatus;
  apps: Array<{ id: string; name: string; stoppedForStorage: string[] | null }>;
  mounts: Mount[] | null;
  lastRun: StoredRun | null;
  agentBackup: AgentBackupView;
  bulkWithoutBackup: Array<{ app: string; appName: string; volume: string }>;
}

export function collectAlerts(input: AlertInput): Alert[] {
  const alerts: Alert[] = [];
  const add = (level: Alert['level'], message: MessageKey, params: Params = {}, href: string | null = null, acknowledge?: string) =>
    alerts.push({ level, message, params, href, ...(acknowledge ? { acknowledge } : {}) });
  const { bootstrap, agent } = input.status;

  if (bootstrap.state !== 'configured') add('error', 'alert.bootstrap', { reason: bootstrap.problem?.message ?? bootstrap.state }, '/settings');
  if (agent.pin === 'mismatch') add('error', 'alert.pin_mismatch', { endpoint: agent.endpoint ?? '' }, '/settings');
  else if (agent.configured && !agent.reachable) add('error', 'alert.agent_unreachable', { reason: agent.error?.message ?? '' }, '/settings');

  const lastBackup = input.agentBackup.status.ok ? input.agentBackup.status.value.backup : null;
  if (input.lastRun?.outcome === 'failed' || lastBackup?.phase === 'failed') {
    add('error', 'alert.backup_failed', { reason: input.lastRun?.error ?? lastBackup?.error ?? '' }, '/backups');
  }
  for (const app of input.apps.filter((a) => a.stoppedForStorage)) add('error', 'alert.stopped_for_storage', { app: app.name }, `/apps/${app.id}`);
  for (const mount of (input.mounts ?? []).filter((m) => m.state === 'disconnected')) add('warning', 'alert.disk_disconnected', { disk: mount.label }, '/disks');
  for (const { app, appName, volume } of input.bulkWithoutBackup) {
    add('warning', 'alert.bulk_no_backup', { app: appName, volume }, `/apps/${app}`, `${app}/${volume}`);
  }
  return alerts;
}
