import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChild } from './child.ts';

/** A child that keeps allocating memory it touches: what an alias bomb does to compose. */
const hog = `const kept = []; setInterval(() => kept.push(Buffer.alloc(20e6, 1)), 5);`;

describe('a bounded child process', () => {
  it('when its process group grows past the memory bound, then it is killed within moments and the result says why', async () => {
    const started = Date.now();
    // The hog is a grandchild: the bound counts the whole group, as compose v2 runs under docker.
    const result = await runChild(['sh', '-c', `"${process.execPath}" -e '${hog}'; echo survived`], { cwd: '/', env: {}, timeoutMs: 60_000, maxRssBytes: 150e6 });
    assert.equal(result.stopped, 'memory');
    assert.doesNotMatch(result.stdout, /survived/);
    assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms`);
  });

  it('when it runs past its time, then it is stopped and the result says so', async () => {
    const result = await runChild(['sleep', '30'], { cwd: '/', env: {}, timeoutMs: 200 });
    assert.equal(result.stopped, 'timeout');
    assert.equal(result.signal, 'SIGTERM');
  });

  it('when it prints more than its output bound, then it is killed and the output kept stops there', async () => {
    const result = await runChild(['sh', '-c', 'yes felhom; echo survived >&2'], { cwd: '/', env: { PATH: process.env.PATH }, timeoutMs: 10_000, maxOutputBytes: 1_000_000 });
    assert.equal(result.stopped, 'output');
    assert.ok(result.stdout.length < 2_000_000, `${result.stdout.length} characters kept`);
    assert.deepEqual(result.stderrTail, []);
  });

  it('when it stays within its bounds, then its output and exit code come back untouched', async () => {
    const result = await runChild(['sh', '-c', 'echo out; echo err >&2; exit 3'], { cwd: '/', env: {}, timeoutMs: 10_000, maxRssBytes: 150e6 });
    assert.deepEqual([result.code, result.stopped, result.stdout, result.stderrTail], [3, null, 'out\n', ['err']]);
  });
});
