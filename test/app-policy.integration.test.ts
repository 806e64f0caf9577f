/**
 * The app policy attacked as someone who knows compose v1 and v2 would, through the
 * controller's API with each compose version (docs/felhom-yml.md, "The policy", lists
 * every class). For each attempt the test first shows that compose itself falls for it
 * (the secret lands in `compose config`'s output, an error tells whether a file exists,
 * or compose carries the key through to what it would run), so a refusal here is a
 * refusal of something real; then that the controller refuses it in the plan and the
 * install with a 4xx naming the key, reads nothing, and creates nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import { controller, devAgent } from './helpers/controller.ts';
import { requireComposeVersions, type ComposeVersion } from './helpers/compose-versions.ts';
import { until } from './helpers/until.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImage } from './helpers/images.ts';
import { tempDir } from './helpers/temp.ts';

/** Files outside any app folder that an attack tries to read, each holding a marker. */
interface Secrets {
  dir: string;
  env: string;
  json: string;
  marker: string;
}

function plantSecrets(t: TestContext): Secrets {
  const dir = tempDir(t, 'felhom-secret-');
  const marker = `stolen-${randomBytes(6).toString('hex')}`;
  fs.writeFileSync(path.join(dir, 'x.env'), `STOLEN=${marker}\n`);
  fs.writeFileSync(path.join(dir, 'x.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', note: marker }));
  fs.writeFileSync(path.join(dir, 'inc.yml'), `services:\n  leaked:\n    image: ${marker}\n`);
  fs.writeFileSync(path.join(dir, 'base.yml'), `services:\n  base:\n    image: busybox\n    environment: { STOLEN: ${marker} }\n`);
  return { dir, env: path.join(dir, 'x.env'), json: path.join(dir, 'x.json'), marker };
}

type Proof =
  /** compose config's output holds the marker: it read the file. */
  | { leaks: true }
  /** compose's answer differs between a file that exists and one that does not. */
  | { oracle: true }
  /** compose carries the offending key through to what it would run. */
  | { prints: RegExp }
  /** compose prints more than this many bytes for it. */
  | { printsMoreThan: number };

interface Attack {
  name: string;
  compose: (s: Secrets) => string;
  /** The versions that fall for it, proven on each run; others refuse it themselves or ignore it. */
  live: Array<ComposeVersion['name']>;
  proof?: Proof;
  /** What the controller's refusal says (the plan's problems and the install's error). */
  refused: RegExp;
  /** Versions that refuse the file themselves (an unknown key, or what is left once the trick is undone): the answer is compose's words. */
  composeRefuses?: Array<ComposeVersion['name']>;
  /** Versions whose output the controller will not read as it stands (the answer is a 400 saying so). */
  unreadableWith?: Array<ComposeVersion['name']>;
}

const service = (body: string) => `services:\n  web:\n    image: felhom-test/busybox:latest\n${body}`;

const attacks: Attack[] = [
  // 1. The pre-check blinded: the file compose reads is not the file that was checked.
  { name: 'a bare CR ends a comment for compose, hiding env_file', compose: (s) => service(`    # note\r    env_file: ${s.env}\n`), live: ['v1', 'v2'], proof: { leaks: true }, refused: /bare CR\) at line 4/ },
  { name: 'NEL (U+0085) ends a comment for compose', compose: (s) => service(`    # note\u0085    env_file: ${s.env}\n`), live: ['v1', 'v2'], proof: { leaks: true }, refused: /U\+0085/ },
  { name: 'a line separator (U+2028) ends a comment for compose', compose: (s) => service(`    # note\u2028    env_file: ${s.env}\n`), live: ['v1', 'v2'], proof: { leaks: true }, refused: /U\+2028/ },
  { name: '!!binary is a string path to go-yaml', compose: (s) => service(`    env_file: !!binary ${Buffer.from(s.env).toString('base64')}\n`), live: ['v2'], proof: { leaks: true }, refused: /explicit tag .*binary/ },
  { name: 'an interpolation default is the path compose opens', compose: (s) => service(`    env_file: "\${UNSET_VAR:-${s.env}}"\n`), live: ['v1', 'v2'], proof: { leaks: true }, refused: /env_file: .* is not a plain path inside the app folder/ },
  { name: 'a ~ path is the home folder to compose', compose: (s) => service(`    env_file: "~/${path.relative(os.homedir(), s.env)}"\n`), live: ['v1', 'v2'], proof: { leaks: true }, refused: /env_file: ~\/.* is not a plain path/ },
  { name: 'a file without services is the legacy format to compose v1', compose: (s) => `web:\n  image: felhom-test/busybox:latest\n  env_file: ${s.env}\n`, live: ['v1'], proof: { leaks: true }, refused: /must have a "services" mapping/ },
  {
    name: 'an empty services mapping makes compose v1 read the file as the legacy format, an x- key a service (an existence oracle)',
    compose: (s) => `x-probe: { image: felhom-test/busybox:latest, env_file: ${s.json} }\nservices: {}\n`,
    live: ['v1'],
    proof: { oracle: true },
    refused: /must have a "services" mapping with at least one service/,
  },
  { name: 'include reads another compose file', compose: (s) => `include: [${path.join(s.dir, 'inc.yml')}]\n${service('')}`, live: ['v2'], proof: { leaks: true }, refused: /include: reads other compose files/ },
  { name: 'extends.file reads another compose file', compose: (s) => service(`    extends: { file: ${path.join(s.dir, 'base.yml')}, service: base }\n`), live: ['v1', 'v2'], proof: { leaks: true }, refused: /extends\.file: reads another compose file/ },
  { name: 'a seccomp profile path is opened by compose v1, and its error tells whether the file exists', compose: (s) => service(`    security_opt: ["seccomp=${s.json}"]\n`), live: ['v1'], proof: { oracle: true }, refused: /seccomp=.* names a custom seccomp profile, which compose v1 opens/ },
  { name: 'an alias bomb of a few hundred bytes', compose: () => billionLaughs(), live: [], refused: /expands its anchors too far|grows to/ },
  // 2. Legacy links reach other containers.
  { name: 'external_links injects another container\'s environment', compose: () => service('    external_links: ["felhom-controller:ctl"]\n'), live: ['v1', 'v2'], proof: { prints: /external_links:\n\s*- felhom-controller:ctl/ }, refused: /external_links: felhom-controller:ctl links to a container outside the app/ },
  { name: 'the default bridge is shared with containers outside the app', compose: () => service('    network_mode: bridge\n'), live: ['v1', 'v2'], proof: { prints: /network_mode: bridge/ }, refused: /network_mode: bridge puts the container on the engine's default bridge/ },
  // 3. Network options reach the guest's own networking.
  { name: 'driver_opts renames the app\'s bridge onto docker0', compose: () => `${service('    networks: [lan]\n')}networks:\n  lan:\n    driver_opts: { com.docker.network.bridge.name: docker0 }\n`, live: ['v1', 'v2'], proof: { prints: /com\.docker\.network\.bridge\.name: docker0/ }, refused: /networks\.lan\.driver_opts: driver options .* guest's own bridges/ },
  { name: 'a LAN subnet with a fixed address shadows the guest\'s route', compose: () => `${service('    networks:\n      lan: { ipv4_address: 192.168.1.50 }\n')}networks:\n  lan:\n    ipam: { config: [{ subnet: 192.168.1.0/26 }] }\n`, live: ['v1', 'v2'], proof: { prints: /subnet: 192\.168\.1\.0\/26/ }, refused: /networks\.lan\.ipam: a custom address range/ },
  { name: 'a network labelled as compose\'s', compose: () => `${service('    networks: [lan]\n')}networks:\n  lan:\n    labels: { com.docker.compose.project: felhom }\n`, live: ['v1', 'v2'], proof: { prints: /com\.docker\.compose\.project: felhom/ }, refused: /networks\.lan\.labels: com\.docker\.compose\.project/ },
  // 5. Refused for the same reason as keys refused already.
  { name: 'a negative oom_score_adj spares the app and kills the guest', compose: () => service('    oom_score_adj: -1000\n'), live: ['v1', 'v2'], proof: { prints: /oom_score_adj: -1000/ }, refused: /oom_score_adj: -1000 makes the kernel kill the guest's own processes/ },
  { name: 'ulimits.rtprio gives real-time priority without a capability', compose: () => service('    ulimits: { rtprio: 99 }\n'), live: ['v1', 'v2'], proof: { prints: /rtprio: 99/ }, refused: /ulimits\.rtprio: lets the app run with real-time priority/ },
  { name: 'a sysctl of the guest kernel', compose: () => service('    sysctls: { kernel.panic_on_oops: "1" }\n'), live: ['v1', 'v2'], proof: { prints: /kernel\.panic_on_oops/ }, refused: /sysctls: kernel\.panic_on_oops is a setting of the guest's kernel/ },
  // More classes found attacking it again.
  { name: 'an hour-long stop grace period holds every backup hostage', compose: () => service('    stop_grace_period: 2h\n    stop_signal: SIGWINCH\n'), live: ['v1', 'v2'], proof: { prints: /stop_grace_period: 2h/ }, refused: /stop_grace_period: 7200 s is longer than the 300 s/ },
  { name: 'a container name another app or the controller needs', compose: () => service('    container_name: felhom-seed-photos-db\n'), live: ['v1', 'v2'], proof: { prints: /container_name: felhom-seed-photos-db/ }, refused: /container_name: "felhom-seed-photos-db" is a name for the whole Docker engine/ },
  { name: 'a volume sub-path the app can turn into a link', compose: () => `${service('    volumes: [{ type: volume, source: data, target: /conf, volume: { subpath: etc } }]\n')}volumes:\n  data:\n`, live: ['v2'], proof: { prints: /subpath: etc/ }, refused: /volume\.subpath etc/, composeRefuses: ['v1'] },
  { name: 'a secret taken from the controller\'s environment', compose: () => `${service('    secrets: [home]\n')}secrets:\n  home: { environment: HOME }\n`, live: ['v2'], proof: { prints: /environment: HOME/ }, refused: /secrets\.home\.environment: takes its value from the controller's environment/ },
  { name: 'annotations handed to the container runtime', compose: () => service('    annotations: { run.oci.keep_original_groups: "1" }\n'), live: ['v2'], proof: { prints: /run\.oci\.keep_original_groups/ }, refused: /annotations: passes annotations to the container runtime/, composeRefuses: ['v1'] },
  { name: 'labels read from a file the check cannot see', compose: (s) => service(`    label_file: ${s.env}\n`), live: [], refused: /label_file: reads labels from a file/ },
  // Found attacking it again: how compose's output is read back.
  {
    name: 'compose v1 prints the service 1e3 unquoted, which a YAML 1.2 reader merges into the service 1000',
    compose: () => JSON.stringify({ services: { '1000': { image: 'felhom-test/busybox:latest', privileged: true, pid: 'host' }, '1e3': { image: 'felhom-test/busybox:latest' } } }),
    live: ['v1'],
    proof: { prints: /\n  1e3:\n/ },
    refused: /service "1000": privileged/,
  },
  {
    name: 'a version mapping switches compose v1 to the legacy format, where it is a service the check would not see',
    // To v1 the top-level keys are then services: `services` is one, extending `version`.
    compose: (s) => JSON.stringify({ version: { image: 'felhom-test/busybox:latest', env_file: s.env }, services: { extends: { service: 'version' } } }),
    live: ['v1'],
    proof: { leaks: true },
    // With `version` dropped, `services` holds a service `extends` of no known shape: compose says so.
    refused: /compose refused/,
    composeRefuses: ['v1', 'v2'],
  },
  { name: 'ulimits name RTPRIO in capitals, or -1 for unlimited', compose: () => service('    ulimits: { RTPRIO: -1 }\n'), live: ['v1', 'v2'], proof: { prints: /RTPRIO: -1/ }, refused: /ulimits\.rtprio: lets the app run with real-time priority/ },
  { name: 'an image from a registry on the guest\'s loopback makes the engine send requests there', compose: () => service('').replace('felhom-test/busybox:latest', '127.0.0.1:8443/felhom/x:1'), live: ['v1', 'v2'], proof: { prints: /image: 127\.0\.0\.1:8443\/felhom\/x:1/ }, refused: /comes from 127\.0\.0\.1:8443, a registry on the guest or its network/ },
  { name: 'a range of host ports onto one container port books the range', compose: () => service('    ports: ["127.0.0.1:44000-44999:80"]\n'), live: ['v1', 'v2'], proof: { prints: /44000-44999/ }, refused: /book the whole range/ },
  { name: 'every host port at once starts a proxy process per port outside the app\'s limits', compose: () => service('    ports: ["127.0.0.2:1-65535:1-65535"]\n'), live: [], refused: /the app publishes 65535 host ports/ },
  { name: 'a CPU weight above the guest\'s own services', compose: () => service('    cpu_shares: 262144\n'), live: ['v1', 'v2'], proof: { prints: /cpu_shares: 262144/ }, refused: /cpu_shares: 262144 weighs the app above/ },
  { name: 'a memory reservation that protects the app over the guest', compose: () => service('    mem_reservation: 64g\n'), live: ['v1', 'v2'], proof: { prints: /mem_reservation/ }, refused: /mem_reservation: a memory reservation beyond the app's own memory limit/ },
  { name: 'a healthcheck every millisecond runs the engine outside the app\'s limits', compose: () => service('    healthcheck: { test: ["CMD", "true"], interval: 1ms }\n'), live: ['v1', 'v2'], proof: { prints: /interval: 1ms/ }, refused: /healthcheck: an interval under 1 s/ },
  { name: 'thousands of replicas, each with engine processes', compose: () => service('    scale: 5000\n'), live: ['v1', 'v2'], proof: { prints: /scale: 5000/ }, refused: /scale: 5000 containers of one service/ },
  { name: 'an AppArmor profile that confines nothing', compose: () => service('    security_opt: ["apparmor=runc"]\n'), live: ['v1', 'v2'], proof: { prints: /apparmor=runc/ }, refused: /apparmor=runc names an AppArmor profile other than docker-default/ },
  { name: 'an SELinux type of the engine itself', compose: () => service('    security_opt: ["label=type:container_runtime_t"]\n'), live: ['v1', 'v2'], proof: { prints: /container_runtime_t/ }, refused: /runs the container as an unconfined SELinux type/ },
  {
    name: 'a variable around a seccomp option hides from the check the profile compose v1 opens',
    compose: (s) => service(`    security_opt: ["\${NOPE:-seccomp=${s.json}}"]\n`),
    live: ['v1'],
    proof: { oracle: true },
    refused: /security_opt: .* is judged before compose runs, so it must be plain text without variables/,
  },
  {
    name: 'one limit named in two cases: the check saw rtprio 0, the engine applies RTPRIO 99',
    compose: () => service('    ulimits: { rtprio: 0, RTPRIO: 99 }\n'),
    live: ['v1', 'v2'],
    proof: { prints: /RTPRIO: 99/ },
    refused: /named once/,
    unreadableWith: ['v1', 'v2'],
  },
  { name: 'pull_policy always makes compose up download, past FELHOM_PULL=never', compose: () => service('    pull_policy: always\n'), live: ['v1', 'v2'], proof: { prints: /pull_policy: always/ }, refused: /pull_policy: "always" makes compose up download images by itself/ },
  {
    name: 'compose v1 prints the names 1e3 unquoted, which a YAML 1.2 reader takes for 1000 (an image, a container name)',
    compose: () => service('    container_name: "1e3"\n').replace('felhom-test/busybox:latest', '"1e3"'),
    live: ['v1'],
    proof: { prints: /container_name: 1e3\n/ },
    refused: /container_name: "1e3" is a name for the whole Docker engine/,
    unreadableWith: ['v1'],
  },
  {
    name: 'a chain of extends makes compose print megabytes from a file within every size bound',
    compose: () => extendsChain(),
    live: ['v1', 'v2'],
    proof: { printsMoreThan: 5 * 1024 * 1024 },
    refused: /compose printed more than 4 MiB for the compose file|compose needed more than 256 MiB/,
  },
  {
    name: 'many networks drain the engine\'s address pool',
    compose: () => `${service('    networks: [a, b, c, d, e]\n')}networks: { a: {}, b: {}, c: {}, d: {}, e: {} }\n`,
    live: ['v1', 'v2'],
    proof: { prints: /\n  e:/ },
    refused: /networks: the app would create 5 networks/,
  },
];

/** 24 services, each extending the one before and adding 25 KB: compose prints every chain in full (7.5 MB). */
function extendsChain(): string {
  const services = Array.from({ length: 24 }, (_, i) => `  s${i}:\n    image: felhom-test/busybox:latest\n${i > 0 ? `    extends: { service: s${i - 1} }\n` : ''}    environment: { V${i}: *big }`);
  return `x-big: &big "${'x'.repeat(25_000)}"\nservices:\n${services.join('\n')}\n`;
}

/** Nine levels of nine aliases: a few hundred bytes that expand to 387 million strings. */
function billionLaughs(): string {
  const lines = ['x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) lines.push(`x-${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  return `${lines.join('\n')}\nservices:\n  web:\n    image: felhom-test/busybox:latest\n    command: *i\n`;
}

/** compose config run by hand on the hostile text, in a folder of its own, as the controller would. */
function rawConfig(version: ComposeVersion, t: TestContext, text: string): { status: number | null; output: string } {
  const dir = tempDir(t, 'felhom-raw-');
  fs.writeFileSync(path.join(dir, 'compose.yml'), text);
  const [command, ...args] = version.command;
  const result = spawnSync(command!, [...args, '-p', 'raw', '--project-directory', dir, '-f', path.join(dir, 'compose.yml'), 'config'], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: os.homedir() },
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** Shows compose itself falls for the attack: the check the controller makes is not idle. */
function proveLive(version: ComposeVersion, t: TestContext, attack: Attack, secrets: Secrets): void {
  const text = attack.compose(secrets);
  const proof = attack.proof!;
  if ('leaks' in proof) {
    assert.match(rawConfig(version, t, text).output, new RegExp(secrets.marker), `compose ${version.name} reads the file by itself`);
  } else if ('oracle' in proof) {
    const present = rawConfig(version, t, text).output;
    const absent = rawConfig(version, t, text.replace(secrets.json, `${secrets.json}.missing`)).output;
    assert.notEqual(present.replace(/\.missing/g, ''), absent.replace(/\.missing/g, ''), `compose ${version.name} answers differently for a file that is there`);
  } else if ('printsMoreThan' in proof) {
    const { output } = rawConfig(version, t, text);
    assert.ok(output.length > proof.printsMoreThan, `compose ${version.name} printed ${output.length} bytes`);
  } else {
    const { status, output } = rawConfig(version, t, text);
    assert.equal(status, 0, output);
    assert.match(output, proof.prints, `compose ${version.name} would run it`);
  }
}

const dockerCli = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

let appCounter = 0;
const manifestFor = (id: string) => `schema: felhom.app/v1\nid: ${id}\nname: Attack ${id}\nversion: "1"\n`;

async function controllerWith(t: TestContext, version: ComposeVersion) {
  const agent = await devAgent(t);
  const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env: { FELHOM_COMPOSE: version.command.join(' ') } });
  return { c, api: request(c.controller.url), auth: { Authorization: `Bearer ${c.token}` } };
}

describe('the app policy against a hostile app folder', () => {
  for (const which of ['v1', 'v2'] as const) {
    it(`when each attack is tried with compose ${which}, then compose falls for it by hand but the controller refuses it in plan and install, reading and creating nothing`, async (t) => {
      if (!(await requireDocker(t))) return;
      const version = requireComposeVersions(t).find((v) => v.name === which);
      if (!version) return;
      const { c, api, auth } = await controllerWith(t, version);
      const appsDir = path.join(c.dataDir, 'apps');
      const secrets = plantSecrets(t);
      for (const attack of attacks) {
        await t.test(attack.name, async (st) => {
          if (attack.live.includes(which)) proveLive(version, st, attack, secrets);
          const id = `atk${process.pid % 1000}-${++appCounter}`;
          cleanUpProject(st, id);
          const body = { manifest: manifestFor(id), compose: attack.compose(secrets) };
          const started = Date.now();
          const plan = await api.post('/api/v1/apps/plan').set(auth).send(body);
          const install = await api.post('/api/v1/apps').set(auth).send(body);
          if (attack.unreadableWith?.includes(which)) {
            for (const response of [plan, install]) {
              assert.equal(response.status, 400, JSON.stringify(response.body));
              assert.match(response.body.error.message, /^the compose configuration cannot be checked/);
              if (attack.unreadableWith.length === 2) assert.match(response.body.error.message, attack.refused);
            }
          } else if (attack.composeRefuses?.includes(which)) {
            for (const response of [plan, install]) {
              assert.equal(response.status, 400, JSON.stringify(response.body));
              assert.match(response.body.error.message, /^compose refused the compose file/);
            }
          } else {
            assert.equal(plan.status, 200, JSON.stringify(plan.body));
            assert.match((plan.body.problems as string[]).join('\n'), attack.refused);
            assert.equal(install.status, 422, JSON.stringify(install.body));
            assert.match(install.body.error.message, attack.refused);
          }
          assert.ok(Date.now() - started < 20_000, 'refused in bounded time');
          for (const text of [JSON.stringify(plan.body), JSON.stringify(install.body)]) assert.equal(text.includes(secrets.marker), false, 'nothing of the secret was read');
          assert.equal((await api.get(`/api/v1/apps/${id}`).set(auth)).status, 404);
          assert.deepEqual(fs.existsSync(appsDir) ? fs.readdirSync(appsDir) : [], [], 'no app folder and no staging left');
        });
      }
    });
  }
});

describe('what compose itself rejects', () => {
  for (const which of ['v1', 'v2'] as const) {
    it(`when compose ${which} rejects the file, then the answer is a 400 in compose's words, without the controller's folders`, async (t) => {
      if (!(await requireDocker(t))) return;
      const version = requireComposeVersions(t).find((v) => v.name === which);
      if (!version) return;
      const { c, api, auth } = await controllerWith(t, version);
      const body = { manifest: manifestFor(`rej-${which}`), compose: service('    ports: { not: a list }\n') };
      for (const route of ['/api/v1/apps/plan', '/api/v1/apps']) {
        const response = await api.post(route).set(auth).send(body).expect(400);
        assert.equal(response.body.error.code, 'validation');
        assert.match(response.body.error.message, /^compose refused the compose file: .*ports/s);
        assert.equal(response.body.error.message.includes(c.dataDir), false, response.body.error.message);
        assert.doesNotMatch(response.body.error.message, /\.staging-/);
      }
    });
  }
});

describe('a compose that cannot run at all', () => {
  it('when the docker CLI has no such compose plugin, then plan and install answer 502 upstream, never a refusal of the file', async (t) => {
    if (!(await requireDocker(t))) return;
    const { api, auth } = await controllerWith(t, { name: 'v2', command: ['docker', 'felhom-no-such-plugin'] });
    const body = { manifest: manifestFor('norun'), compose: service('') };
    for (const route of ['/api/v1/apps/plan', '/api/v1/apps']) {
      const response = await api.post(route).set(auth).send(body).expect(502);
      assert.equal(response.body.error.code, 'upstream');
    }
  });
});

/** What app stores publish: anchors, merge keys, x- fields, $$, multi-line commands, conditions, hardening, CRLF. */
const storeStyle = (id: string, port: number) =>
  [
    '\uFEFF# A file as app stores publish them.',
    'x-defaults: &defaults',
    '  restart: unless-stopped',
    '  security_opt:',
    '    - no-new-privileges:true',
    '  logging: { driver: json-file, options: { max-size: 10m } }',
    'x-env: &env',
    '  TZ: Europe/Budapest',
    '  GREETING: "Jó napot"',
    'services:',
    '  web:',
    '    <<: *defaults',
    '    image: felhom-test/webapp:policy',
    `    ports: ["127.0.0.1:${port}:8080"]`,
    '    environment:',
    '      <<: *env',
    '      PASSWORD: ${APP_PASSWORD:-change-me}',
    '    depends_on:',
    '      init: { condition: service_completed_successfully }',
    '    healthcheck:',
    '      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"]',
    '      interval: 1s',
    '      retries: 30',
    '    volumes: [data:/srv/data]',
    '    sysctls: { net.ipv4.ip_unprivileged_port_start: "0" }',
    '    ulimits: { nofile: { soft: 4096, hard: 8192 } }',
    '    stop_grace_period: 1m30s',
    `    container_name: ${id}-web`,
    '  init:',
    '    <<: *defaults',
    '    restart: "no"',
    '    image: felhom-test/busybox:latest',
    '    command: >',
    '      sh -c "echo ready-$$HOSTNAME > /srv/data/init.txt',
    '      && echo done"',
    '    volumes: [data:/srv/data, "on:/srv/on"]',
    'volumes:',
    '  data:',
    '  "on":',
    '',
  ].join('\r\n');

describe('real app-store files', () => {
  for (const which of ['v1', 'v2'] as const) {
    it(`when a file uses what app stores publish, then with compose ${which} it plans without problems, installs and runs what it said`, async (t) => {
      if (!(await requireDocker(t))) return;
      const version = requireComposeVersions(t).find((v) => v.name === which);
      if (!version) return;
      buildWebImage('felhom-test/webapp:policy', 'store-style');
      const { c, api, auth } = await controllerWith(t, version);
      const id = `store-${which}-${process.pid % 1000}`;
      cleanUpProject(t, id);
      // A volume named `on` is a boolean to PyYAML unless the files compose reads quote it.
      const body = { manifest: `${manifestFor(id)}volumes:\n  data: { class: hot }\n  "on": { class: hot }\nhealth_timeout_seconds: 60\n`, compose: storeStyle(id, 24000 + (process.pid % 500) + (which === 'v1' ? 0 : 500)) };
      const plan = await api.post('/api/v1/apps/plan').set(auth).send(body).expect(200);
      assert.deepEqual(plan.body.problems, []);
      const started = await api.post('/api/v1/apps').set(auth).send(body).expect(202);
      const operation = await until(async () => {
        const { operation } = (await api.get(`/api/v1/operations/${started.body.operation.id}`).set(auth).expect(200)).body;
        return operation.state === 'running' ? null : operation;
      }, { what: 'the install', timeoutMs: 60_000, intervalMs: 200 });
      assert.equal(operation.state, 'succeeded', JSON.stringify(operation, null, 1));
      const env = JSON.parse(dockerCli('inspect', '-f', '{{json .Config.Env}}', `${id}-web`)) as string[];
      for (const expected of ['TZ=Europe/Budapest', 'GREETING=Jó napot', 'PASSWORD=change-me']) assert.ok(env.includes(expected), `${expected} in ${env.join(' ')}`);
      const stored = fs.readFileSync(path.join(c.dataDir, 'apps', id, 'compose.yml'), 'utf8');
      assert.equal(JSON.parse(stored).services.init.command, 'sh -c "echo ready-$$HOSTNAME > /srv/data/init.txt && echo done"\n', 'compose ran the canonical file, $$ kept');
    });
  }
});

describe('labels an image can carry', () => {
  for (const which of ['v1', 'v2'] as const) {
    it(`when an app's image claims to be the controller and a one-shot step, then with compose ${which} it is an ordinary service: listed, stopped, quiesced, and its id not reserved`, async (t) => {
      if (!(await requireDocker(t))) return;
      const version = requireComposeVersions(t).find((v) => v.name === which);
      if (!version) return;
      const image = 'felhom-test/impostor:policy';
      buildWebImage(image, 'impostor', ['LABEL org.felhom.role=controller org.felhom.one-shot=true org.felhom.app=someone-else']);
      const { api, auth } = await controllerWith(t, version);
      const id = `impostor-${which}-${process.pid % 1000}`;
      cleanUpProject(t, id);
      const body = { manifest: `${manifestFor(id)}volumes:\n  site: { class: hot }\n`, compose: `services:\n  web:\n    image: ${image}\n    init: true\n    volumes: [site:/srv/www]\nvolumes:\n  site:\n` };
      const install = async () => {
        const started = await api.post('/api/v1/apps').set(auth).send(body).expect(202);
        const operation = await until(async () => {
          const { operation } = (await api.get(`/api/v1/operations/${started.body.operation.id}`).set(auth).expect(200)).body;
          return operation.state === 'running' ? null : operation;
        }, { what: 'the install', timeoutMs: 60_000, intervalMs: 200 });
        assert.equal(operation.state, 'succeeded', JSON.stringify(operation, null, 1));
      };
      await install();
      const container = dockerCli('ps', '-q', '--filter', `label=com.docker.compose.project=${id}`);
      assert.equal(dockerCli('inspect', '-f', '{{index .Config.Labels "org.felhom.one-shot"}} {{index .Config.Labels "org.felhom.app"}}', container), `false ${id}`, 'the controller\'s labels win over the image\'s');
      const status = (await api.get(`/api/v1/apps/${id}`).set(auth).expect(200)).body;
      assert.deepEqual(status.services.map((s: { service: string; state: string }) => `${s.service}:${s.state}`), ['web:running'], 'it is in the app\'s status');

      const startedAt = () => dockerCli('inspect', '-f', '{{.State.StartedAt}}', container);
      const before = startedAt();
      const run = (await api.post('/api/v1/backups').set(auth).expect(202)).body.run;
      await until(async () => {
        const { runs } = (await api.get('/api/v1/backups').set(auth).expect(200)).body as { runs: Array<{ id: number; phase: string }> };
        return runs.find((r) => r.id === run.id && r.phase === 'closed') ?? null;
      }, { what: 'the backup run to end', timeoutMs: 60_000, intervalMs: 200 });
      assert.notEqual(startedAt(), before, 'the backup stopped it and started it again');

      await api.post(`/api/v1/apps/${id}/stop`).set(auth).expect(200);
      assert.equal(dockerCli('inspect', '-f', '{{.State.Status}}', container), 'exited', 'stop stops it');
      await api.delete(`/api/v1/apps/${id}`).set(auth).expect(200);
      await install();
    });
  }
});

describe('an app installed before a rule existed', () => {
  it('when it is updated, then it is judged again as the policy stands, refused, and left running', async (t) => {
    if (!(await requireDocker(t))) return;
    const [version] = requireComposeVersions(t);
    if (!version) return;
    const { c, api, auth } = await controllerWith(t, version);
    const id = `older-${process.pid % 1000}`;
    cleanUpProject(t, id);
    const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: [sleep, "3600"]\n`;
    const started = await api.post('/api/v1/apps').set(auth).send({ manifest: manifestFor(id), compose }).expect(202);
    await until(async () => (await api.get(`/api/v1/operations/${started.body.operation.id}`).set(auth)).body.operation.state === 'succeeded', { what: 'the install', timeoutMs: 60_000, intervalMs: 200 });
    // What an older controller accepted: the file as installed, with a key refused today.
    fs.writeFileSync(path.join(c.dataDir, 'apps', id, 'compose.yml'), compose.replace('    init: true\n', '    init: true\n    external_links: ["felhom-controller:ctl"]\n'));
    const container = dockerCli('ps', '-q', '--filter', `label=com.docker.compose.project=${id}`);

    const update = await api.post(`/api/v1/apps/${id}/update`).set(auth).expect(422);
    assert.match(update.body.error.message, /external_links: felhom-controller:ctl links to a container outside the app/);
    assert.equal(dockerCli('inspect', '-f', '{{.State.Status}}', container), 'running', 'the app runs on, untouched');
    const audit = c.controller.db.prepare("SELECT outcome FROM audit_log WHERE action = 'app.update' AND target = ?").pluck().all(id);
    assert.deepEqual(audit, ['refused']);

    // A folder compose can no longer read does not keep the app from being removed.
    fs.writeFileSync(path.join(c.dataDir, 'apps', id, 'compose.yml'), 'version: {}\nservices: 42\n');
    await api.delete(`/api/v1/apps/${id}`).set(auth).expect(200);
    assert.equal(dockerCli('ps', '-aq', '--filter', `label=com.docker.compose.project=${id}`), '', 'its containers are gone');
  });
});

describe('names for the whole engine', () => {
  for (const which of ['v1', 'v2'] as const) {
    it(`when a container the app would create already has its name outside the app, then with compose ${which} the plan refuses it before anything starts`, async (t) => {
      if (!(await requireDocker(t))) return;
      const version = requireComposeVersions(t).find((v) => v.name === which);
      if (!version) return;
      const { api, auth } = await controllerWith(t, version);
      const id = `squat-${which}-${process.pid % 1000}`;
      cleanUpProject(t, id);
      // What app `a` with a service `b-web` makes, as the service `web` of app `a-b` would.
      const squatter = which === 'v2' ? `${id}-web-1` : `${id}_web_1`;
      dockerCli('create', '--name', squatter, 'felhom-test/busybox:latest', 'true');
      t.after(() => void spawnSync('docker', ['rm', '-f', squatter]));
      const plan = await api.post('/api/v1/apps/plan').set(auth).send({ manifest: manifestFor(id), compose: service('') }).expect(200);
      assert.match(plan.body.problems.join('\n'), new RegExp(`container_name: its container would be named "${squatter}", which a container outside the app already has`));
    });
  }
});
