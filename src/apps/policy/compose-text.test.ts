import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { AppError } from '../../errors.ts';
import { COMPOSE_MAX_BYTES, readComposeText } from './compose-text.ts';
import type { PolicyViolation } from './checks.ts';
import { assertWorded } from '../../testing/worded.ts';

/** The problems a refused text carries, one line each, worded from the catalogs (assertWorded). */
function refusals(text: string): string[] {
  try {
    readComposeText(text);
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, 'policy', error.message);
    return assertWorded(error.details?.violations as PolicyViolation[]).map((v) => `${v.key}: ${v.message}`);
  }
  return [];
}

const hidden = (separator: string) => `services:\n  web:\n    image: nginx\n    # note${separator}    env_file: /etc/shadow\n`;

describe('characters YAML parsers disagree on', () => {
  for (const [name, separator] of [
    ['a bare CR', '\r'],
    ['NEL (U+0085)', '\u0085'],
    ['a line separator (U+2028)', '\u2028'],
    ['a paragraph separator (U+2029)', '\u2029'],
  ] as const) {
    it(`when ${name} hides a key in a comment, then the file is refused naming the line and column`, () => {
      const [problem, ...rest] = refusals(hidden(separator));
      assert.deepEqual(rest, []);
      assert.match(problem!, /^compose file: .* at line 4, column 11: YAML parsers disagree/);
    });
  }

  it('when the text holds other control characters or a stray byte-order mark, then each is named', () => {
    const problems = refusals('services:\n  web:\n    image: "a\u0000b"\n    command: "x\u001by\uFEFF"\n');
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /the control character U\+0000 at line 3/);
    assert.match(problems[1]!, /U\+001B at line 4/);
    assert.match(problems[2]!, /byte-order mark \(U\+FEFF\) past the start/);
  });

  it('when an unpaired surrogate comes through the API, then it is refused', () => {
    assert.match(refusals('services:\n  web:\n    image: "\uD800x"\n')[0]!, /unpaired surrogate \(U\+D800\)/);
  });

  it('when lines end in CRLF, a byte-order mark starts the file, or tabs and non-ASCII text appear, then the file is read', () => {
    const { document } = readComposeText('\uFEFFservices:\r\n  web:\r\n    image: nginx\r\n    environment:\r\n      GREETING: "Jó\tnapot 📷"\r\n');
    assert.deepEqual(document, { services: { web: { image: 'nginx', environment: { GREETING: 'Jó\tnapot 📷' } } } });
  });
});

describe('what compose reads is what was checked', () => {
  it('when the file uses anchors, merge keys, x- fields, $$ and multi-line commands, then the canonical text holds the same data with none of them', () => {
    const text = [
      'x-common: &common',
      '  restart: unless-stopped',
      '  security_opt: [no-new-privileges:true]',
      'services:',
      '  web:',
      '    <<: *common',
      '    image: nginx:1.27',
      '    command: >',
      '      sh -c "echo $$HOME',
      '      && exec nginx"',
      '    environment: { PORT: "8080", DEBUG: "yes", HEX: 0x1F, PASSWORD: "${PW:-secret}" }',
      '    depends_on: { db: { condition: service_healthy } }',
      '  db: { <<: *common, image: "postgres:16" }',
    ].join('\n');
    const { document, canonical } = readComposeText(text);
    assert.deepEqual(parse(canonical), document, 'YAML reads the canonical text back as the same data');
    assert.deepEqual(JSON.parse(canonical), document, 'and so does a JSON parser');
    assert.doesNotMatch(canonical, /[&*]common|<<|\n/);
    const web = (document.services as Record<string, Record<string, unknown>>).web!;
    assert.equal(web.restart, 'unless-stopped');
    assert.equal(web.command, 'sh -c "echo $$HOME && exec nginx"\n');
    assert.deepEqual(web.environment, { PORT: '8080', DEBUG: 'yes', HEX: 31, PASSWORD: '${PW:-secret}' });
  });

  it('when strings hold characters YAML 1.1 reads as line breaks, then the canonical text escapes them', () => {
    const { canonical } = readComposeText('services:\n  web:\n    image: nginx\n    command: "a\\Nb\\Lc\\x7fd"\n');
    assert.match(canonical, /"a\\u0085b\\u2028c\\u007fd"/);
    assert.doesNotMatch(canonical, /[\u0085\u2028\u007f]/);
  });

  it('when a value carries an explicit tag (!!binary, !reset, a custom one), then the file is refused', () => {
    const problems = refusals('services:\n  web:\n    image: !!binary bmdpbng=\n    env_file: !reset []\n    command: !shell x\n');
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /explicit tag tag:yaml\.org,2002:binary at line 3, column 21/);
    assert.match(problems[1]!, /!reset/);
  });

  it('when a key is quoted "<<" or is a list, then the file is refused', () => {
    assert.match(refusals('x-a: &a { image: x }\nservices:\n  web:\n    "<<": *a\n')[0]!, /quoted "<<" key at line 4/);
    assert.match(refusals('services:\n  ? [a, b]\n  : { image: x }\n')[0]!, /key that is a list or a mapping/);
  });

  it('when a merge list repeats a key, then the first mapping wins as YAML says, and compose gets only that value', () => {
    const { document, canonical } = readComposeText('x-a: &a { image: first }\nx-b: &b { image: second }\nservices:\n  web: { <<: [*a, *b] }\n');
    assert.equal((document.services as Record<string, { image: string }>).web!.image, 'first');
    assert.deepEqual(JSON.parse(canonical).services, { web: { image: 'first' } }, 'the service compose reads has no other image');
  });

  it('when a plain value means one thing to YAML 1.1 and another to 1.2, then the file is refused until it is quoted or written in decimal', () => {
    for (const plain of ['0440', '-017', '0o17', '0b101', '22:22', '1_000', '1e3', '1.0e3', 'yes', 'Off', 'y', '2024-01-31', '1234567890123456789']) {
      const [problem, ...rest] = refusals(`services:\n  web:\n    image: nginx\n    environment: { VALUE: ${plain} }\n`);
      assert.deepEqual(rest, [], plain);
      assert.match(problem ?? '', new RegExp(`the plain value ${plain.replace(/[.+]/g, '\\$&')} at line 4`), plain);
    }
    assert.match(refusals('services:\n  web:\n    image: nginx\n    secrets: [{ source: s, mode: 0440 }]\n')[0]!, /0440 is 288 or 440/);
    assert.match(refusals('services:\n  yes: { image: nginx }\n')[0]!, /the plain value yes at line 2/, 'keys too');
    const { document } = readComposeText('services:\n  web:\n    image: nginx\n    environment: { A: "0440", B: "yes", C: 288, D: 0x1F, E: 1.5, F: true, G: ~, H: 0, I: -3, J: 1.0e+3 }\n');
    assert.deepEqual((document.services as Record<string, { environment: unknown }>).web!.environment, { A: '0440', B: 'yes', C: 288, D: 31, E: 1.5, F: true, G: null, H: 0, I: -3, J: 1000 });
  });

  it('when a key is repeated, then the text is not valid YAML', () => {
    assert.throws(() => readComposeText('services:\n  web: { image: a }\n  web: { image: b }\n'), (e: unknown) => e instanceof AppError && e.code === 'validation' && /not valid YAML/.test(e.message));
  });

  it('when the text is not a mapping or not YAML, then it is a validation error', () => {
    assert.throws(() => readComposeText('- a\n- b\n'), (e: unknown) => e instanceof AppError && e.code === 'validation' && /YAML mapping/.test(e.message));
    assert.throws(() => readComposeText('services: [unclosed'), (e: unknown) => e instanceof AppError && e.code === 'validation');
  });
});

describe('what reading the file may cost', () => {
  it('when aliases multiply (a billion laughs), then the file is refused before compose sees it', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    lines.push('services:\n  web: { image: x, command: *i }');
    assert.match(refusals(lines.join('\n'))[0]!, /expands its anchors too far|grows to/);
  });

  it('when aliases repeat a block within bounds but the result is over 1 MiB, then the file is refused', () => {
    const block = `x-big: &big "${'x'.repeat(200_000)}"\n`;
    const uses = Array.from({ length: 8 }, (_, i) => `  s${i}: { image: x, command: *big }`).join('\n');
    assert.match(refusals(`${block}services:\n${uses}\n`)[0]!, /grows past 1024 KiB once its anchors are expanded/);
  });

  it('when a large anchor is aliased hundreds of times, then rendering stops at the bound instead of building the whole text', () => {
    const block = `x-big: &big "${'x'.repeat(200_000)}"\n`;
    const uses = Array.from({ length: 999 }, (_, i) => `  s${i}: { image: x, command: *big }`).join('\n');
    const before = process.memoryUsage().rss;
    const started = Date.now();
    assert.match(refusals(`${block}services:\n${uses}\n`)[0]!, /grows past 1024 KiB/);
    const grew = process.memoryUsage().rss - before;
    assert.ok(grew < 100 * 1024 * 1024, `RSS grew by ${Math.round(grew / 1024 / 1024)} MB (the whole text would be 200 MB)`);
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  });

  it('when the text itself is larger than the limit, then it is refused by size', () => {
    assert.match(refusals(`services: {}\n#${'x'.repeat(COMPOSE_MAX_BYTES)}`)[0]!, /a compose file may be at most 256 KiB/);
  });
});
