import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Mount } from '../agent/index.ts';
import type { VolumeCoverage } from '../backups/index.ts';
import type { VolumeRun } from '../backups/store.ts';
import type { StoredRun } from '../quiesce/index.ts';
import type { ControllerStatus } from '../status/index.ts';
import { collectAlerts, type AlertInput } from './alerts.ts';

const unanswered = { ok: false as const, error: 'x', text: { key: 'error.cause' as const, params: { cause: 'x' } } };

const healthy: ControllerStatus = {
  controller: { version: '0', startedAt: '' },
  bootstrap: { state: 'configured', path: '/b.json', problem: null, issuedAt: null, checkedAt: '', changed: [] },
  identity: null,
  agent: { configured: true, endpoint: 'https://10.0.0.1:8443', fingerprint: 'sha256:00', reachable: true, pin: 'verified', authorized: true, version: '1', error: null, checkedAt: '' },
  docker: { reachable: true, version: '20', apiVersion: '1.41', error: null, checkedAt: '' },
};
const input = (change: Partial<AlertInput> = {}): AlertInput => ({
  status: healthy,
  apps: [],
  mounts: [],
  lastRun: null,
  agentBackup: { status: unanswered, due: unanswered, restoreTest: unanswered },
  bulkWithoutBackup: [],
  ownVolumes: [],
  bulkUnavailable: null,
  bulkRestoreTestFailed: null,
  ...change,
});
const messages = (change: Partial<AlertInput>) => collectAlerts(input(change)).map((a) => a.message);

test('when everything is fine, then there are no alerts', () => {
  assert.deepEqual(collectAlerts(input()), []);
});

test('when the bootstrap file is bad, then its problem is the alert', () => {
  const status = { ...healthy, bootstrap: { ...healthy.bootstrap, state: 'degraded' as const, problem: { code: 'invalid_json', message: 'not JSON' } as never } };
  const [alert] = collectAlerts(input({ status }));
  assert.equal(alert?.message, 'alert.bootstrap');
  assert.equal(alert?.params.reason, 'not JSON');
});

test('when the pin does not match, then that is said, not merely "unreachable"', () => {
  const status = { ...healthy, agent: { ...healthy.agent, pin: 'mismatch' as const, reachable: true } };
  assert.deepEqual(messages({ status }), ['alert.pin_mismatch']);
  const down = { ...healthy, agent: { ...healthy.agent, reachable: false, pin: 'unknown' as const, error: { code: 'timeout', message: 'timed out', text: { key: 'error.cause' as const, params: { cause: 'timed out' } } } } };
  assert.deepEqual(messages({ status: down }), ['alert.agent_unreachable']);
});

test('when the last quiesce run failed or the agent reports a failed backup, then a backup alert shows', () => {
  assert.deepEqual(messages({ lastRun: { outcome: 'failed', error: 'disk full' } as StoredRun }), ['alert.backup_failed']);
  const status = { ok: true as const, value: { backup: { phase: 'failed', error: 'target offline' }, last_success: null, targets: [] } as never };
  assert.deepEqual(messages({ agentBackup: { ...input().agentBackup, status } }), ['alert.backup_failed']);
});

test('when an app is stopped for storage and a disk is disconnected, then both show, each with a link', () => {
  const alerts = collectAlerts(
    input({ apps: [{ id: 'jellyfin', name: 'Jellyfin', stoppedForStorage: ['m1'] }], mounts: [{ label: 'Media', state: 'disconnected' } as Mount] }),
  );
  assert.deepEqual(alerts.map((a) => [a.message, a.href]), [
    ['alert.stopped_for_storage', '/apps/jellyfin'],
    ['alert.disk_disconnected', '/disks'],
  ]);
});

test('when a bulk volume has no backup, then the alert can be acknowledged', () => {
  const [alert] = collectAlerts(input({ bulkWithoutBackup: [{ app: 'jellyfin', appName: 'Jellyfin', volume: 'media' }] }));
  assert.equal(alert?.acknowledge, 'jellyfin/media');
  assert.equal(alert?.params.app, 'Jellyfin', 'the customer reads the name, not the id');
});

test('a bulk volume the controller backs up: no target, a failed last run, or a late last success is each an alert; a sound one is none', () => {
  const own = (change: Partial<VolumeCoverage>): VolumeCoverage => ({
    app: 'photos',
    appName: 'Photos',
    volume: 'library',
    coverage: 'own',
    target: { id: 't-1', label: 'Backup disk', kind: 'disk' },
    lastSuccess: null,
    lastRun: null,
    snapshotCount: 3,
    targetFreeBytes: 1,
    late: false,
    ageMs: 1,
    ...change,
  });
  const run = (outcome: VolumeRun['outcome']) => ({ outcome, reason: 'the disk was disconnected' }) as VolumeRun;
  assert.deepEqual(messages({ ownVolumes: [own({})] }), []);
  assert.deepEqual(messages({ ownVolumes: [own({ target: null })] }), ['alert.bulk_no_target']);
  assert.deepEqual(messages({ ownVolumes: [own({ lastRun: run('failed') })] }), ['alert.bulk_run_failed']);
  assert.deepEqual(messages({ ownVolumes: [own({ lastRun: run('partial') })] }), ['alert.bulk_run_failed']);
  assert.deepEqual(messages({ ownVolumes: [own({ lastRun: run('interrupted') })] }), ['alert.bulk_run_failed']);
  assert.deepEqual(messages({ ownVolumes: [own({ lastRun: run('skipped'), late: true })] }), ['alert.bulk_late']);
  assert.deepEqual(messages({ ownVolumes: [own({ lastRun: run('succeeded') })] }), []);
});

test('bulk backups that cannot run, and a failed restore test of them, are alerts', () => {
  const volume = { app: 'p', appName: 'P', volume: 'v', coverage: 'own', target: { id: 't', label: 'T', kind: 'disk' }, lastSuccess: null, lastRun: null, snapshotCount: null, targetFreeBytes: null, late: false, ageMs: null } as VolumeCoverage;
  assert.deepEqual(messages({ bulkUnavailable: 'restic is not installed', ownVolumes: [volume] }), ['alert.bulk_unavailable']);
  assert.deepEqual(messages({ bulkUnavailable: 'restic is not installed' }), [], 'nothing to back up: nothing to warn about');
  assert.deepEqual(messages({ bulkRestoreTestFailed: 'a pack is damaged' }), ['alert.bulk_restore_test_failed']);
});
