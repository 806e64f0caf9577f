import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../errors.ts';
import { fixturesDir } from '../testing/temp.ts';
import {
  oneShotServices,
  parseVolumeSpec,
  readCompose,
  readMount,
  serviceNames,
  volumeMounts,
  type ComposeModel,
} from './compose-model.ts';
import { parseComposeOutput } from './compose-output.ts';
import { canonicalIp, parsePortSpec, readPort } from './compose-ports.ts';

const normalized = path.join(fixturesDir, 'compose', 'normalized');
const load = (name: string): unknown => parseComposeOutput(fs.readFileSync(path.join(normalized, name), 'utf8'));
const isValidation = (error: unknown) => error instanceof AppError && error.code === 'validation';

describe('reading volume entries', () => {
  it('when a v1 short string names a volume, then it is a named volume with its mode', () => {
    assert.deepEqual(parseVolumeSpec('data:/data:rw'), { type: 'volume', source: 'data', target: '/data', readOnly: false, subpath: null });
    assert.deepEqual(parseVolumeSpec('data:/data:ro'), { type: 'volume', source: 'data', target: '/data', readOnly: true, subpath: null });
    assert.deepEqual(parseVolumeSpec('data:/data:ro,z'), { type: 'volume', source: 'data', target: '/data', readOnly: true, subpath: null });
    assert.deepEqual(parseVolumeSpec('model-cache.v2:/cache'), { type: 'volume', source: 'model-cache.v2', target: '/cache', readOnly: false, subpath: null });
  });

  it('when a short string starts with /, . or ~ or holds a slash, then it is a bind of that path', () => {
    assert.deepEqual(parseVolumeSpec('/abs/host/path:/conf:ro'), { type: 'bind', source: '/abs/host/path', target: '/conf', readOnly: true, subpath: null });
    assert.equal(parseVolumeSpec('./conf:/conf').type, 'bind');
    assert.equal(parseVolumeSpec('~/conf:/conf').type, 'bind');
    assert.equal(parseVolumeSpec('relative/dir:/conf').type, 'bind');
    assert.equal(parseVolumeSpec('/var/run/docker.sock:/var/run/docker.sock:rw').source, '/var/run/docker.sock');
  });

  it('when a short string holds only a target, then it is an anonymous volume', () => {
    assert.deepEqual(parseVolumeSpec('/data'), { type: 'volume', source: null, target: '/data', readOnly: false, subpath: null });
  });

  it('when a long-syntax entry is read (v1 or v2), then type, source, target and read_only are kept', () => {
    assert.deepEqual(readMount({ type: 'volume', source: 'data', target: '/data', volume: { nocopy: true } }), {
      type: 'volume', source: 'data', target: '/data', readOnly: false, subpath: null,
    });
    assert.equal(readMount({ type: 'volume', source: 'data', target: '/d', volume: { subpath: 'sub/dir' } }).subpath, 'sub/dir');
    assert.deepEqual(readMount({ type: 'bind', source: '/srv', target: '/srv', read_only: true, bind: { create_host_path: true } }), {
      type: 'bind', source: '/srv', target: '/srv', readOnly: true, subpath: null,
    });
    assert.deepEqual(readMount({ type: 'tmpfs', target: '/tmp', tmpfs: { size: 1024 } }), { type: 'tmpfs', source: null, target: '/tmp', readOnly: false, subpath: null });
    assert.deepEqual(readMount({ type: 'volume', target: '/anon', volume: {} }), { type: 'volume', source: null, target: '/anon', readOnly: false, subpath: null });
  });

  it('when a long-syntax entry has another type (npipe, image, cluster), then it is "other"', () => {
    assert.equal(readMount({ type: 'npipe', source: '\\\\.\\pipe\\docker_engine', target: '/pipe' }).type, 'other');
    assert.equal(readMount({ type: 'image', source: 'alpine', target: '/alpine' }).type, 'other');
  });

  it('when a long-syntax entry has no type, then it is inferred from its source, failing closed', () => {
    assert.equal(readMount({ source: '/etc', target: '/etc' }).type, 'bind');
    assert.equal(readMount({ source: 'data', target: '/data' }).type, 'volume');
  });

  it('when read_only is anything but false, then the mount is read-only (fail closed)', () => {
    assert.equal(readMount({ type: 'volume', source: 'd', target: '/d', read_only: 'true' }).readOnly, true);
    assert.equal(readMount({ type: 'volume', source: 'd', target: '/d', read_only: 'false' }).readOnly, false);
  });

  it('when an entry has no target or an odd shape, then it is a validation error', () => {
    assert.throws(() => readMount({ type: 'volume', source: 'data' }), isValidation);
    assert.throws(() => readMount(42), isValidation);
    assert.throws(() => parseVolumeSpec('data:'), isValidation);
  });
});

describe('reading port entries', () => {
  it('when v1 prints a string with an address and a protocol, then each part is read', () => {
    assert.deepEqual(parsePortSpec('127.0.0.1:18081:8081/udp'), [{ hostIp: '127.0.0.1', published: 18081, target: 8081, protocol: 'udp', anyOf: null }]);
  });

  it('when v1 prints an IPv6 address without brackets, then the address is everything before the last two parts', () => {
    assert.deepEqual(parsePortSpec('::1:7000:7000/tcp'), [{ hostIp: '::1', published: 7000, target: 7000, protocol: 'tcp', anyOf: null }]);
    assert.deepEqual(parsePortSpec('[::1]:7000:7000'), [{ hostIp: '::1', published: 7000, target: 7000, protocol: 'tcp', anyOf: null }]);
    assert.deepEqual(parsePortSpec('0.0.0.0:8080:8080/tcp'), [{ hostIp: '0.0.0.0', published: 8080, target: 8080, protocol: 'tcp', anyOf: null }]);
  });

  it('when only a target is given (or an empty host port), then the host port is random (null)', () => {
    assert.deepEqual(parsePortSpec('8080'), [{ hostIp: null, published: null, target: 8080, protocol: 'tcp', anyOf: null }]);
    assert.deepEqual(parsePortSpec('127.0.0.1::80'), [{ hostIp: '127.0.0.1', published: null, target: 80, protocol: 'tcp', anyOf: null }]);
    assert.deepEqual(readPort(9000), [{ hostIp: null, published: null, target: 9000, protocol: 'tcp', anyOf: null }]);
  });

  it('when a range is given, then it expands port by port', () => {
    assert.deepEqual(
      parsePortSpec('8000-8002:80-82').map((p) => [p.published, p.target]),
      [[8000, 80], [8001, 81], [8002, 82]],
    );
    assert.deepEqual(
      parsePortSpec('9000-9001/udp').map((p) => [p.published, p.target, p.protocol]),
      [[null, 9000, 'udp'], [null, 9001, 'udp']],
    );
  });

  it('when a published range maps onto one target, then it is one mapping that books the whole range', () => {
    assert.deepEqual(parsePortSpec('8000-8002:80'), [{ hostIp: null, published: 8000, target: 80, protocol: 'tcp', anyOf: { low: 8000, high: 8002 } }]);
  });

  it('when a host address is spelled another way, then it is read as the engine binds it', () => {
    assert.equal(canonicalIp('::ffff:0.0.0.0'), '0.0.0.0');
    assert.equal(canonicalIp('0:0:0:0:0:0:0:0'), '::');
    assert.equal(canonicalIp('[0:0::1]'), '::1');
    assert.equal(canonicalIp('::FFFF:7F00:1'), '127.0.0.1');
    assert.equal(canonicalIp('FD00:0:0::0010'), 'fd00::10');
    assert.equal(parsePortSpec('0::0:9000:80')[0]?.hostIp, '::');
    assert.equal(readPort({ target: 80, published: '9000', host_ip: '::ffff:0.0.0.0' })[0]?.hostIp, '0.0.0.0');
    assert.throws(() => canonicalIp('localhost'), isValidation);
    assert.throws(() => canonicalIp('0'), isValidation);
  });

  it('when v1 prints an object, then published is a number and protocol defaults to tcp', () => {
    assert.deepEqual(readPort({ published: 18080, target: 8080 }), [{ hostIp: null, published: 18080, target: 8080, protocol: 'tcp', anyOf: null }]);
    assert.deepEqual(readPort({ target: 8090 }), [{ hostIp: null, published: null, target: 8090, protocol: 'tcp', anyOf: null }]);
  });

  it('when v2 prints an object, then published as a string, host_ip and protocol are read', () => {
    assert.deepEqual(readPort({ mode: 'ingress', host_ip: '127.0.0.1', target: 80, published: '8081', protocol: 'tcp' }), [
      { hostIp: '127.0.0.1', published: 8081, target: 80, protocol: 'tcp', anyOf: null },
    ]);
    assert.deepEqual(readPort({ mode: 'ingress', target: 80, published: '8000-8001', protocol: 'udp' }).map((p) => [p.published, p.anyOf]), [[8000, { low: 8000, high: 8001 }]]);
    assert.deepEqual(readPort({ mode: 'ingress', target: 80, published: '', protocol: 'tcp' })[0]?.published, null);
  });

  it('when a protocol other than tcp or udp, or a broken port, is given, then it is a validation error', () => {
    assert.throws(() => parsePortSpec('8080:80/sctp'), (e) => isValidation(e) && /sctp/.test((e as Error).message));
    assert.throws(() => parsePortSpec('80a:80'), isValidation);
    assert.throws(() => parsePortSpec('8000-8002:80-81'), isValidation);
    assert.throws(() => readPort({ target: 70000 }), isValidation);
  });
});

describe('reading a whole compose config', () => {
  it('when v1 and v2 print the same app, then the model reads the same mounts and ports from both', () => {
    for (const app of ['nextcloud', 'jellyfin', 'vaultwarden']) {
      const v1 = readCompose(load(`apps/${app}.v1.yml`));
      const v2 = readCompose(load(`apps/${app}.v2.yml`));
      const essentials = (model: ComposeModel) =>
        model.services
          .map((s) => ({ name: s.name, image: s.image, volumes: s.volumes, ports: s.ports, capAdd: s.capAdd, securityOpt: s.securityOpt }))
          .sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(essentials(v1), essentials(v2), app);
      assert.deepEqual(v1.secrets, v2.secrets, app);
    }
  });

  it('when the Jellyfin fixture is read, then udp ports, the long-syntax volume and the tmpfs are all there', () => {
    const [jellyfin] = readCompose(load('apps/jellyfin.v1.yml')).services;
    assert.deepEqual(jellyfin?.ports.map((p) => `${p.published}/${p.protocol}`), ['8096/tcp', '7359/udp', '1900/udp']);
    assert.deepEqual(jellyfin?.volumes.map((v) => [v.type, v.source, v.target]), [
      ['volume', 'config', '/config'],
      ['volume', 'cache', '/cache'],
      ['volume', 'media', '/media'],
      ['tmpfs', null, '/transcode'],
    ]);
  });

  it('when v2 prints a project name and volume names, then they are read; v1 prints none', () => {
    const v2 = readCompose(load('apps/nextcloud.v2.yml'));
    assert.equal(v2.projectName, 'nextcloud');
    assert.deepEqual(v2.volumes.find((v) => v.key === 'db'), { key: 'db', driver: null, driverOpts: null, external: false, name: 'nextcloud_db' });
    assert.deepEqual(v2.networks, [{ key: 'default', driver: null, external: false, name: 'nextcloud_default', labels: {}, options: {} }]);
    const v1 = readCompose(load('apps/nextcloud.v1.yml'));
    assert.equal(v1.projectName, null);
    assert.deepEqual(v1.volumes.find((v) => v.key === 'db'), { key: 'db', driver: null, driverOpts: null, external: false, name: null });
  });

  it('when secrets have a file source, then the absolute path compose printed is kept', () => {
    assert.deepEqual(readCompose(load('apps/nextcloud.v1.yml')).secrets, [
      { key: 'postgres_password', file: '/tmp/felhom-compose-fixtures/nextcloud/secrets/postgres_password.txt', environment: null },
    ]);
  });

  it('when every per-service key the policy judges is present, then each is exposed', () => {
    const printed = {
      image: 'nginx',
      privileged: true,
      cap_add: ['SYS_ADMIN'],
      devices: ['/dev/fuse:/dev/fuse', { source: '/dev/sda', target: '/dev/xvda', permissions: 'rwm' }],
      device_cgroup_rules: ['c 1:3 mr'],
      deploy: { resources: { limits: { memory: '1g' }, reservations: { devices: [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }] } } },
      gpus: 'all',
      network_mode: 'host',
      pid: 'host',
      ipc: 'container:x',
      userns_mode: 'host',
      uts: 'host',
      cgroup: 'host',
      cgroup_parent: 'x',
      security_opt: ['seccomp:unconfined'],
      build: { context: '/srv/app' },
      volumes_from: ['service:db:rw'],
      labels: ['a=b', 'org.felhom.x=1', 'flag'],
      env_file: ['/a.env', { path: '/b.env', required: false }],
      networks: { default: null, back: { aliases: ['x'], ipv4_address: '10.0.0.2' } },
      links: ['db:database'],
      external_links: ['other'],
      sysctls: ['net.core.somaxconn=1024'],
      ulimits: { nofile: { soft: 1, hard: '2' }, rtprio: 99 },
      oom_score_adj: '-5',
      stop_grace_period: '1m30s',
      container_name: 'web-1',
      cpu_shares: '512',
      mem_limit: '512m',
      mem_reservation: 536870912,
      healthcheck: { test: ['CMD', 'true'], interval: '30s', start_interval: '5s' },
      scale: 3,
      post_start: [{ command: ['true'], privileged: true }],
      pre_stop: [{ command: ['true'] }],
      provider: { type: 'model' },
      runtime: 'runc',
      pull_policy: 'missing',
      logging: { driver: 'local', options: { 'max-size': '10m' } },
      depends_on: { migrate: { condition: 'service_completed_successfully' }, db: { condition: 'service_healthy' } },
    };
    const [web] = readCompose({ services: { web: printed, migrate: {}, db: {} } }).services;
    assert.deepEqual({ ...web, volumes: undefined, ports: undefined }, {
      name: 'web',
      image: 'nginx',
      privileged: true,
      capAdd: ['SYS_ADMIN'],
      devices: ['/dev/fuse:/dev/fuse', '/dev/sda:/dev/xvda:rwm'],
      deviceCgroupRules: ['c 1:3 mr'],
      deviceReservations: [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }],
      gpus: 'all',
      networkMode: 'host',
      pid: 'host',
      ipc: 'container:x',
      usernsMode: 'host',
      uts: 'host',
      cgroup: 'host',
      cgroupParent: 'x',
      securityOpt: ['seccomp:unconfined'],
      build: { context: '/srv/app' },
      volumesFrom: ['service:db:rw'],
      labels: { a: 'b', 'org.felhom.x': '1', flag: '' },
      envFile: ['/a.env', '/b.env'],
      networks: [{ network: 'default', options: {} }, { network: 'back', options: { aliases: ['x'], ipv4_address: '10.0.0.2' } }],
      links: ['db:database'],
      externalLinks: ['other'],
      sysctls: { 'net.core.somaxconn': '1024' },
      ulimits: { nofile: { soft: 1, hard: 2 }, rtprio: { soft: 99, hard: 99 } },
      oomScoreAdj: -5,
      stopGraceSeconds: 90,
      containerName: 'web-1',
      cpuShares: 512,
      memLimitBytes: 1024 ** 3,
      memReservationBytes: 512 * 1024 ** 2,
      healthIntervals: [30, 5],
      replicas: 3,
      hooks: [{ key: 'post_start', privileged: true }, { key: 'pre_stop', privileged: false }],
      provider: { type: 'model' },
      keys: Object.keys(printed),
      runtime: 'runc',
      pullPolicy: 'missing',
      loggingDriver: 'local',
      awaitsCompletionOf: ['migrate'],
      volumes: undefined,
      ports: undefined,
    });
  });

  it('when a service sets none of them, then the model says so plainly', () => {
    const [web] = readCompose({ services: { web: { image: 'nginx' } } }).services;
    assert.equal(web?.privileged, false);
    assert.deepEqual([web?.capAdd, web?.devices, web?.volumes, web?.ports, web?.securityOpt], [[], [], [], [], []]);
    assert.deepEqual([web?.networkMode, web?.build, web?.gpus, web?.provider], [null, null, null, null]);
  });

  it('when privileged is anything but false, then it counts as privileged (fail closed)', () => {
    for (const value of [true, 'true', 'yes', 1]) {
      assert.equal(readCompose({ services: { web: { privileged: value } } }).services[0]?.privileged, true, String(value));
    }
    for (const value of [false, 'false', null]) {
      assert.equal(readCompose({ services: { web: { privileged: value } } }).services[0]?.privileged, false, String(value));
    }
  });

  it('when a volume or network uses the old external: { name } form, then it is external with that name', () => {
    const model = readCompose({ services: {}, volumes: { d: { external: { name: 'other' } } }, networks: { n: { external: { name: 'host' } } } });
    assert.deepEqual(model.volumes[0], { key: 'd', driver: null, driverOpts: null, external: true, name: 'other' });
    assert.deepEqual(model.networks[0], { key: 'n', driver: null, external: true, name: 'host', labels: {}, options: {} });
  });

  it('when the document is not a compose config, then it is a validation error', () => {
    assert.throws(() => readCompose(null), isValidation);
    assert.throws(() => readCompose({ version: '3' }), isValidation);
    assert.throws(() => readCompose({ services: { web: 'nginx' } }), isValidation);
    assert.throws(() => readCompose({ services: { web: { cap_add: [{ a: 1 }] } } }), isValidation);
    assert.throws(() => readCompose({ services: { web: { stop_grace_period: '10 minutes' } } }), isValidation);
    assert.throws(() => readCompose({ services: { web: { ulimits: { rtprio: 'high' } } } }), isValidation);
    assert.throws(() => parseComposeOutput('services: [\n'), isValidation);
  });

  it('when asked for service names and named-volume mounts, then they come with the image that seeds them', () => {
    const config = readCompose(load('apps/immich.v1.yml'));
    assert.deepEqual(serviceNames(config), ['database', 'immich-machine-learning', 'immich-server', 'redis']);
    assert.deepEqual(
      volumeMounts(config).map((m) => [m.service, m.volume, m.target]),
      [
        ['database', 'pgdata', '/var/lib/postgresql/data'],
        ['immich-machine-learning', 'model-cache', '/cache'],
        ['immich-server', 'library', '/usr/src/app/upload'],
      ],
    );
    assert.match(volumeMounts(config)[0]!.image, /^docker\.io\/tensorchord\/pgvecto-rs:pg14-v0\.2\.0@sha256:/);
  });
});

describe('one-shot services', () => {
  it('when others depend on a service completing successfully, then it is one-shot; other conditions and list forms are not', () => {
    assert.deepEqual(
      oneShotServices(
        readCompose({
          services: {
            web: { depends_on: { migrate: { condition: 'service_completed_successfully' }, db: { condition: 'service_healthy' } } },
            worker: { depends_on: ['db'] },
            migrate: {},
            db: {},
          },
        }),
      ),
      ['migrate'],
    );
  });
});
