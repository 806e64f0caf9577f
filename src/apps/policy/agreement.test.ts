import assert from 'node:assert/strict';
import { it } from 'node:test';
import { readCompose } from '../../stacks/index.ts';
import { assertWorded } from '../../testing/worded.ts';
import { checkAgreement } from './agreement.ts';

const keys = (document: Record<string, unknown>, printed: unknown) => assertWorded(checkAgreement(document, readCompose(printed))).map((v) => v.key);

it('when compose prints the services, volumes and networks of the file (v2 adding default, leaving out profiled services), then they agree', () => {
  const document = { services: { web: { image: 'x' }, debug: { image: 'x', profiles: ['debug'] } }, volumes: { data: {} } };
  assert.deepEqual(keys(document, { services: { web: { image: 'x' } }, volumes: { data: {} }, networks: { default: { name: 'a_default' } } }), []);
});

it('when a service compose would run was not read, or one read is missing (two names merged into one), then each is named', () => {
  const document = { services: { '1000': { image: 'x', privileged: true }, '1e3': { image: 'x' } } };
  assert.deepEqual(keys(document, { services: { '1000': { image: 'x' } } }), ['services.1e3']);
  assert.deepEqual(keys({ services: { web: {} } }, { services: { web: {}, version: {} } }), ['services.version']);
});

it('when compose would create a volume or network the file does not have, then it is named', () => {
  assert.deepEqual(keys({ services: { web: {} } }, { services: { web: {} }, volumes: { hidden: {} }, networks: { lan: {} } }), ['volumes.hidden', 'networks.lan']);
});
