/**
 * What the home page warns about, from what the controller knows: a pure function so
 * every alert can be tested without a box in a hallway.
 */
import type { Mount } from '../agent/index.ts';
import type { AgentBackupView, VolumeCoverage } from '../backups/index.ts';
import type { Message, MessageKey, Params } from '../i18n/index.ts';
import type { StoredRun } from '../quiesce/index.ts';
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
  /** The bulk volumes the controller backs up itself (`own`), with how their backups stand. */
  ownVolumes: VolumeCoverage[];
  /** Why bulk backups cannot run (restic missing), or null. */
  bulkUnavailable: string | null;
  /** The latest restore test of the bulk backups failed (until a later one passes). */
  bulkRestoreTestFailed: Message | string | null;
}

export function collectAlerts(input: AlertInput): Alert[] {
  const alerts: Alert[] = [];
  const add = (level: Alert['level'], message: MessageKey, params: Params = {}, href: string | null = null, acknowledge?: string) =>
    alerts.push({ level, message, params, href, ...(acknowledge ? { acknowledge } : {}) });
  const { bootstrap, agent } = input.status;

  if (bootstrap.state !== 'configured') add('error', 'alert.bootstrap', { reason: bootstrap.problem?.message ?? bootstrap.state }, '/settings');
  if (agent.pin === 'mismatch') add('error', 'alert.pin_mismatch', { endpoint: agent.endpoint ?? '' }, '/settings');
  else if (agent.configured && !agent.reachable) add('error', 'alert.agent_unreachable', { reason: agent.error?.text ?? '' }, '/settings');

  const lastBackup = input.agentBackup.status.ok ? input.agentBackup.status.value.backup : null;
  if (input.lastRun?.outcome === 'failed' || lastBackup?.phase === 'failed') {
    add('error', 'alert.backup_failed', { reason: input.lastRun?.errorText ?? lastBackup?.error ?? '' }, '/backups');
  }
  for (const app of input.apps.filter((a) => a.stoppedForStorage)) add('error', 'alert.stopped_for_storage', { app: app.name }, `/apps/${app.id}`);
  for (const mount of (input.mounts ?? []).filter((m) => m.state === 'disconnected')) add('warning', 'alert.disk_disconnected', { disk: mount.label }, '/disks');
  for (const { app, appName, volume } of input.bulkWithoutBackup) {
    add('warning', 'alert.bulk_no_backup', { app: appName, volume }, `/apps/${app}`, `${app}/${volume}`);
  }
  if (input.bulkUnavailable && input.ownVolumes.length > 0) add('error', 'alert.bulk_unavailable', { reason: input.bulkUnavailable }, '/backups');
  for (const v of input.ownVolumes) {
    const params = { app: v.appName, volume: v.volume };
    if (!v.target) add('warning', 'alert.bulk_no_target', params, '/backups');
    else if (v.lastRun && ['failed', 'partial', 'interrupted'].includes(v.lastRun.outcome)) add('error', 'alert.bulk_run_failed', { ...params, reason: v.lastRun.reasonKey ? { key: v.lastRun.reasonKey as MessageKey, params: v.lastRun.reasonParams } : (v.lastRun.reason ?? '') }, '/backups');
    else if (v.late) add('warning', 'alert.bulk_late', params, '/backups');
  }
  if (input.bulkRestoreTestFailed) add('error', 'alert.bulk_restore_test_failed', { reason: input.bulkRestoreTestFailed }, '/backups');
  return alerts;
}
