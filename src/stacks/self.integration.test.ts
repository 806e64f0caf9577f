/**
 * The controller never acts on its own container, and knows it by its id, not by a
 * label an app's image could carry. Real Docker engine.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { cleanUpProject, dockerHost, requireDocker } from '../testing/docker.ts';
import { silentLogger } from '../log.ts';
import { createDockerPort } from './index.ts';

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

describe('the controller’s own container', () => {
  it('when a project holds the controller’s own container and one labelled as the controller, then only its own is spared and the label counts for nothing', async (t) => {
    if (!(await requireDocker(t))) return;
    const project = `ctl-${process.pid % 10000}`;
    cleanUpProject(t, project);
    const run = (name: string, labels: string[]) =>
      docker('run', '-d', '--init', '--name', `${project}-${name}`, '--label', `com.docker.compose.project=${project}`, '--label', `com.docker.compose.service=${name}`,
        ...labels.flatMap((l) => ['--label', l]), 'felhom-test/busybox:latest', 'sleep', '3600');
    const self = run('controller', []);
    run('impostor', ['org.felhom.role=controller']);
    const port = createDockerPort(dockerHost, 10_000, silentLogger(), self);

    assert.deepEqual((await port.listContainers(project)).map((c) => c.service), ['impostor'], 'the impostor is an ordinary container');
    assert.deepEqual((await port.stopProject(project)).map((c) => c.name), [`${project}-impostor`]);
    const state = (name: string) => docker('inspect', '-f', '{{.State.Status}}', `${project}-${name}`);
    assert.equal(state('controller'), 'running', 'its own container was not stopped');
    assert.equal(state('impostor'), 'exited', 'the labelled one was');
    assert.deepEqual(await port.controllerProjects(), [project], 'its own project is reserved, by its container id');
    assert.deepEqual((await port.allContainers()).get(project)?.map((c) => c.service), ['impostor']);
    assert.deepEqual((await port.startProject(project)).map((c) => c.name), [`${project}-impostor`]);
  });

  it('when the controller runs outside a container, then no project is its own, whatever labels containers carry', async (t) => {
    if (!(await requireDocker(t))) return;
    const project = `ctl-out-${process.pid % 10000}`;
    cleanUpProject(t, project);
    docker('run', '-d', '--name', `${project}-x`, '--label', `com.docker.compose.project=${project}`, '--label', 'org.felhom.role=controller', 'felhom-test/busybox:latest', 'sleep', '3600');
    assert.deepEqual(await createDockerPort(dockerHost, 10_000, silentLogger(), null).controllerProjects(), []);
  });
});
