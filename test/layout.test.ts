/**
 * The rules of the layout (docs/architecture.md), checked on the sources: each domain's
 * index.ts is its surface and nothing else, src/ never imports test/ or the development
 * agent, and the imports between files of src/ form no circle. Each rule is also shown
 * failing on a bad case, so a check that cannot fail does not pass for one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.join(import.meta.dirname, '..');
const src = path.join(root, 'src');

/** Every TypeScript file under a folder, tests included (they must keep to the rules too). */
function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts')).map((name) => path.join(dir, name));
}

/** The relative modules a file imports or re-exports, resolved to paths. */
function importsOf(file: string, text = fs.readFileSync(file, 'utf8')): string[] {
  const specifiers = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/gms)].map((match) => match[1]!);
  return specifiers.map((specifier) => path.resolve(path.dirname(file), specifier));
}

/** The statements of an index.ts that are not re-exports, comments or blank. */
function notReExports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return code
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '' && !/^export\s+(type\s+)?(\*|\{[\s\S]*\})\s+from\s+'[^']+'$/.test(statement));
}

/** One import circle among these files, as the files around it, or null when there is none. */
function findCircle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === 'done') return null;
    if (state.get(file) === 'open') return trail.slice(trail.indexOf(file));
    state.set(file, 'open');
    trail.push(file);
    for (const next of graph.get(file) ?? []) {
      const circle = visit(next);
      if (circle) return circle;
    }
    trail.pop();
    state.set(file, 'done');
    return null;
  };
  for (const file of graph.keys()) {
    const circle = visit(file);
    if (circle) return circle;
  }
  return null;
}

describe('the layout of src/', () => {
  it('when a domain has an index.ts, then it only re-exports (its code lives in named files)', () => {
    const indexes = sourcesUnder(src).filter((file) => path.basename(file) === 'index.ts');
    assert.ok(indexes.length >= 15, `the domains' index files are found (${indexes.length})`);
    const offenders = indexes.flatMap((file) => notReExports(fs.readFileSync(file, 'utf8')).map((statement) => `${path.relative(root, file)}: ${statement.split('\n')[0]}`));
    assert.deepEqual(offenders, []);
    assert.deepEqual(notReExports("export { a } from './a.ts';\nexport const b = 1;"), ['export const b = 1'], 'code in an index is found');
  });

  it('when a file of src/ imports, then never from test/ or the development agent, except the agent client test its certificates', () => {
    const allowed = new Set(['src/agent/client.integration.test.ts -> dev-agent/cert.ts']);
    const outside = sourcesUnder(src).flatMap((file) =>
      importsOf(file)
        .filter((target) => !target.startsWith(src + path.sep))
        .map((target) => `${path.relative(root, file)} -> ${path.relative(root, target)}`)
        .filter((edge) => !allowed.has(edge)),
    );
    assert.deepEqual(outside, []);
    assert.deepEqual(importsOf(path.join(src, 'x.ts'), "import { tempDir } from '../test/helpers/temp.ts';"), [path.join(root, 'test', 'helpers', 'temp.ts')], 'an import of test/ is seen');
  });

  it('when the files of src/ import each other, then they form no circle', () => {
    const graph = new Map(sourcesUnder(src).map((file) => [file, importsOf(file)]));
    const circle = findCircle(graph);
    assert.equal(circle && circle.map((file) => path.relative(root, file)).join(' -> '), null);
    const bad = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    assert.deepEqual(findCircle(bad), ['a.ts', 'b.ts', 'c.ts'], 'a circle is found');
  });
});
