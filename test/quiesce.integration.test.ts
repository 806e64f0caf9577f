/**
 * Quiesced backups end to end: the controller's API, real compose stacks on a real
 * Docker engine, and the development agent walking its backup phases.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import type { DevAgentOptions } from '../dev-agent/index.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImageIfEngine } from './helpers/images.ts';
import { until } from './helpers/until.ts';

const IMAGE = 'felhom-test/webapp:quiesce';
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
let counter = 0;

async function withApp(t: TestContext, backup: DevAgentOptions['backup'], env: Record<string, string> = {}, demo = false, services = '') {
  const agent = await devAgent(t, { backup, demo });
  const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env });
  const api = request(c.controller.url);
  const auth = { Authorization: `Bearer ${c.token}` };
  const id = `q${process.pid % 10000}-${++counter}`;
  cleanUpProject(t, id);
  const manifest = `schema: felhom.app/v1\nid: ${id}\nname: Quiesced\nversion: "1"\ncompose: compose.yml\nvolumes:\n  site: { class: hot }\n`;
  // init: the web server as PID 1 would ignore SIGTERM and every stop would take 10 s.
  const compose = `services:\n  web:\n    image: ${IMAGE}\n    init: true\n    volumes: ["site:/srv/www"]\n${services}volumes:\n  site:\n`;
  const installed = await api.post('/api/v1/apps').set(auth).send({ manifest, compose }).expect(202);
  await until(async () => (await api.get(`/api/v1/operations/${installed.body.operation.id}`).set(auth)).body.operation, {
    what: `the install of ${id} to finish`,
    done: (operation) => operation.state !== 'running',
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  return { agent, c, api, auth, id };
}

const running = (id: string) => docker('ps', '-q', '--filter', `label=com.docker.compose.project=${id}`) !== '';

/** The run once closed: a tracked backup is polled every 5 s (the default), so this may take a while. */
async function untilClosed(s: Awaited<ReturnType<typeof withApp>>, runId: string, watch?: () => void) {
  return until(
    async () => {
      watch?.();
      const { runs } = (await s.api.get('/api/v1/backups').set(s.auth).expect(200)).body;
      return runs.find((r: { id: string; phase: string }) => r.id === runId && r.phase === 'closed');
    },
    { what: `run ${runId} to close`, timeoutMs: 90_000 },
  );
}

describe('quiesced backups', () => {
  before(() => buildWebImageIfEngine(IMAGE, 'quiesce'));

  it('when "back up now" runs in snapshot mode, then the app is down only until snapshotted, and the run is recorded', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'snapshot', queuedMs: 300, runningMs: 800, snapshottedMs: 2_500 });
    assert.ok(running(s.id));
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    assert.deepEqual(started.body.run.stacks, [s.id]);
    await s.api.post('/api/v1/backups').set(s.auth).expect(409);

    let wasDown = false;
    let upBeforeDone = false;
    const run = await untilClosed(s, started.body.run.id, () => {
      const up = running(s.id);
      if (!up) wasDown = true;
      const current = s.agent.requests().filter((r) => r.path === '/backup/status').length;
      if (wasDown && up && current > 0) upBeforeDone = true;
    });
    assert.ok(wasDown, 'the app was stopped for the backup');
    assert.ok(upBeforeDone, 'the app ran again while the backup was still being tracked');
    assert.equal(run.outcome, 'succeeded');
    assert.equal(run.resume_reason, 'snapshotted');
    assert.ok(run.downtime_ms > 0 && run.downtime_ms < 3_000, `downtime ${run.downtime_ms} ms`);
    assert.ok(Date.parse(run.finished_at) - Date.parse(run.resumed_at) >= 1_500, 'tracking went on after the resume');
    assert.ok(running(s.id));
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1, 'one backup');
    const audit = s.c.controller.db.prepare("SELECT outcome FROM audit_log WHERE action = 'backup.quiesced'").all();
    assert.deepEqual(audit, [{ outcome: 'ok' }]);
    const listing = (await s.api.get('/api/v1/backups').set(s.auth).expect(200)).body;
    assert.equal(listing.current, null);
    assert.equal(listing.agent.status.last_success.id, run.backup_id, "the agent's own record of the backup");
    assert.equal(listing.agent.status.targets[0].state, 'ok');
    assert.ok('integrity' in listing.agent.restore_test);
  });

  it('when the agent says a backup is due, then the schedule starts runs by itself, one at a time', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(
      t,
      { mode: 'snapshot', queuedMs: 200, runningMs: 500, snapshottedMs: 500, dueEverySeconds: 1 },
      { FELHOM_BACKUP_CHECK_CRON: '* * * * * *' },
    );
    type Run = { trigger: string; phase: string; outcome: string; resume_reason: string; downtime_ms: number };
    const runs = await until(async () => (await s.api.get('/api/v1/backups').set(s.auth).expect(200)).body.runs as Run[], {
      what: 'a scheduled run to close',
      done: (list) => list.some((r) => r.phase === 'closed'),
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    const closed = runs.find((r) => r.phase === 'closed')!;
    assert.equal(closed.trigger, 'scheduled');
    assert.equal(closed.outcome, 'succeeded');
    assert.equal(closed.resume_reason, 'snapshotted');
    assert.ok(closed.downtime_ms > 0, 'the downtime is measured and recorded');
    // Due again a second later, so another run may already be open: never more than one.
    assert.ok(runs.filter((r) => r.phase !== 'closed').length <= 1);
  });

  it('when the backup has no snapshot phase (stop mode), then the app restarts at done', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'stop', queuedMs: 200, runningMs: 1_000 });
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    const run = await untilClosed(s, started.body.run.id);
    assert.equal(run.resume_reason, 'backup_done');
    assert.equal(run.outcome, 'succeeded');
    assert.ok(running(s.id));
  });

  it('when the agent answers POST /backup with 500, then the app runs again and the run is recorded failed', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'snapshot' });
    s.agent.injectFault({ method: 'POST', path: '/backup', status: 500, message: 'Proxmox exploded' });
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    const run = await untilClosed(s, started.body.run.id);
    assert.equal(run.outcome, 'failed');
    assert.match(run.error, /Proxmox exploded/);
    assert.ok(running(s.id));
  });

  it('when the agent stops answering status polls, then the app runs again once they have failed for 10 s (each tried once), and the backup is still tracked', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'snapshot', queuedMs: 200, runningMs: 25_000, snapshottedMs: 500 }, { FELHOM_AGENT_TIMEOUT_MS: '200' });
    // Every poll hangs and the client gives up after 200 ms: a poll is one request, not
    // retried, and many fail before 10 s have passed, which is what ends the wait.
    s.agent.injectFault({ method: 'GET', path: '/backup/status', hang: true });
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    await until(() => !running(s.id), { what: 'the app stopped for the backup', timeoutMs: 60_000 });
    const stoppedAt = Date.now();
    await until(() => running(s.id), { what: 'the app running again while the agent hangs', timeoutMs: 60_000 });
    assert.ok(Date.now() - stoppedAt >= 9_000, `down ${Date.now() - stoppedAt} ms: not before the polls had failed for 10 s`);
    s.agent.clearFaults();
    const run = await untilClosed(s, started.body.run.id);
    assert.equal(run.resume_reason, 'agent_unreachable');
    assert.equal(run.outcome, 'succeeded', 'the backup was tracked to done once the agent answered again');
  });

  it('when the max-quiesce bound passes, then the app runs again whatever the backup does', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'stop', queuedMs: 200, runningMs: 15_000 }, { FELHOM_MAX_QUIESCE_SECONDS: '10' });
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    await until(async () => (await s.api.get('/api/v1/backups').set(s.auth)).body.runs[0].resumed_at, { what: 'the app to resume', timeoutMs: 15_000, intervalMs: 100 });
    const { runs } = (await s.api.get('/api/v1/backups').set(s.auth).expect(200)).body;
    assert.equal(runs[0].id, started.body.run.id);
    assert.equal(runs[0].resume_reason, 'max_quiesce');
    assert.ok(runs[0].downtime_ms >= 10_000 && runs[0].downtime_ms < 13_000, `downtime ${runs[0].downtime_ms}`);
    assert.ok(running(s.id));
    assert.equal(runs[0].phase, 'tracking', 'the backup may still finish on the agent');
  });

  it('when a status poll hangs longer than the max-quiesce bound, then the app runs again at the bound, not when the poll gives up', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'stop', queuedMs: 200, runningMs: 60_000 }, { FELHOM_AGENT_TIMEOUT_MS: '15000', FELHOM_MAX_QUIESCE_SECONDS: '10' });
    s.agent.injectFault({ method: 'GET', path: '/backup/status', hang: true });
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    // Only /backups/current here: GET /backups asks the agent's /backup/status too, which hangs.
    type Run = { id: string; resumed_at: string | null; resume_reason: string; downtime_ms: number };
    const run = await until(async () => (await s.api.get('/api/v1/backups/current').set(s.auth).expect(200)).body.run as Run | undefined, {
      what: 'the app to resume',
      done: (current) => Boolean(current?.resumed_at),
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    assert.equal(run?.resume_reason, 'max_quiesce');
    assert.ok(run!.downtime_ms >= 10_000 && run!.downtime_ms < 11_500, `downtime ${run!.downtime_ms} ms, the poll would have hung 15 s`);
    assert.equal(run!.id, started.body.run.id);
    assert.ok(running(s.id));
  });

  it('when the agent answers 404 for the backup, then the app runs again at once and the run closes unknown', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'stop', queuedMs: 200, runningMs: 5_000 });
    s.agent.injectFault({ method: 'GET', path: '/backup/status', status: 404, code: 'not_found', message: 'no such backup' });
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    const run = await untilClosed(s, started.body.run.id);
    assert.equal(run.resume_reason, 'backup_missing');
    assert.equal(run.outcome, 'unknown');
    assert.match(run.error, /no longer knows backup/);
    assert.ok(run.downtime_ms < 3_000, `downtime ${run.downtime_ms} ms`);
    assert.ok(running(s.id));
    const audit = s.c.controller.db.prepare("SELECT outcome FROM audit_log WHERE action = 'backup.quiesced'").all();
    assert.deepEqual(audit, [{ outcome: 'failed' }]);
  });

  it('when part of an app was already down and its init step had finished, then only what ran is started again, and the restart succeeds', async (t) => {
    if (!(await requireDocker(t))) return;
    // `side` runs until the file `broken` exists; `init` is a one-shot step web waits for.
    const services = [
      '    depends_on:',
      '      init: { condition: service_completed_successfully }',
      '  init:',
      '    image: felhom-test/busybox:latest',
      '    command: ["sh", "-c", "echo migrated"]',
      '  side:',
      '    image: felhom-test/busybox:latest',
      '    init: true',
      '    command: ["sh", "-c", "test ! -e /srv/www/broken && exec sleep 3600"]',
      '    volumes: ["site:/srv/www"]',
      '',
    ].join('\n');
    const s = await withApp(t, { mode: 'stop', queuedMs: 200, runningMs: 800 }, {}, false, services);
    const container = (service: string) => docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${s.id}`, '--filter', `label=com.docker.compose.service=${service}`);
    const inspect = (service: string, format: string) => docker('inspect', '-f', format, container(service));
    assert.equal(inspect('side', '{{.State.Status}}'), 'running');
    assert.equal(inspect('init', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
    // Part of the app goes down before the backup, and would fail if started again.
    docker('exec', container('side'), 'touch', '/srv/www/broken');
    docker('kill', container('side'));
    const initStartedAt = inspect('init', '{{.State.StartedAt}}');

    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    assert.deepEqual(started.body.run.failed_restarts, []);
    const run = await untilClosed(s, started.body.run.id);
    assert.equal(run.outcome, 'succeeded');
    assert.deepEqual(run.failed_restarts, []);
    assert.equal(inspect('web', '{{.State.Status}}'), 'running', 'what ran runs again');
    assert.equal(inspect('side', '{{.State.Status}}'), 'exited', 'what was down is not started');
    assert.equal(inspect('init', '{{.State.StartedAt}}'), initStartedAt, 'the finished init step is not run again');
    const failures = s.c.controller.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'backup.restart_failed'").get() as { n: number };
    assert.equal(failures.n, 0);
  });

  it('when the backup ends failed, then the app runs again and the run carries the agent error', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'snapshot', queuedMs: 200, runningMs: 800, snapshottedMs: 500 });
    s.agent.failNextBackup({ atPhase: 'running', error: 'vzdump: storage full' });
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    const run = await untilClosed(s, started.body.run.id);
    assert.equal(run.resume_reason, 'backup_failed');
    assert.equal(run.outcome, 'failed');
    assert.equal(run.error, 'vzdump: storage full');
    assert.ok(running(s.id));
  });

  it('when the customer stops an app during the backup, then the resume leaves it stopped', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await withApp(t, { mode: 'stop', queuedMs: 200, runningMs: 2_000 });
    const started = await s.api.post('/api/v1/backups').set(s.auth).expect(202);
    // While the backup holds the app down: the customer's stop lands during the backup.
    await until(
      async () => ((await s.api.get('/api/v1/backups').set(s.auth).expect(200)).body.runs as Array<{ id: string; phase: string }>).find((r) => r.id === started.body.run.id && r.phase === 'waiting'),
      { what: 'the backup to hold the app down', timeoutMs: 30_000, intervalMs: 50 },
    );
    await s.api.post(`/api/v1/apps/${s.id}/stop`).set(s.auth).expect(200);
    const run = await untilClosed(s, started.body.run.id);
    assert.equal(run.outcome, 'succeeded');
    assert.equal(running(s.id), false, 'the customer stopped it; the resume respects that');
    assert.equal((await s.api.get(`/api/v1/apps/${s.id}`).set(s.auth).expect(200)).body.desired, 'stopped');
  });
});
