import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type Docker from 'dockerode';
import { silentLogger } from '../log.ts';
import { parseProjectEvent, subscribeProjectEvents, type ProjectEvent } from './events.ts';
import { judgeHealth } from './health.ts';
import { demultiplex, timedLines } from './logs.ts';

function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('when log frames cut a UTF-8 character, then demultiplexing strips the headers and keeps the character whole', () => {
  const text = Buffer.from('héllo\nwörld\n');
  const cut = 2; // inside the two bytes of "é"
  const joined = demultiplex(Buffer.concat([frame(1, text.subarray(0, cut)), frame(2, text.subarray(cut))]));
  assert.equal(joined, 'héllo\nwörld\n');
});

test('when Docker trims the fraction of timestamps, then lines still order by time', () => {
  const lines = timedLines('2024-05-01T10:00:00.5Z late\n2024-05-01T10:00:00.123456789Z early\n2024-05-01T10:00:01Z \n');
  assert.deepEqual(lines, [
    { time: '2024-05-01T10:00:00.500000000', line: 'late' },
    { time: '2024-05-01T10:00:00.123456789', line: 'early' },
    { time: '2024-05-01T10:00:01.000000000', line: '' },
  ]);
  assert.ok(lines[1]!.time < lines[0]!.time);
});

/** An inspection with only what judgeHealth reads. */
function inspected(service: string, state: Partial<Docker.ContainerInspectInfo['State']>, restarts = 0): Docker.ContainerInspectInfo {
  return {
    Name: `/p-${service}-1`,
    RestartCount: restarts,
    Config: { Labels: { 'com.docker.compose.service': service } },
    State: { Status: 'running', ExitCode: 0, OOMKilled: false, ...state },
  } as unknown as Docker.ContainerInspectInfo;
}

const health = (status: string, output = '') => ({ Status: status, FailingStreak: 0, Log: [{ Start: '', End: '', ExitCode: 1, Output: output }] });

test('when every container runs and passes its healthcheck (or has none), then the project is healthy', () => {
  assert.deepEqual(judgeHealth([inspected('web', { Health: health('healthy') }), inspected('worker', {})]), { state: 'healthy' });
});

test('when a project has no containers or one still starts, then the verdict is to wait, saying for what', () => {
  assert.deepEqual(judgeHealth([]), { state: 'waiting', reason: 'the project has no containers' });
  assert.deepEqual(judgeHealth([inspected('web', { Health: health('starting') })]), {
    state: 'waiting',
    reason: 'service web is still starting (its healthcheck has not passed yet)',
  });
  assert.deepEqual(judgeHealth([inspected('db', { Status: 'created' })]), { state: 'waiting', reason: 'service db is created' });
});

test('when a one-shot init service exited 0, then it counts as done; exiting with an error, or not being one-shot, fails', () => {
  const web = inspected('web', { Health: health('healthy') });
  const migrated = inspected('migrate', { Status: 'exited', ExitCode: 0 });
  assert.deepEqual(judgeHealth([web, migrated], ['migrate']), { state: 'healthy' });
  assert.deepEqual(judgeHealth([web, migrated]), { state: 'failed', reason: 'service migrate exited with code 0' });
  assert.deepEqual(judgeHealth([web, inspected('migrate', { Status: 'exited', ExitCode: 1 })], ['migrate']), {
    state: 'failed',
    reason: 'service migrate exited with code 1',
  });
});

test('when a container exited, restarts or is unhealthy, then the verdict fails at once and names the service', () => {
  const waitingWeb = inspected('web', { Health: health('starting') });
  assert.deepEqual(judgeHealth([waitingWeb, inspected('db', { Status: 'exited', ExitCode: 137, OOMKilled: true })]), {
    state: 'failed',
    reason: 'service db exited with code 137 (out of memory)',
  });
  assert.deepEqual(judgeHealth([inspected('db', { Status: 'restarting', ExitCode: 1 }, 4)]), {
    state: 'failed',
    reason: 'service db keeps restarting (last exit code 1, 4 restarts)',
  });
  assert.deepEqual(judgeHealth([inspected('web', { Health: health('unhealthy', 'connection refused\n') })]), {
    state: 'failed',
    reason: 'service web is unhealthy: connection refused',
  });
});

const rawEvent = (action: string, attributes: Record<string, string>, time = 1_700_000_000) =>
  JSON.stringify({ Type: 'container', Action: action, Actor: { ID: 'abc', Attributes: { name: 'p-web-1', ...attributes } }, time, timeNano: time * 1e9 });

test('when Docker reports a health change or a death, then the event carries the health or the exit code', () => {
  const project = { 'com.docker.compose.project': 'p', 'com.docker.compose.service': 'web' };
  assert.deepEqual(parseProjectEvent(rawEvent('health_status: unhealthy', project)), {
    action: 'health_status', project: 'p', service: 'web', containerId: 'abc', containerName: 'p-web-1',
    health: 'unhealthy', exitCode: null, time: new Date(1_700_000_000_000),
  });
  assert.equal(parseProjectEvent(rawEvent('die', { ...project, exitCode: '2' }))?.exitCode, 2);
  assert.equal(parseProjectEvent(rawEvent('start', {})), null, 'a container of no compose project');
  assert.equal(parseProjectEvent(rawEvent('exec_start: sh', project)), null);
  assert.equal(parseProjectEvent('not json'), null);
});

test('when the event stream ends, then the subscription reconnects and asks for what it missed; unsubscribing stops it', async () => {
  const streams: PassThrough[] = [];
  const calls: Array<{ since?: number }> = [];
  const fakeDocker = {
    async getEvents(options: { since?: number }) {
      calls.push(options);
      const stream = new PassThrough();
      streams.push(stream);
      return stream;
    },
  } as unknown as Docker;
  const seen: ProjectEvent[] = [];
  const unsubscribe = subscribeProjectEvents(fakeDocker, (event) => seen.push(event), { logger: silentLogger(), retryMs: 5 });
  await sleep(10);
  // A chunk boundary in the middle of a line must not lose the event.
  const line = `${rawEvent('start', { 'com.docker.compose.project': 'p' }, 1_700_000_123)}\n`;
  streams[0]!.write(line.slice(0, 20));
  streams[0]!.end(line.slice(20));
  await sleep(50);
  assert.equal(seen.length, 1);
  assert.equal(calls.length, 2);
  assert.equal(calls[0]!.since, undefined);
  assert.equal(calls[1]!.since, 1_700_000_123);
  unsubscribe();
  await sleep(30);
  assert.equal(calls.length, 2);
  assert.ok(streams[1]!.destroyed);
});
