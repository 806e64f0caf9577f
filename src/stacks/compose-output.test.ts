import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AppError } from '../errors.ts';
import { parseComposeOutput } from './compose-output.ts';

it('when compose v1 prints keys that are strings in YAML 1.1 but numbers in 1.2, then each stays the text printed', () => {
  const printed = "services:\n  '1000':\n    image: a\n  1e3:\n    image: b\n    privileged: true\n  09:\n    image: c\n  0o7: {}\n";
  assert.deepEqual(Object.keys((parseComposeOutput(printed) as { services: object }).services), ['1000', '1e3', '09', '0o7']);
});

it('when values are read, then YAML 1.2 types stay (booleans, numbers, null), and aliases resolve', () => {
  assert.deepEqual(parseComposeOutput('a: &x {b: true, c: 8080, d: null, e: "s"}\nf: *x\n'), { a: { b: true, c: 8080, d: null, e: 's' }, f: { b: true, c: 8080, d: null, e: 's' } });
});

it('when a key appears twice, is __proto__, or is not a plain name, then it is refused or kept as an own key', () => {
  const refused = (text: string) => assert.throws(() => parseComposeOutput(text), (e: unknown) => e instanceof AppError && e.code === 'validation' && /cannot read back unambiguously/.test(e.message));
  refused('services:\n  a: {}\n  a: {}\n');
  refused('? [a]\n: 1\n');
  const proto = parseComposeOutput('__proto__: {polluted: true}\n') as Record<string, unknown>;
  assert.ok(Object.hasOwn(proto, '__proto__'));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
