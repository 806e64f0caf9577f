/**
 * The production image carries the controller and nothing of the development agent,
 * read from the files that decide it (a static check: building the image takes minutes;
 * test/image.scenario.test.ts looks inside the built one). Three ways it could get in:
 * the build context, a COPY from it, or an import from the sources the build compiles.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.join(import.meta.dirname, '..');
const AGENT_FILES = fs.readdirSync(path.join(root, 'dev-agent')).map((file) => `dev-agent/${file}`);

/** A Dockerfile or .dockerignore glob as a regular expression over slash-separated paths. */
function globPattern(glob: string): RegExp {
  const body = glob
    .replace(/^\.\//, '')
    .replace(/\/$/, '')
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*\*\/?|\*|\?/g, (token) => (token.startsWith('**') ? '(?:.*/)?' : token === '*' ? '[^/]*' : '[^/]'));
  return new RegExp(`^${body}$`);
}

/** Whether `glob` names `file` or a folder holding it. */
function covers(glob: string, file: string): boolean {
  if (glob === '.' || glob === './') return true;
  const pattern = globPattern(glob);
  const parts = file.split('/');
  return parts.some((_, index) => pattern.test(parts.slice(0, index + 1).join('/')));
}

/** The sources of every COPY that reads the build context (not another stage). */
function contextCopySources(dockerfile: string): string[] {
  return dockerfile
    .split('\n')
    .filter((line) => /^COPY\s/i.test(line) && !/--from=/.test(line))
    .flatMap((line) => line.trim().split(/\s+/).slice(1).filter((arg) => !arg.startsWith('--')).slice(0, -1));
}

/** .dockerignore's verdict on a file: the last rule that matches it decides. */
function inBuildContext(dockerignore: string, file: string): boolean {
  let included = true;
  for (const rule of dockerignore.split('\n').map((line) => line.trim())) {
    if (!rule || rule.startsWith('#')) continue;
    const negated = rule.startsWith('!');
    if (covers(negated ? rule.slice(1) : rule, file)) included = negated;
  }
  return included;
}

/** Every .ts file the image's build compiles (tsconfig.build.json: src/ without tests). */
function productionSources(): string[] {
  const files = fs.readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' }).map((file) => path.join(root, 'src', file));
  return files.filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && path.basename(file) !== 'testing.ts');
}

describe('the production image and the development agent', () => {
  it('when the build context is packed, then .dockerignore leaves out every file of the development agent', () => {
    const dockerignore = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8');
    assert.deepEqual(AGENT_FILES.filter((file) => inBuildContext(dockerignore, file)), []);
    assert.ok(inBuildContext(dockerignore, 'src/cli.ts'), 'while the controller is in it');
  });

  it('when the Dockerfile copies from the build context, then no COPY names the development agent', () => {
    const sources = contextCopySources(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
    assert.ok(sources.includes('src'), `the sources are read: ${sources.join(' ')}`);
    assert.deepEqual(sources.filter((source) => AGENT_FILES.some((file) => covers(source, file))), []);
  });

  it('when the build compiles src/, then none of those sources imports the development agent', () => {
    const agentFolder = path.join(root, 'dev-agent') + path.sep;
    const importers = productionSources().filter((file) => {
      const specifiers = [...fs.readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\s*\(\s*)'(\.[^']+)'/g)].map((match) => match[1]!);
      return specifiers.some((specifier) => path.resolve(path.dirname(file), specifier).startsWith(agentFolder));
    });
    assert.deepEqual(importers.map((file) => path.relative(root, file)), []);
  });
});
