import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertWorded } from '../../testing/worded.ts';
import { readCompose } from '../../stacks/index.ts';
import { checkKnownKeys } from './known-keys.ts';

const keys = (compose: unknown) => assertWorded(checkKnownKeys(readCompose(compose))).map((v) => `${v.service ?? '-'} ${v.key}`);

describe('service keys the policy knows', () => {
  it('when a compose file uses common keys and x- extensions, then nothing is refused', () => {
    assert.deepEqual(
      keys({
        services: {
          web: { image: 'nginx', restart: 'unless-stopped', environment: {}, ports: [], healthcheck: {}, 'x-note': 1, logging: { driver: 'json-file', options: { 'max-size': '10m' } }, runtime: 'runc' },
        },
        networks: { default: { driver: 'bridge' }, other: {} },
      }),
      [],
    );
  });

  it('when compose v2 asks for the Docker socket through use_api_socket, then it is refused as the socket', () => {
    const violations = assertWorded(checkKnownKeys(readCompose({ services: { cli: { image: 'docker', use_api_socket: true } } })));
    assert.equal(violations.length, 1);
    assert.match(violations[0]!.message, /Docker socket.*root on the guest/);
  });

  it('when a key is unknown, refused, or a runtime or log driver reaches past the guest, then each is named', () => {
    assert.deepEqual(
      keys({
        services: {
          a: { image: 'x', some_future_key: 1, develop: {}, runtime: 'nvidia', logging: { driver: 'syslog' } },
          b: { image: 'y', blkio_config: {}, oom_kill_disable: true, annotations: { 'run.oci.keep_original_groups': '1' } },
        },
      }),
      ['a some_future_key', 'a develop', 'a runtime', 'a logging.driver', 'b blkio_config', 'b oom_kill_disable', 'b annotations'],
    );
  });
});
