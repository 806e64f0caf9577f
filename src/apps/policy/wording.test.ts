import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertWorded } from '../../testing/worded.ts';
import { en } from '../../i18n/en.ts';
import { inEnglish } from '../../i18n/index.ts';
import { describeViolation, violation, violationLine } from './checks.ts';

const root = path.join(import.meta.dirname, '..', '..', '..');

describe('policy problems in the reader\'s language', () => {
  // The policy's own tests run every violation they meet through assertWorded; here, that it catches what it is for.
  it('when a violation\'s English is written by hand instead of rendered from its message, then the wording check fails', () => {
    const worded = violation('web', 'gpus', { key: 'policy.gpus' });
    assert.deepEqual(assertWorded([worded]), [worded]);
    assert.throws(() => assertWorded([{ ...worded, message: 'GPUs are not allowed' }]), /the English message is the catalog's/);
  });

  it('when a message reads the same in Hungarian as in English, or leaves a parameter out, then the wording check fails', () => {
    const untranslated = { key: 'policy.line', params: { key: 'ports', problem: '80/tcp' } } as const;
    assert.throws(() => assertWorded([{ text: untranslated, message: inEnglish(untranslated) }]), /it has a Hungarian wording/);
    const unfilled = { key: 'policy.runtime', params: {} } as const;
    assert.throws(() => assertWorded([{ text: unfilled, message: inEnglish(unfilled) }]), /every parameter is filled in/);
  });

  it('when a violation is described, then its line is the catalog\'s, with the reason rendered in the same language', () => {
    const found = violation('web', 'runtime', { key: 'policy.runtime', params: { runtime: 'nvidia' } });
    assert.equal(describeViolation(found), 'service "web": runtime: runtime "nvidia" is not allowed; apps run with Docker\'s default runtime');
    assert.deepEqual(violationLine(found), { key: 'policy.line_of_service', params: { service: 'web', key: 'runtime', problem: found.text } });
  });

  it('when the catalogs are read, then every policy and manifest message is one the code can say', () => {
    const sources = fs.readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => /(?<!\.test)\.ts$/.test(file) && !file.startsWith('i18n'))
      .map((file) => fs.readFileSync(path.join(root, 'src', file), 'utf8'));
    const views = fs.readdirSync(path.join(root, 'views'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.eta'))
      .map((file) => fs.readFileSync(path.join(root, 'views', file), 'utf8'));
    const said = new Set([...sources, ...views].flatMap((text) => [...text.matchAll(/'((?:policy|manifest)\.[a-z0-9_]+)'/g)].map((match) => match[1])));
    const unsaid = Object.keys(en).filter((key) => /^(policy|manifest)\./.test(key) && !said.has(key));
    assert.deepEqual(unsaid, []);
  });
});
