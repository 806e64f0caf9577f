import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCatalogDir } from './apps/catalog.ts';
import { ConfigError, loadConfig } from './config.ts';

describe('configuration from the environment', () => {
  it('when nothing is set, then the documented defaults apply', () => {
    const config = loadConfig({ NODE_ENV: 'production' });
    assert.equal(config.bootstrapPath, '/etc/felhom/bootstrap.json');
    assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8080 });
    assert.equal(config.dockerHost, 'unix:///var/run/docker.sock');
    assert.equal(config.logFormat, 'json');
    // The poll while the apps are down is the controller's share of their downtime (docs/quiesce.md).
    assert.equal(config.quiescePollMs, 50);
    assert.equal(config.trackingPollMs, 5_000);
    assert.deepEqual(config.catalogDirs, [defaultCatalogDir]);
  });

  it('when FELHOM_CATALOG_DIR names several folders, then they are all catalogs, in the order given', () => {
    assert.deepEqual(loadConfig({ FELHOM_CATALOG_DIR: '/opt/felhom/demo:/opt/felhom/apps:' }).catalogDirs, ['/opt/felhom/demo', '/opt/felhom/apps']);
  });

  it('when values are given, then they are parsed, IPv6 listen addresses included', () => {
    const config = loadConfig({
      FELHOM_DATA_DIR: '/data',
      FELHOM_BOOTSTRAP_PATH: '/config/bootstrap.json',
      FELHOM_LISTEN: '[::1]:9000',
      DOCKER_HOST: 'tcp://127.0.0.1:2375',
      FELHOM_AGENT_TIMEOUT_MS: '2500',
      FELHOM_LOG_FORMAT: 'pretty',
    });
    assert.equal(config.dataDir, '/data');
    assert.deepEqual(config.listen, { host: '::1', port: 9000 });
    assert.equal(config.agentTimeoutMs, 2500);
    assert.equal(config.logFormat, 'pretty');
  });

  it('when values are bad, then every bad variable is named with what it must look like and what it was', () => {
    assert.throws(
      () => loadConfig({ FELHOM_LISTEN: 'localhost', DOCKER_HOST: '/var/run/docker.sock', FELHOM_AGENT_TIMEOUT_MS: 'soon', FELHOM_LOG_LEVEL: 'loud' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 4);
        assert.match(error.message, /FELHOM_LISTEN: must be host:port, e\.g\. 0\.0\.0\.0:8080 \(got "localhost"\)/);
        assert.match(error.message, /DOCKER_HOST: must be unix:\/\/\/path\/to\/docker\.sock or tcp:\/\/host:port \(got "\/var\/run\/docker\.sock"\)/);
        assert.match(error.message, /FELHOM_AGENT_TIMEOUT_MS: .*\(got "soon"\)/);
        assert.match(error.message, /FELHOM_LOG_LEVEL: .*\(got "loud"\)/);
        return true;
      },
    );
    assert.throws(() => loadConfig({ FELHOM_LISTEN: '0.0.0.0:70000' }), /port must be 0-65535/);
  });
});
