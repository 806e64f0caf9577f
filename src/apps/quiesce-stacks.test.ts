import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { systemClock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import type { ContainerInfo, ContainerRef, StoppedContainer } from '../stacks/index.ts';
import { createQuiesceStacks, type QuiesceStacksDeps } from './quiesce-stacks.ts';
import { createAppStore, type AppStore } from './store.ts';

type State = ContainerInfo['state'];
type DockerPart = QuiesceStacksDeps['docker'];

/**
 * Docker as the port sees it: containers by project, each with a state. Starting an
 * exited container runs it unless it is in `crashes` (it exits again at once) or in
 * `refuses` (the start call fails); a one-shot container exits 0 when started.
 */
class FakeDocker implements DockerPart {
  containers = new Map<string, ContainerInfo[]>();
  calls: string[] = [];
  crashes = new Set<string>();
  refuses = new Set<string>();
  stopFails = new Map<string, string>();
  /** Containers that do not stop within their grace period: Docker kills them. */
  tooSlowToStop = new Set<string>();
  /** Runs just after a start call, before the port checks what runs (a storage watch, say). */
  duringStart: (project: string) => void = () => {};

  add(project: string, name: string, state: State, oneShot = false, exitCode: number | null = null): void {
    const container: ContainerInfo = { id: `id-${name}`, name, service: name, state, health: null, image: 'x', imageId: 'sha256:x', startedAt: null, ports: [], exitCode, oneShot };
    this.containers.set(project, [...(this.containers.get(project) ?? []), container]);
  }
  stateOf(name: string): State | undefined {
    return [...this.containers.values()].flat().find((c) => c.name === name)?.state;
  }
  async listContainers(project: string) {
    return structuredClone(this.containers.get(project) ?? []);
  }
  async stopProject(project: string): Promise<StoppedContainer[]> {
    this.calls.push(`stopProject ${project}`);
    const reason = this.stopFails.get(project);
    if (reason) throw new Error(reason);
    const running = (this.containers.get(project) ?? []).filter((c) => c.state === 'running');
    for (const c of running) Object.assign(c, { state: 'exited', exitCode: this.tooSlowToStop.has(c.name) ? 137 : 0 });
    return running.map((c) => ({ id: c.id, name: c.name, service: c.service, killed: this.tooSlowToStop.has(c.name) }));
  }
  async startProject(project: string): Promise<ContainerRef[]> {
    this.calls.push(`startProject ${project}`);
    const stopped = (this.containers.get(project) ?? []).filter((c) => c.state !== 'running');
    for (const c of stopped) this.#start(c);
    this.duringStart(project);
    return stopped;
  }
  async startContainers(names: string[]): Promise<void> {
    this.calls.push(`startContainers ${names.join(',')}`);
    const refused = names.filter((name) => this.refuses.has(name));
    // A name that no longer exists is no failure (Docker's 404), as in the real port.
    for (const c of [...this.containers.values()].flat()) if (names.includes(c.name) && !this.refuses.has(c.name)) this.#start(c);
    for (const project of this.containers.keys()) if (this.containers.get(project)!.some((c) => names.includes(c.name))) this.duringStart(project);
    if (refused.length > 0) throw new Error(`docker: starting containers failed for ${refused.join('; ')}`);
  }
  #start(c: ContainerInfo): void {
    if (c.oneShot) Object.assign(c, { state: 'exited', exitCode: 0 });
    else if (this.crashes.has(c.name)) Object.assign(c, { state: 'exited', exitCode: 1 });
    else Object.assign(c, { state: 'running', exitCode: null });
  }
}

function setUp(t: TestContext) {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const store = createAppStore(db, systemClock);
  const docker = new FakeDocker();
  return { store, docker, stacks: createQuiesceStacks({ store, docker }) };
}

/** An installed app meant to run, unless `change` says otherwise. */
function install(store: AppStore, id: string, change: Parameters<AppStore['update']>[1] = {}): void {
  store.insert({ id, name: id, version: '1', source: 'catalog', composeFile: 'services: {}', web: null }, [], []);
  store.update(id, { status: 'installed', ...change });
}

describe('which apps a backup stops', () => {
  it('when apps are installed and running, then each is listed by id in order with only its running containers, sorted', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'photos');
    install(store, 'notes');
    docker.add('photos', 'photos-web-1', 'running');
    docker.add('photos', 'photos-db-1', 'running');
    // A finished init step and a container the app itself stopped are not stopped, nor started again.
    docker.add('photos', 'photos-init-1', 'exited', true, 0);
    docker.add('notes', 'notes-app-1', 'running');
    docker.add('notes', 'notes-worker-1', 'exited', false, 137);
    assert.deepEqual(await stacks.quiescable(), { notes: ['notes-app-1'], photos: ['photos-db-1', 'photos-web-1'] });
    assert.deepEqual(Object.keys(await stacks.quiescable()), ['notes', 'photos']);
  });

  it('when an app is still installing or failed, stopped for storage, or runs no container, then it is not listed', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'installing', { status: 'installing' });
    install(store, 'broken', { status: 'failed' });
    install(store, 'ondisk', { stoppedForStorage: ['mount-1'] });
    install(store, 'idle');
    install(store, 'media');
    for (const id of ['installing', 'broken', 'ondisk', 'media']) docker.add(id, `${id}-web-1`, 'running');
    docker.add('idle', 'idle-web-1', 'exited', false, 0);
    // Containers of a project the controller does not know (its own, another tool's) are never touched.
    docker.add('stranger', 'stranger-1', 'running');
    assert.deepEqual(await stacks.quiescable(), { media: ['media-web-1'] });
  });
});

describe('stopping the apps', () => {
  it('when every app stops, then each project was stopped', async (t) => {
    const { docker, stacks } = setUp(t);
    docker.add('photos', 'photos-web-1', 'running');
    docker.add('notes', 'notes-app-1', 'running');
    assert.deepEqual(await stacks.stop(['notes', 'photos']), [], 'nothing had to be killed');
    assert.deepEqual(docker.calls.sort(), ['stopProject notes', 'stopProject photos']);
    assert.equal(docker.stateOf('photos-web-1'), 'exited');
  });

  it('when Docker has to kill a container that did not stop within its grace period, then the stop names it', async (t) => {
    const { docker, stacks } = setUp(t);
    docker.add('photos', 'photos-db-1', 'running');
    docker.add('photos', 'photos-web-1', 'running');
    docker.add('notes', 'notes-app-1', 'running');
    docker.tooSlowToStop.add('photos-db-1');
    assert.deepEqual(await stacks.stop(['notes', 'photos']), ['photos-db-1']);
  });

  it('when one app fails to stop, then the error names it with the reason, and the others were stopped anyway', async (t) => {
    const { docker, stacks } = setUp(t);
    docker.add('photos', 'photos-web-1', 'running');
    docker.add('notes', 'notes-app-1', 'running');
    docker.stopFails.set('photos', 'engine timeout');
    await assert.rejects(stacks.stop(['notes', 'photos']), { message: 'photos: engine timeout' });
    assert.equal(docker.stateOf('notes-app-1'), 'exited');
  });
});

describe('starting the apps again', () => {
  it('when the stop recorded the running containers, then exactly those are started by name, and nothing else', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'photos');
    docker.add('photos', 'photos-web-1', 'exited', false, 0);
    docker.add('photos', 'photos-db-1', 'exited', false, 0);
    // Was already down before the backup: stays down, and is no failure.
    docker.add('photos', 'photos-worker-1', 'exited', false, 137);
    assert.deepEqual(await stacks.start(['photos'], { photos: ['photos-db-1', 'photos-web-1'] }), []);
    assert.deepEqual(docker.calls, ['startContainers photos-db-1,photos-web-1']);
    assert.equal(docker.stateOf('photos-web-1'), 'running');
    assert.equal(docker.stateOf('photos-worker-1'), 'exited');
  });

  it('when a run recorded no containers (or none for this app), then the whole stack is started and must run entirely', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'photos');
    install(store, 'notes');
    docker.add('photos', 'photos-web-1', 'exited', false, 0);
    docker.add('photos', 'photos-init-1', 'exited', true, 0);
    docker.add('notes', 'notes-app-1', 'exited', false, 0);
    assert.deepEqual(await stacks.start(['photos'], null), []);
    assert.deepEqual(await stacks.start(['notes'], { photos: ['photos-web-1'] }), []);
    assert.deepEqual(docker.calls, ['startProject photos', 'startProject notes']);
    assert.equal(docker.stateOf('notes-app-1'), 'running');
  });

  it('when a whole stack starts but one container exits with an error, or the project has no containers, then the app failed', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'photos');
    install(store, 'gone');
    docker.add('photos', 'photos-web-1', 'exited', false, 0);
    docker.add('photos', 'photos-db-1', 'exited', false, 0);
    docker.crashes.add('photos-db-1');
    assert.deepEqual(await stacks.start(['photos', 'gone'], null), ['gone', 'photos']);
  });

  it('when a recorded container is missing after the start (removed meanwhile) or exits at once, then the app failed', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'photos');
    install(store, 'notes');
    docker.add('photos', 'photos-web-1', 'exited', false, 0);
    docker.add('notes', 'notes-app-1', 'exited', false, 0);
    docker.crashes.add('notes-app-1');
    const failed = await stacks.start(['photos', 'notes'], { photos: ['photos-db-1', 'photos-web-1'], notes: ['notes-app-1'] });
    assert.deepEqual(failed, ['notes', 'photos']);
    assert.equal(docker.stateOf('photos-web-1'), 'running', 'what could start was started');
  });

  it('when a recorded one-shot step finished with exit 0 after the start, then it counts as up', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'photos');
    docker.add('photos', 'photos-migrate-1', 'exited', true, 0);
    assert.deepEqual(await stacks.start(['photos'], { photos: ['photos-migrate-1'] }), []);
  });

  it('when Docker refuses to start an app, then that app failed and the others still started', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'photos');
    install(store, 'notes');
    docker.add('photos', 'photos-web-1', 'exited', false, 0);
    docker.add('notes', 'notes-app-1', 'exited', false, 0);
    docker.refuses.add('photos-web-1');
    assert.deepEqual(await stacks.start(['photos', 'notes'], { photos: ['photos-web-1'], notes: ['notes-app-1'] }), ['photos']);
    assert.equal(docker.stateOf('notes-app-1'), 'running');
  });

  it('when an app was uninstalled, stopped for storage or stopped by the customer during the backup, then it is left alone and is no failure', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'ondisk', { stoppedForStorage: ['mount-1'] });
    install(store, 'paused', { desired: 'stopped' });
    for (const id of ['removed', 'ondisk', 'paused']) docker.add(id, `${id}-web-1`, 'exited', false, 0);
    const recorded = { removed: ['removed-web-1'], ondisk: ['ondisk-web-1'], paused: ['paused-web-1'] };
    assert.deepEqual(await stacks.start(['removed', 'ondisk', 'paused'], recorded), []);
    assert.deepEqual(await stacks.start(['removed', 'ondisk', 'paused'], null), []);
    assert.deepEqual(docker.calls, []);
  });

  it('when the storage watch marks an app while it is being started, then it is stopped again (never runs on a missing mount)', async (t) => {
    const { store, docker, stacks } = setUp(t);
    install(store, 'photos');
    install(store, 'notes');
    docker.add('photos', 'photos-web-1', 'exited', false, 0);
    docker.add('notes', 'notes-app-1', 'exited', false, 0);
    docker.duringStart = (project) => {
      if (project === 'photos') store.update('photos', { stoppedForStorage: ['mount-1'] });
    };
    assert.deepEqual(await stacks.start(['photos', 'notes'], { photos: ['photos-web-1'], notes: ['notes-app-1'] }), []);
    assert.ok(docker.calls.includes('stopProject photos'));
    assert.equal(docker.stateOf('photos-web-1'), 'exited');
    assert.equal(docker.stateOf('notes-app-1'), 'running');
  });
});
