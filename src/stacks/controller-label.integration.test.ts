/**
 * The controller never acts on its own container: one labelled org.felhom.role=controller
 * is skipped by project stops and starts and app listings, and its compose project is a
 * name no app may take. Real Docker engine.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { cleanUpProject, dockerHost, requireDocker } from '../../test/helpers/docker.ts';
import { createDockerPort } from './index.ts';

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

describe('the controller’s own container', () => {
  it('when a project holds a container labelled as the controller, then stopping the project leaves it running and the project is reserved', async (t) => {
    if (!(await requireDocker(t))) return;
    const project = `ctl-${process.pid % 10000}`;
    cleanUpProject(t, project);
    const run = (name: string, labels: string[]) =>
      docker('run', '-d', '--init', '--name', `${project}-${name}`, '--label', `com.docker.compose.project=${project}`, '--label', `com.docker.compose.service=${name}`,
        ...labels.flatMap((l) => ['--label', l]), 'felhom-test/busybox:latest', 'sleep', '3600');
    run('controller', ['org.felhom.role=controller']);
    run('helper', []);
    const port = createDockerPort(dockerHost);

    assert.deepEqual((await port.listContainers(project)).map((c) => c.service), ['helper'], 'only the other container is listed');
    assert.deepEqual((await port.stopProject(project)).map((c) => c.name), [`${project}-helper`]);
    const state = (name: string) => docker('inspect', '-f', '{{.State.Status}}', `${project}-${name}`);
    assert.equal(state('controller'), 'running', 'the controller was not stopped');
    assert.equal(state('helper'), 'exited');
    assert.ok((await port.controllerProjects()).includes(project));
    assert.ok(!(await port.allContainers()).get(project)?.some((c) => c.service === 'controller'));
  });
});
