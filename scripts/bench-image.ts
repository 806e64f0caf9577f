/**
 * Benchmark (not a test) of the controller image as it ships: deployed with
 * compose/controller.yml beside the development agent. Prints the image size, the time
 * from `docker start` to the first /healthz 200, the idle memory (RSS) of the controller
 * process with 10 apps installed (beside that of a bare Node HTTP server in the same image,
 * the floor under it), and home-page requests per second.
 * Targets: image under 250 MB, start under 2 s, idle RSS under 80 MB.
 *
 *   scripts/image.sh && source scripts/toolchain.sh && node scripts/bench-image.ts
 *
 * Needs root and the image, like test/image.scenario.test.ts.
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { deploy, deploymentUnavailable, docker, sleep } from '../test/helpers/deployment.ts';
import { signInWithSetupCode } from '../test/helpers/sign-in.ts';
import { until } from '../test/helpers/until.ts';

const APPS = 10;
const STARTS = 5;
const LOAD_SECONDS = 5;
const CONCURRENCY = 8;
const PASSWORD = 'a long benchmark password';
function memoryOf(pid: string): { rss: number; anonymous: number } {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)![1]) * 1024;
  return { rss: kb('Rss'), anonymous: kb('Anonymous') };
}

/** What Node itself costs: an HTTP server that answers with a formatted date, as the pages do, in the same image. */
async function bareNodeMemory(image: string): Promise<{ rss: number; anonymous: number }> {
  const server = "require('http').createServer((q, r) => r.end(new Intl.DateTimeFormat('hu-HU', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date()))).listen(8080)";
  const container = docker('run', '-d', '--read-only', '--cap-drop', 'ALL', '--user', '1000:1000', '-p', '127.0.0.1::8080', image, 'node', '-e', server);
  try {
    const port = docker('port', container, '8080/tcp').split(':').pop()!;
    await until(async () => (await fetch(`http://127.0.0.1:${port}/`).catch(() => null))?.ok, { what: 'the bare server', timeoutMs: 10_000, intervalMs: 50 });
    await sleep(15_000);
    return memoryOf(docker('inspect', '-f', '{{.State.Pid}}', container));
  } finally {
    docker('rm', '-f', container);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

async function main(): Promise<void> {
  const missing = deploymentUnavailable();
  if (missing) throw new Error(`the benchmark needs ${missing}`);
  const image = process.env.FELHOM_IMAGE ?? 'felhom/controller:dev';
  const size = Number(docker('image', 'inspect', '-f', '{{.Size}}', image));
  const gzipped = Number(execSync(`docker save ${image} | gzip -6 | wc -c`, { encoding: 'utf8' }).trim());

  const d = await deploy();
  const ids = Array.from({ length: APPS }, (_, i) => `bench-img-${i}`);
  try {
    d.grantBootstrap();
    await until(() => d.healthy(), { what: '/healthz', timeoutMs: 30_000, intervalMs: 50 });
    const api = d.api();
    await until(async () => (await api('GET', '/status')).body.agent.authorized === true, { what: 'the agent channel', timeoutMs: 60_000, intervalMs: 250 });

    for (const id of ids) {
      const manifest = `schema: felhom.app/v1\nid: ${id}\nname: Bench ${id}\nversion: "1"\nvolumes:\n  data: { class: hot }\n`;
      const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sleep", "86400"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n`;
      const answer = await api('POST', '/apps', { manifest, compose });
      if (answer.status !== 202) throw new Error(`install ${id}: ${JSON.stringify(answer.body)}`);
      await until(async () => (await api('GET', `/apps/${id}`)).body.state === 'running', { what: `${id} running`, timeoutMs: 120_000, intervalMs: 250 });
    }
    const starts: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      docker('stop', '-t', '30', d.container);
      const started = performance.now();
      docker('start', d.container);
      await until(() => d.healthy(500), { what: '/healthz', timeoutMs: 30_000, intervalMs: 10 });
      starts.push(performance.now() - started);
    }

    // Idle: nothing asked of it for a while, as on a quiet evening.
    await sleep(15_000);
    // The node process itself (its host pid), not the init (docker-init -- node ...) that runs it.
    const pid = docker('top', d.container, '-o', 'pid,args').split('\n').map((line) => line.trim().split(/\s+/)).find((cols) => cols[1] === 'node' && cols.includes('serve'))![0]!;
    const rss: number[] = [];
    const anonymous: number[] = [];
    for (let i = 0; i < 5; i++) {
      const memory = memoryOf(pid);
      rss.push(memory.rss);
      anonymous.push(memory.anonymous);
      await sleep(1_000);
    }

    const floor = await bareNodeMemory(image);

    const cookie = await signInWithSetupCode(d.url, fs.readFileSync(path.join(d.dataDir, 'setup-code.txt'), 'utf8').split('\n')[0]!, PASSWORD);
    const latencies: number[] = [];
    const deadline = performance.now() + LOAD_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const started = performance.now();
          const response = await fetch(`${d.url}/`, { headers: { cookie } });
          const body = await response.text();
          if (response.status !== 200 || !body.includes('bench-img-0')) throw new Error(`home page answered ${response.status}`);
          latencies.push(performance.now() - started);
        }
      }),
    );

    const startMs = median(starts);
    const idle = median(rss);
    console.log(`controller image ${image}, deployed with compose/controller.yml (read-only root, no capabilities, uid 1000):`);
    console.log(`  image size        ${mb(size)} on disk, ${mb(gzipped)} compressed (docker save | gzip); target < 250 MB: ${(size / 250e6).toFixed(2)}× on disk, ${(gzipped / 250e6).toFixed(2)}× compressed`);
    console.log(`  start             median ${startMs.toFixed(0)} ms from docker start to the first /healthz 200 with ${APPS} apps installed (${STARTS} starts: ${starts.map((s) => s.toFixed(0)).join(', ')}); target < 2000 ms: ${(startMs / 2000).toFixed(2)}×`);
    console.log(`  idle memory       median RSS ${mb(idle)} of the controller process with ${APPS} apps installed; target < 80 MB: ${(idle / 80e6).toFixed(2)}×`);
    console.log(`                    of which ${mb(median(anonymous))} anonymous (heap and other private memory); the rest is clean pages mapped from the Node binary and native modules, which the kernel can drop`);
    console.log(`                    floor: a bare Node HTTP server in the same image, hardened alike, idles at ${mb(floor.rss)} RSS (${mb(floor.anonymous)} anonymous); the controller adds ${mb(idle - floor.rss)}`);
    console.log(`  home page         ${(latencies.length / LOAD_SECONDS).toFixed(0)} requests/s with ${CONCURRENCY} concurrent clients for ${LOAD_SECONDS} s, median ${median(latencies).toFixed(1)} ms (${APPS} apps)`);
  } finally {
    for (const id of ids) await d.api()('DELETE', `/apps/${id}`).catch(() => undefined);
    for (const id of ids) {
      const left = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${id}`);
      if (left) docker('rm', '-f', ...left.split('\n'));
      const volumes = docker('volume', 'ls', '-q', '--filter', `label=org.felhom.app=${id}`);
      if (volumes) docker('volume', 'rm', '-f', ...volumes.split('\n'));
    }
    await d.remove();
  }
}

await main();
