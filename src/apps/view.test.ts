import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerInfo } from '../stacks/index.ts';
import type { AppRecord } from './store.ts';
import { deriveState } from './view.ts';

const app = (change: Partial<AppRecord> = {}): AppRecord => ({
  id: 'photos',
  name: 'Photos',
  version: '1',
  source: 'upload',
  composeFile: 'compose.yml',
  status: 'installed',
  desired: 'running',
  stoppedForStorage: null,
  web: null,
  error: null,
  errorText: null,
  createdAt: '',
  updatedAt: '',
  ...change,
});

const container = (service: string, change: Partial<ContainerInfo> = {}): ContainerInfo => ({
  id: service,
  name: `photos-${service}-1`,
  service,
  state: 'running',
  health: null,
  image: 'x',
  imageId: 'sha256:x',
  startedAt: null,
  ports: [],
  exitCode: null,
  oneShot: false,
  ...change,
});

describe("an app's state, derived from its record and Docker", () => {
  it('when the record says installing, failed or stopped for storage, then that wins over the containers', () => {
    assert.equal(deriveState(app({ status: 'installing' }), [container('web')]), 'installing');
    assert.equal(deriveState(app({ stoppedForStorage: ['usb-1'] }), [container('web')]), 'stopped_for_storage');
    assert.equal(deriveState(app({ status: 'failed' }), [container('web')]), 'failed');
  });

  it('when the containers are all up, some, none or gone, then running, partial, stopped or missing', () => {
    assert.equal(deriveState(app(), [container('web'), container('db')]), 'running');
    assert.equal(deriveState(app(), [container('web'), container('db', { state: 'exited', exitCode: 1 })]), 'partial');
    assert.equal(deriveState(app(), [container('web', { state: 'exited', exitCode: 0 })]), 'stopped');
    assert.equal(deriveState(app(), []), 'missing');
    assert.equal(deriveState(app(), [container('web', { health: 'unhealthy' })]), 'unhealthy');
  });

  it('when a one-shot init step exited 0, then it does not count; exiting 0 without being one-shot does', () => {
    assert.equal(deriveState(app(), [container('web'), container('init', { state: 'exited', exitCode: 0, oneShot: true })]), 'running');
    assert.equal(deriveState(app(), [container('web'), container('init', { state: 'exited', exitCode: 0 })]), 'partial');
    assert.equal(deriveState(app(), [container('web'), container('init', { state: 'exited', exitCode: 2, oneShot: true })]), 'partial');
  });
});
