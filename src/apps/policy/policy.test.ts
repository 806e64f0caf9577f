import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../../errors.ts';
import { fixturesDir } from '../../testing/temp.ts';
import { assertWorded } from '../../testing/worded.ts';
import { parseComposeOutput, readCompose, type ComposeModel } from '../../stacks/index.ts';
import { parseManifest, type Manifest } from '../manifest.ts';
import { policyError, type PolicyInput, type PolicyViolation } from './checks.ts';
import { publishedPorts } from './host-ports.ts';
import { checkPolicy } from './policy.ts';
import { ALLOWED_CAPABILITIES } from './privileges.ts';

const composeDir = path.join(fixturesDir, 'compose');
const normalizedDir = path.join(composeDir, 'normalized');
/** Where normalize.sh ran compose, so the folder the absolute paths in the fixtures point into. */
const fixtureAppDir = (project: string) => `/tmp/felhom-compose-fixtures/${project}`;
const load = (file: string): unknown => parseComposeOutput(fs.readFileSync(path.join(normalizedDir, file), 'utf8'));
const loadModel = (file: string): ComposeModel => readCompose(load(file));

const hostileManifest = parseManifest('schema: felhom.app/v1\nid: hostile\nname: Hostile\nversion: "1"\nvolumes:\n  data: { class: hot }\n');

/** Checks the app; every violation found is worded from the catalogs (assertWorded). */
function check(compose: unknown, overrides: Partial<PolicyInput> = {}): PolicyViolation[] {
  return assertWorded(checkPolicy({
    manifest: hostileManifest,
    compose: readCompose(compose),
    appDir: fixtureAppDir('hostile'),
    otherApps: [],
    reservedProjects: ['felhom'],
    ...overrides,
  }));
}

/** A v2-shaped config: one service "web" mounting the declared volume "data", plus overrides. */
function web(service: Record<string, unknown> = {}, top: Record<string, unknown> = {}): unknown {
  const { volumes = [], ...rest } = service as { volumes?: unknown[] };
  return {
    name: 'hostile',
    services: { web: { image: 'nginx:1.27', volumes: [{ type: 'volume', source: 'data', target: '/data', volume: {} }, ...volumes], ...rest } },
    volumes: { data: { name: 'hostile_data' } },
    ...top,
  };
}

const summary = (violations: PolicyViolation[]) => violations.map((v) => `${v.service ?? '-'} ${v.key}`);

function refusedOnce(violations: PolicyViolation[], service: string | null, key: string, message: RegExp): void {
  assert.deepEqual(summary(violations), [`${service ?? '-'} ${key}`], JSON.stringify(violations, null, 1));
  assert.match(violations[0]!.message, message);
}

describe('the policy accepts real app-store stacks', () => {
  const apps = fs.readdirSync(path.join(normalizedDir, 'apps'));

  it('when the fixtures are listed, then there are v1 forms for every app and v2 forms for at least two', () => {
    const ids = fs.readdirSync(path.join(composeDir, 'apps'));
    for (const id of ids) assert.ok(apps.includes(`${id}.v1.yml`), id);
    assert.ok(apps.filter((file) => file.endsWith('.v2.yml')).length >= 2);
  });

  for (const file of apps) {
    it(`when ${file} is checked with its manifest, then there are no violations`, () => {
      const id = file.split('.')[0]!;
      const manifest = parseManifest(fs.readFileSync(path.join(composeDir, 'apps', id, '.felhom.yml'), 'utf8'));
      const violations = checkPolicy({
        manifest,
        compose: loadModel(`apps/${file}`),
        appDir: fixtureAppDir(id),
        otherApps: [{ id: 'other', ports: [{ hostIp: null, published: 9999, protocol: 'tcp' }] }],
        reservedProjects: ['felhom'],
        reservedPorts: [{ published: 443, protocol: 'tcp' }],
      });
      assert.deepEqual(violations, []);
    });
  }

  it('when all four apps are installed side by side, then none of their host ports collide', () => {
    const installed: Array<{ id: string; ports: ReturnType<typeof publishedPorts> }> = [];
    for (const id of ['nextcloud', 'jellyfin', 'vaultwarden', 'immich']) {
      const manifest = parseManifest(fs.readFileSync(path.join(composeDir, 'apps', id, '.felhom.yml'), 'utf8'));
      const compose = loadModel(`apps/${id}.v1.yml`);
      assert.deepEqual(checkPolicy({ manifest, compose, appDir: fixtureAppDir(id), otherApps: installed, reservedProjects: ['felhom'] }), []);
      installed.push({ id, ports: publishedPorts(compose) });
    }
  });
});

/** Each hostile fixture (v1 from real compose, v2 by hand): the one violation it must get. */
const hostile: Record<string, [service: string | null, key: string, message: RegExp]> = {
  privileged: ['web', 'privileged', /privileged container .* root on the guest/],
  'privileged-via-anchor': ['web', 'privileged', /privileged/],
  'cap-add-sys-admin': ['web', 'cap_add', /^SYS_ADMIN is not allowed: only Docker's default capabilities/],
  'cap-add-all': ['web', 'cap_add', /^ALL grants every capability/],
  devices: ['web', 'devices', /\/dev\/sda:\/dev\/sda/],
  'device-cgroup-rules': ['web', 'device_cgroup_rules', /b 8:\* rmw/],
  'gpu-reservation': ['web', 'deploy.resources.reservations.devices', /GPUs/],
  gpus: ['web', 'gpus', /GPUs are host devices/],
  'network-host': ['web', 'network_mode', /^host shares the guest's network stack/],
  'network-host-interpolated': ['web', 'network_mode', /^host shares the guest's network stack/],
  'network-container': ['web', 'network_mode', /^container:felhom-controller joins the network stack of a container outside the app/],
  'pid-host': ['web', 'pid', /^host shares the guest's process namespace/],
  'pid-service-missing': ['web', 'pid', /service:nope names no service of this app/],
  'ipc-container': ['web', 'ipc', /^container:felhom-controller joins the IPC namespace/],
  'userns-host': ['web', 'userns_mode', /^host shares the guest's user namespace/],
  'uts-host': ['web', 'uts', /^host shares the guest's host name/],
  'cgroup-host': ['web', 'cgroup', /^host shares the guest's cgroup namespace/],
  'cgroup-parent': ['web', 'cgroup_parent', /\/system\.slice/],
  'bind-host-path': ['web', 'volumes', /bind-mounts the host path \/etc into \/host-etc/],
  'bind-relative': ['web', 'volumes', /bind-mounts the host path \/tmp\/felhom-compose-fixtures\/hostile\/config into \/config/],
  'bind-root': ['web', 'volumes', /host path \/, which contains the Docker socket/],
  'docker-socket': ['web', 'volumes', /^\/var\/run\/docker\.sock is the Docker socket/],
  'docker-socket-long': ['web', 'volumes', /^\/run\/docker\.sock is the Docker socket/],
  'image-mount': ['web', 'volumes', /\/alpine is neither a named volume nor tmpfs/],
  'undeclared-volume': ['web', 'volumes', /named volume "logs" \(at \/var\/log\/nginx\) is not declared in \.felhom\.yml/],
  'anonymous-volume': ['web', 'volumes', /anonymous volume at \/var\/cache\/nginx .*declare it as a named volume in \.felhom\.yml so it is placed on storage/],
  'volume-driver-opts': [null, 'volumes.data', /driver_opts can bind any host path/],
  'volume-external': [null, 'volumes.data', /^external: /],
  'volume-name': [null, 'volumes.data', /^name: "felhom_db"/],
  'volumes-from-container': ['web', 'volumes_from', /^container:felhom-controller(:rw)? mounts the volumes of a container outside the app/],
  'seccomp-unconfined': ['web', 'security_opt', /^seccomp:unconfined turns off the seccomp filter/],
  'seccomp-equals-unconfined': ['web', 'security_opt', /^seccomp=unconfined/],
  'apparmor-unconfined': ['web', 'security_opt', /^apparmor=unconfined turns off the AppArmor profile/],
  'label-disable': ['web', 'security_opt', /^label:disable turns off SELinux labelling/],
  'label-spc': ['web', 'security_opt', /^label:type:spc_t runs the container as an unconfined SELinux type/],
  'systempaths-unconfined': ['web', 'security_opt', /^systempaths=unconfined unmasks/],
  build: ['web', 'build', /building an image on the guest is not allowed/],
  'secret-outside': [null, 'secrets.shadow', /^file: \/etc\/shadow is outside the app folder/],
  'env-file-outside': ['web', 'env_file', /^\/etc\/felhom\/secrets\.env is outside the app folder/],
  'felhom-label': ['web', 'labels', /^org\.felhom\.role: the org\.felhom\. namespace is reserved for the controller/],
  'network-external-host': [null, 'networks.hostnet', /host network/],
  'network-external': [null, 'networks.controller', /"felhom_default"/],
  'ports-duplicate': ['web', 'ports', /^host port 8080\/tcp is also published by service "admin"/],
  'hook-privileged': ['web', 'post_start', /privileged hook/],
  provider: ['web', 'provider', /runs a program on the host/],
};

describe('the policy refuses each hostile fixture, naming the service and key', () => {
  const files = fs.readdirSync(path.join(normalizedDir, 'hostile'));

  it('when the hostile fixtures are listed, then each one has an expectation and every raw file a v1 form', () => {
    for (const file of files) assert.ok(file.replace(/\.v[12]\.yml$/, '') in hostile, `no expectation for ${file}`);
    for (const raw of fs.readdirSync(path.join(composeDir, 'hostile'))) assert.ok(files.includes(raw.replace(/\.yml$/, '.v1.yml')), raw);
    for (const name of Object.keys(hostile)) assert.ok(files.some((file) => file.startsWith(`${name}.v`)), `no fixture for ${name}`);
  });

  for (const file of files) {
    const [service, key, message] = hostile[file.replace(/\.v[12]\.yml$/, '')] ?? [null, '?', /./];
    it(`when ${file} is checked, then it is refused at ${service === null ? '' : `service "${service}" `}${key}`, () => {
      refusedOnce(check(load(`hostile/${file}`)), service, key, message);
    });
  }
});

describe('privileges', () => {
  it('when cap_add holds Docker default capabilities in any spelling, then they are allowed', () => {
    const caps = [...ALLOWED_CAPABILITIES, 'cap_chown', 'Cap_Net_Bind_Service', 'net_raw'];
    assert.deepEqual(check(web({ cap_add: caps, cap_drop: ['ALL'] })), []);
  });

  it('when cap_add holds capabilities outside the allow-list, then each is refused by name', () => {
    const violations = check(web({ cap_add: ['CHOWN', 'CAP_SYS_ADMIN', 'net_admin', 'SYS_PTRACE', 'sys_module', 'DAC_READ_SEARCH'] }));
    assert.deepEqual(summary(violations), Array(5).fill('web cap_add'));
    assert.deepEqual(violations.map((v) => v.message.split(' ')[0]), ['CAP_SYS_ADMIN', 'net_admin', 'SYS_PTRACE', 'sys_module', 'DAC_READ_SEARCH']);
  });

  it('when cap_add is ALL in any spelling, then it is refused', () => {
    for (const all of ['ALL', 'all', 'CAP_ALL']) refusedOnce(check(web({ cap_add: [all] })), 'web', 'cap_add', /^ALL grants every capability/);
  });

  it('when privileged is false, then nothing is refused', () => {
    assert.deepEqual(check(web({ privileged: false })), []);
  });

  it('when devices come in long syntax, then they are refused too', () => {
    refusedOnce(check(web({ devices: [{ source: '/dev/kvm', target: '/dev/kvm', permissions: 'rwm' }] })), 'web', 'devices', /\/dev\/kvm/);
  });

  it('when a hook is not privileged, then it is allowed', () => {
    assert.deepEqual(check(web({ post_start: [{ command: ['chown', '-R', '1000', '/data'], user: 'root' }], pre_stop: [{ command: ['sync'] }] })), []);
  });
});

describe('security options', () => {
  it('when security_opt only hardens, then it is allowed', () => {
    const hardening = ['no-new-privileges:true', 'no-new-privileges=true', 'no-new-privileges', 'no-new-privileges:false', 'apparmor=docker-default', 'label=level:s0:c100,c200', 'label:level:s0', 'label=type:container_t', 'seccomp=default', 'writable-cgroups=false'];
    assert.deepEqual(check(web({ security_opt: hardening })), []);
  });

  it('when a profile, type or range is named that may confine nothing, then it is refused (an allow-list, not a deny-list)', () => {
    const named = ['apparmor=runc', 'apparmor:my-profile', 'label=type:container_runtime_t', 'label=nested', 'label=level:s0-s0:c0.c1023', 'label:user:system_u', 'label=role:system_r'];
    const violations = check(web({ security_opt: named }));
    assert.deepEqual(summary(violations), Array(named.length).fill('web security_opt'));
    assert.match(violations[0]!.message, /AppArmor 4 ships an unconfined runc profile/);
  });

  it('when security_opt disables confinement, then each one is refused', () => {
    const escapes = ['seccomp:unconfined', 'seccomp=unconfined', 'SECCOMP=Unconfined', 'apparmor:unconfined', 'apparmor=unconfined', 'label:disable', 'label=disable', 'label:type:spc_t', 'label=type:spc_t', 'label=type:unconfined_t', 'systempaths=unconfined', 'systempaths:unconfined', 'writable-cgroups=true'];
    const violations = check(web({ security_opt: escapes }));
    assert.deepEqual(summary(violations), Array(escapes.length).fill('web security_opt'));
    assert.deepEqual(violations.map((v) => v.message.split(' ')[0]), escapes);
  });

  it('when security_opt loads a custom seccomp profile or names an unknown option, then it is refused', () => {
    refusedOnce(check(web({ security_opt: ['seccomp=/etc/allow-all.json'] })), 'web', 'security_opt', /custom seccomp profile/);
    refusedOnce(check(web({ security_opt: ['unmask=ALL'] })), 'web', 'security_opt', /not a security option the policy knows/);
  });
});

describe('namespaces', () => {
  const compose = (service: Record<string, unknown>) => ({
    services: { web: { image: 'nginx', volumes: ['data:/data:rw'], ...service }, db: { image: 'postgres' } },
    volumes: { data: {} },
  });

  it('when a service joins another service of the same app, then it is allowed', () => {
    assert.deepEqual(check(compose({ network_mode: 'service:db', pid: 'service:db', ipc: 'service:db', volumes_from: ['service:db:rw', 'db', 'db:ro'] })), []);
  });

  it('when namespace modes are the private defaults, then they are allowed', () => {
    assert.deepEqual(check(compose({ ipc: 'shareable', pid: 'private', cgroup: 'private', userns_mode: '' })), []);
    assert.deepEqual(check(compose({ network_mode: 'none', ipc: 'private' })), []);
  });

  it('when network_mode, pid or ipc join a container, then each is refused', () => {
    const violations = check(compose({ network_mode: 'container:abc123', pid: 'container:felhom', ipc: 'container:felhom' }));
    assert.deepEqual(summary(violations), ['web network_mode', 'web pid', 'web ipc']);
    for (const violation of violations) assert.match(violation.message, /a container outside the app/);
  });

  it('when any namespace is host, then each is refused', () => {
    const violations = check(compose({ network_mode: 'host', pid: 'host', ipc: 'host', userns_mode: 'host', uts: 'host', cgroup: 'host' }));
    assert.deepEqual(summary(violations), ['web network_mode', 'web pid', 'web ipc', 'web userns_mode', 'web uts', 'web cgroup']);
  });

  it('when network_mode names a network, then it is refused (it would join a network outside the app)', () => {
    refusedOnce(check(compose({ network_mode: 'felhom_default' })), 'web', 'network_mode', /^felhom_default is not allowed: use none or service:<name>/);
  });

  it('when network_mode is the engine\'s default bridge, then it is refused (it is shared with containers outside the app)', () => {
    for (const mode of ['bridge', 'default', 'BRIDGE']) refusedOnce(check(compose({ network_mode: mode })), 'web', 'network_mode', /default bridge, shared with containers outside the app/);
  });

  it('when volumes_from names something that is not a service of the app, then it is refused', () => {
    refusedOnce(check(compose({ volumes_from: ['service:controller:rw'] })), 'web', 'volumes_from', /names no service of this app/);
    refusedOnce(check(compose({ volumes_from: ['felhom-controller'] })), 'web', 'volumes_from', /names no service of this app/);
  });
});

describe('mounts and volumes', () => {
  it('when a service mounts tmpfs or declared volumes read-only, then it is allowed', () => {
    assert.deepEqual(check(web({ volumes: [{ type: 'tmpfs', target: '/tmp' }, { type: 'volume', source: 'data', target: '/ro', read_only: true }], tmpfs: ['/run'] })), []);
  });

  it('when a bind mounts any host path, then the message names the path', () => {
    const violations = check(web({ volumes: ['/srv/photos:/photos:ro', '/home/user/.ssh:/ssh'] }));
    assert.deepEqual(summary(violations), ['web volumes', 'web volumes']);
    assert.match(violations[0]!.message, /\/srv\/photos/);
    assert.match(violations[1]!.message, /\/home\/user\/\.ssh/);
  });

  it('when a bind mounts a docker.sock anywhere, or a folder holding the socket, then the message is about the Docker socket', () => {
    for (const source of ['/var/run/docker.sock', '/run/docker.sock', '/srv/other/docker.sock', '/run/user/1000/docker.sock', '/var/run/docker.sock/']) {
      refusedOnce(check(web({ volumes: [`${source}:/sock`] })), 'web', 'volumes', /is the Docker socket: whoever holds it can start any container/);
    }
    for (const source of ['/', '/var', '/var/run', '/run']) {
      refusedOnce(check(web({ volumes: [`${source}:/host`] })), 'web', 'volumes', /which contains the Docker socket/);
    }
  });

  it('when a bind points inside the app folder, then it is still refused (only declared volumes are placed on storage)', () => {
    refusedOnce(check(web({ volumes: [`${fixtureAppDir('hostile')}/config.yml:/etc/app.yml:ro`] })), 'web', 'volumes', /bind-mounts the host path/);
  });

  it('when the manifest declares a volume that no service mounts, then it is named as a likely typo', () => {
    const manifest = parseManifest('schema: felhom.app/v1\nid: hostile\nname: H\nversion: "1"\nvolumes:\n  data: { class: hot }\n  medai: { class: bulk, backup: own }\n');
    refusedOnce(check(web(), { manifest }), null, 'volumes.medai', /declared in \.felhom\.yml but no service mounts it \(a typo\?\)/);
  });

  it('when a volume is mounted by sub-path, then it is refused (the app can turn the path into a link elsewhere)', () => {
    refusedOnce(check(web({ volumes: [{ type: 'volume', source: 'data', target: '/conf', volume: { subpath: 'etc' } }] })), 'web', 'volumes', /volume\.subpath etc/);
  });

  it('when a service mounts an undeclared named volume, then the message says to declare it', () => {
    refusedOnce(check(web({ volumes: ['media:/media'] }, { volumes: { data: {}, media: {} } })), 'web', 'volumes', /"media" .* declare it under volumes with class hot or bulk/);
  });

  it('when a volume definition says driver: local and nothing else, then it is allowed', () => {
    assert.deepEqual(check(web({}, { volumes: { data: { driver: 'local' } } })), []);
  });

  it('when a volume definition names another driver, then it is refused', () => {
    refusedOnce(check(web({}, { volumes: { data: { driver: 'rclone' } } })), null, 'volumes.data', /^driver: "rclone" is not allowed/);
  });

  it('when v2 prints the default name <project>_<volume>, then it is allowed; any other name is refused', () => {
    assert.deepEqual(check(web({}, { volumes: { data: { name: 'hostile_data' } } })), []);
    refusedOnce(check(web({}, { volumes: { data: { name: 'nextcloud_data' } } })), null, 'volumes.data', /^name: "nextcloud_data"/);
  });

  it('when a secret or config file is inside the app folder, then it is allowed; outside, it is refused', () => {
    const inside = { secrets: { pw: { file: `${fixtureAppDir('hostile')}/secrets/pw.txt` } }, configs: { conf: { file: `${fixtureAppDir('hostile')}/nginx.conf` } } };
    assert.deepEqual(check(web({}, inside)), []);
    const outside = { configs: { conf: { file: `${fixtureAppDir('hostile')}/../nextcloud/secrets/postgres_password.txt` } } };
    refusedOnce(check(web({}, outside)), null, 'configs.conf', /outside the app folder/);
    refusedOnce(check(web({}, { secrets: { env: { environment: 'HOME' } } })), null, 'secrets.env', /controller's environment/);
  });

  it('when an env file is inside the app folder, then it is allowed', () => {
    assert.deepEqual(check(web({ env_file: [{ path: `${fixtureAppDir('hostile')}/app.env`, required: true }] })), []);
  });
});

describe('networks', () => {
  it('when an app defines its own networks, then it is allowed', () => {
    const networks = { default: { name: 'hostile_default' }, back: { driver: 'bridge', internal: true, name: 'hostile_back' } };
    assert.deepEqual(check(web({ networks: { default: null, back: null } }, { networks })), []);
  });

  it('when a network definition names another project\'s network or the host driver, then it is refused', () => {
    refusedOnce(check(web({}, { networks: { default: { name: 'felhom_default' } } })), null, 'networks.default', /^name: "felhom_default"/);
    refusedOnce(check(web({}, { networks: { h: { driver: 'host' } } })), null, 'networks.h', /host network/);
  });
});

describe('reaching other containers', () => {
  const compose = (service: Record<string, unknown>) => ({
    services: { web: { image: 'nginx', volumes: ['data:/data:rw'], ...service }, db: { image: 'postgres' } },
    volumes: { data: {} },
  });

  it('when links name services of the app, with or without an alias, then they are allowed', () => {
    assert.deepEqual(check(compose({ links: ['db', 'db:database'] })), []);
  });

  it('when external_links or links reach a container outside the app, then each is refused (Docker would copy its environment in)', () => {
    const violations = check(compose({ external_links: ['felhom-controller:ctl'], links: ['other_postgres_1:db'] }));
    assert.deepEqual(summary(violations), ['web external_links', 'web links']);
    assert.match(violations[0]!.message, /copies that container's environment \(its passwords\)/);
  });

  it('when container_name starts with the app id, then it is allowed; another name is refused', () => {
    assert.deepEqual(check(compose({ container_name: 'hostile-web' })), []);
    assert.deepEqual(check(compose({ container_name: 'hostile' })), []);
    refusedOnce(check(compose({ container_name: 'felhom-seed-photos-db' })), 'web', 'container_name', /name for the whole Docker engine/);
  });
});

describe('networks reaching the guest\'s own networking', () => {
  const withNetwork = (definition: Record<string, unknown>, attachment: Record<string, unknown> | null = null) =>
    web({ networks: { lan: attachment } }, { networks: { lan: { name: 'hostile_lan', ...definition } } });

  it('when a network is internal, attachable or has IPv6 with the engine\'s addresses, then it is allowed', () => {
    assert.deepEqual(check(withNetwork({ driver: 'bridge', internal: true, attachable: true, enable_ipv6: true, labels: { 'traefik.docker.network': 'x' } }, { aliases: ['w'], priority: 10 })), []);
    assert.deepEqual(check(withNetwork({ ipam: { driver: 'default' } })), [], 'the default address manager is what the engine does anyway');
  });

  it('when driver_opts would rename the bridge onto docker0 or a LAN bridge, then it is refused', () => {
    refusedOnce(check(withNetwork({ driver_opts: { 'com.docker.network.bridge.name': 'docker0' } })), null, 'networks.lan.driver_opts', /one of the guest's own bridges/);
  });

  it('when an address range or a fixed address is set (v1 and v2 shapes), then each is refused', () => {
    const ipam = { driver: 'default', config: [{ subnet: '192.168.1.0/25', gateway: '192.168.1.1' }] };
    const violations = check(withNetwork({ ipam }, { ipv4_address: '192.168.1.10', ipv6_address: 'fd00::10', link_local_ips: ['169.254.1.1'] }));
    assert.deepEqual(summary(violations), ['- networks.lan.ipam', 'web networks.lan.ipv4_address', 'web networks.lan.ipv6_address', 'web networks.lan.link_local_ips']);
    assert.match(violations[0]!.message, /overlap the guest's routes to its LAN/);
    refusedOnce(check(withNetwork({ ipam: { options: { 'com.docker.network.foo': 'x' } } })), null, 'networks.lan.ipam', /custom address range/);
  });

  it('when a network or an attachment sets an option the policy does not know, or another driver, then it is refused', () => {
    const violations = check(withNetwork({ driver: 'macvlan', config_from: 'x' }, { driver_opts: { 'com.docker.network.endpoint.sysctls': 'x' } }));
    assert.deepEqual(summary(violations), ['- networks.lan.driver', '- networks.lan.config_from', 'web networks.lan.driver_opts']);
  });

  it('when a network carries the controller\'s or compose\'s labels, then they are refused', () => {
    refusedOnce(check(withNetwork({ labels: { 'com.docker.compose.project': 'felhom' } })), null, 'networks.lan.labels', /reserved for compose/);
  });
});

describe('limits that decide who wins when the guest runs short', () => {
  it('when sysctls stay in the container\'s own namespaces (map or list form), then they are allowed', () => {
    assert.deepEqual(check(web({ sysctls: { 'net.core.somaxconn': '1024', 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '100' } })), []);
    assert.deepEqual(check(web({ sysctls: ['net.ipv4.ping_group_range=0 2147483647'] })), []);
  });

  it('when a sysctl is the guest kernel\'s, then it is refused', () => {
    const violations = check(web({ sysctls: { 'kernel.panic': '1', 'vm.overcommit_memory': '1', 'kernel.shm_next_id': '1' } }));
    assert.deepEqual(summary(violations), ['web sysctls', 'web sysctls', 'web sysctls']);
  });

  it('when ulimits raise rtprio, then it is refused like cpu_rt_*; other ulimits are allowed', () => {
    refusedOnce(check(web({ ulimits: { rtprio: 99, nofile: { soft: 1024, hard: 65536 } } })), 'web', 'ulimits.rtprio', /real-time priority/);
    refusedOnce(check(web({ ulimits: { rtprio: { soft: 0, hard: '50' } } })), 'web', 'ulimits.rtprio', /real-time/);
    assert.deepEqual(check(web({ ulimits: { rtprio: 0, memlock: -1, nproc: 65535 } })), []);
  });

  it('when oom_score_adj is negative, then it is refused like oom_kill_disable; zero or more is allowed', () => {
    refusedOnce(check(web({ oom_score_adj: -500 })), 'web', 'oom_score_adj', /kill the guest's own processes before the app/);
    refusedOnce(check(web({ oom_score_adj: '-1000' })), 'web', 'oom_score_adj', /-1000/);
    assert.deepEqual(check(web({ oom_score_adj: 500 })), []);
  });

  it('when stop_grace_period is longer than 5 minutes (v1 prints 1h30m, v2 1h30m0s), then it is refused', () => {
    for (const period of ['1h30m', '1h30m0s', '301s', '5m0.5s']) refusedOnce(check(web({ stop_grace_period: period })), 'web', 'stop_grace_period', /backup stops every app/);
    for (const period of ['2m', '2m0s', '300s', '1m30s', '500ms']) assert.deepEqual(check(web({ stop_grace_period: period })), [], period);
    assert.throws(() => check(web({ stop_grace_period: 'forever' })), (e: unknown) => e instanceof AppError && e.code === 'validation');
  });
});

describe('what an app may take from the engine and the guest', () => {
  it('when ulimits name rtprio or nice in any case, or as unlimited (-1), then they are refused', () => {
    for (const ulimits of [{ RTPRIO: 99 }, { rtprio: -1 }, { rtprio: { soft: 0, hard: -1 } }]) refusedOnce(check(web({ ulimits })), 'web', 'ulimits.rtprio', /real-time priority/);
    for (const ulimits of [{ nice: 40 }, { NICE: -1 }]) refusedOnce(check(web({ ulimits })), 'web', 'ulimits.nice', /raise its priority/);
    assert.deepEqual(check(web({ ulimits: { nice: 20, rtprio: { soft: 0, hard: 0 }, NOFILE: 1024 } })), []);
  });

  it('when ulimits name one limit twice in different cases, then the file cannot be checked (the engine applies the last of both)', () => {
    assert.throws(() => check(web({ ulimits: { rtprio: 0, RTPRIO: 99 } })), (e: unknown) => e instanceof AppError && e.code === 'validation' && /named once/.test(e.message));
  });

  it('when pull_policy would make compose up download by itself, then it is refused; missing and never are fine', () => {
    for (const policy of ['always', 'daily', 'build', 'every_12h']) refusedOnce(check(web({ pull_policy: policy })), 'web', 'pull_policy', /download images by itself/);
    for (const policy of ['missing', 'never', 'if_not_present']) assert.deepEqual(check(web({ pull_policy: policy })), [], policy);
  });

  it('when a name or mode is printed as a number (compose v1 leaves 1e3 unquoted), then the file cannot be checked', () => {
    for (const service of [{ image: 1000 }, { image: 'x', container_name: 1000 }, { image: 'x', network_mode: 1000 }]) {
      assert.throws(() => check({ name: 'hostile', services: { web: service } }), (e: unknown) => e instanceof AppError && e.code === 'validation' && /is not text/.test(e.message), JSON.stringify(service));
    }
  });

  it('when cpu_shares weighs the app above the default, or is negative (v2 prints an overflow so), then it is refused', () => {
    refusedOnce(check(web({ cpu_shares: -9223372036854775808 })), 'web', 'cpu_shares', /is not a CPU weight/);
    refusedOnce(check(web({ cpu_shares: 262144 })), 'web', 'cpu_shares', /262144 weighs the app above the guest's own services/);
    assert.deepEqual(check(web({ cpu_shares: 512, cpus: 2 })), []);
  });

  it('when a memory reservation exceeds the app\'s own limit or there is none (v1 sizes and v2 bytes), then it is refused', () => {
    refusedOnce(check(web({ mem_reservation: '64g' })), 'web', 'mem_reservation', /take memory from the guest's own processes/);
    refusedOnce(check(web({ deploy: { resources: { reservations: { memory: '68719476736' } } } })), 'web', 'mem_reservation', /set mem_limit/);
    refusedOnce(check(web({ mem_limit: '512m', mem_reservation: '1g' })), 'web', 'mem_reservation', /reserve at most that/);
    assert.deepEqual(check(web({ mem_limit: '1g', mem_reservation: '256m' })), []);
    assert.deepEqual(check(web({ deploy: { resources: { limits: { memory: '1073741824' }, reservations: { memory: '536870912' } } } })), []);
  });

  it('when a healthcheck runs more often than every second, then it is refused', () => {
    refusedOnce(check(web({ healthcheck: { test: ['CMD', 'true'], interval: '1ms' } })), 'web', 'healthcheck', /under 1 s/);
    refusedOnce(check(web({ healthcheck: { test: ['CMD', 'true'], start_interval: '500ms' } })), 'web', 'healthcheck', /under 1 s/);
    assert.deepEqual(check(web({ healthcheck: { test: ['CMD', 'true'], interval: '1s', start_interval: '2s', disable: false } })), []);
    assert.deepEqual(check(web({ healthcheck: { disable: true, interval: '1ms' } })), [], 'a disabled check runs nothing');
  });

  it('when a service asks for many containers (scale or replicas), then it is refused', () => {
    assert.deepEqual(summary(check(web({ scale: 5000 }))), ['web scale', '- services'], 'too many for a service, and for the app');
    refusedOnce(check(web({ deploy: { replicas: 11 } })), 'web', 'scale', /at most 10/);
    assert.deepEqual(check(web({ scale: 3 })), []);
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`s${i}`, { image: 'x', scale: 7 }]));
    refusedOnce(check({ name: 'hostile', services: { ...many, web: { image: 'x', volumes: ['data:/data'] } }, volumes: { data: {} } }), null, 'services', /the app would run 36 containers; .* at most 32/);
  });

  it('when the app would create more than four networks, then it is refused', () => {
    const networks = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`n${i}`, { name: `hostile_n${i}` }]));
    refusedOnce(check(web({ networks: Object.keys(networks) }, { networks })), null, 'networks', /5 networks; .* at most 4/);
  });

  it('when a container the app would create has the name of a container outside it (v1 or v2 naming, container_name), then it is refused', () => {
    const svc = (name: string, extra: Record<string, unknown> = {}) => ({ name: 'hostile', services: { [name]: { image: 'x', volumes: ['data:/data'], ...extra } }, volumes: { data: {} } });
    refusedOnce(check(svc('web'), { takenContainerNames: ['hostile-web-1'] }), 'web', 'container_name', /"hostile-web-1", which a container outside the app already has/);
    refusedOnce(check(svc('web'), { takenContainerNames: ['/hostile_web_1'] }), 'web', 'container_name', /hostile_web_1/);
    refusedOnce(check(svc('web', { scale: 3 }), { takenContainerNames: ['hostile-web-3'] }), 'web', 'container_name', /hostile-web-3/);
    refusedOnce(check(svc('web', { container_name: 'hostile-site' }), { takenContainerNames: ['hostile-site'] }), 'web', 'container_name', /hostile-site/);
    assert.deepEqual(check(svc('web'), { takenContainerNames: ['hostile-web', 'other-web-1'] }), []);
  });

  it('when an image comes from a registry on the guest or its network, then it is refused unless the operator allows that registry', () => {
    for (const image of ['127.0.0.1:5000/x:1', 'localhost/x', 'localhost:5000/x', '[::1]:5000/x', '10.0.0.5/x', 'nas:5000/x', 'nas.local/x', 'registry.internal:443/x', 'box.home.arpa/x']) {
      refusedOnce(check(web({ image })), 'web', 'image', /a registry on the guest or its network/);
    }
    for (const image of ['nginx:1.27', 'library/nginx', 'ghcr.io/immich-app/immich-server:v1', 'lscr.io/linuxserver/jellyfin', 'registry.example.com:5000/app@sha256:' + 'a'.repeat(64)]) {
      assert.deepEqual(check(web({ image })), [], image);
    }
    assert.deepEqual(check(web({ image: '127.0.0.1:5000/x:1' }), { allowedRegistries: ['127.0.0.1:5000'] }), []);
  });
});

describe('labels', () => {
  it('when labels use other namespaces, then they are allowed', () => {
    assert.deepEqual(check(web({ labels: { 'traefik.enable': 'true', 'org.opencontainers.image.title': 'x', 'felhom.note': 'not reserved' } })), []);
  });

  it('when labels use the controller\'s or compose\'s namespace, then each is refused', () => {
    const violations = check(web({ labels: ['org.felhom.app=other', 'ORG.FELHOM.role=controller', 'com.docker.compose.project=felhom'] }));
    assert.deepEqual(summary(violations), ['web labels', 'web labels', 'web labels']);
    assert.match(violations[2]!.message, /reserved for compose/);
  });
});

describe('identity and the web entry', () => {
  it('when the app id is a reserved project name, then it is refused', () => {
    refusedOnce(check(web(), { reservedProjects: ['felhom', 'HOSTILE'] }), null, 'id', /compose project the controller reserves/);
  });

  it('when another installed app has the same id, then it is refused', () => {
    refusedOnce(check(web(), { otherApps: [{ id: 'hostile', ports: [] }] }), null, 'id', /already installed/);
  });

  it('when the compose project name differs from the app id, then it is refused', () => {
    refusedOnce(check(web({}, { name: 'felhom' })), null, 'name', /not the app id "hostile"/);
  });

  it('when web.service is not a service of the compose file, then it is refused; its port is not checked', () => {
    const withWeb = (service: string): Manifest => ({ ...hostileManifest, web: { service, port: 12345 } });
    assert.deepEqual(check(web(), { manifest: withWeb('web') }), []);
    refusedOnce(check(web(), { manifest: withWeb('frontend') }), null, 'web.service', /"frontend" is not a service of the compose file \(its services: "web"\)/);
  });
});

describe('host ports', () => {
  const ports = (list: unknown[]) => web({ ports: list });

  it('when ports are published that nobody else uses, then they are allowed', () => {
    const other = [{ id: 'files', ports: [{ hostIp: null, published: 8080, protocol: 'tcp' as const }] }];
    assert.deepEqual(check(ports(['8081:80', '8080:80/udp', '8080']), { otherApps: other, reservedPorts: [{ published: 443, protocol: 'tcp' }] }), []);
  });

  it('when another app publishes the same port and protocol, then it is refused naming that app', () => {
    const other = [{ id: 'files', ports: [{ hostIp: null, published: 8080, protocol: 'tcp' as const }] }];
    refusedOnce(check(ports([{ target: 80, published: '8080', protocol: 'tcp' }]), { otherApps: other }), 'web', 'ports', /^host port 8080\/tcp is already used by the app "files"/);
  });

  it('when addresses differ, then only wildcards overlap everything', () => {
    const other = (hostIp: string | null) => [{ id: 'files', ports: [{ hostIp, published: 8080, protocol: 'tcp' as const }] }];
    assert.deepEqual(check(ports(['127.0.0.1:8080:80']), { otherApps: other('127.0.0.2') }), []);
    assert.deepEqual(check(ports(['[::1]:8080:80']), { otherApps: other('127.0.0.1') }), []);
    for (const ip of [null, '0.0.0.0', '::']) {
      refusedOnce(check(ports(['127.0.0.1:8080:80']), { otherApps: other(ip) }), 'web', 'ports', /already used by the app "files"/);
      refusedOnce(check(ports([{ target: 80, published: 8080, host_ip: ip ?? undefined }]), { otherApps: other('192.168.1.5') }), 'web', 'ports', /already used/);
    }
    refusedOnce(check(ports(['127.0.0.1:8080:80']), { otherApps: other('127.0.0.1') }), 'web', 'ports', /^host port 127\.0\.0\.1:8080\/tcp is already used/);
  });

  it('when a reserved port is published on any address, then it is refused', () => {
    refusedOnce(check(ports(['127.0.0.1:443:443']), { reservedPorts: [{ published: 443, protocol: 'tcp' }] }), 'web', 'ports', /is reserved for the controller or the system/);
    assert.deepEqual(check(ports(['443:443/udp']), { reservedPorts: [{ published: 443, protocol: 'tcp' }] }), []);
  });

  it('when an address is spelled another way, then it overlaps as the engine binds it', () => {
    const other = (hostIp: string) => [{ id: 'files', ports: [{ hostIp, published: 9000, protocol: 'tcp' as const }] }];
    for (const wildcard of ['::ffff:0.0.0.0', '0:0:0:0:0:0:0:0']) {
      refusedOnce(check(ports(['127.0.0.1:9000:80']), { otherApps: other(wildcard) }), 'web', 'ports', /already used by the app "files"/);
      refusedOnce(check(ports([{ target: 80, published: '9000', host_ip: wildcard }]), { otherApps: other('127.0.0.1') }), 'web', 'ports', /already used/);
    }
    refusedOnce(check(ports(['[::ffff:127.0.0.1]:9000:80']), { otherApps: other('127.0.0.1') }), 'web', 'ports', /already used/);
  });

  it('when a range of host ports maps onto one container port, then it is refused (it books the whole range)', () => {
    refusedOnce(check(ports(['127.0.0.1:44000-44999:80'])), 'web', 'ports', /44000-44999 onto the one container port 80 book the whole range/);
  });

  it('when an app publishes more than 64 host ports, then it is refused at once, however large the range', () => {
    refusedOnce(check(ports(['8000-8064:8000-8064'])), null, 'ports', /65 host ports; .* at most 64/);
    const started = Date.now();
    const huge = ['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((ip) => `${ip}:1-65535:1-65535`);
    refusedOnce(check(ports(huge)), null, 'ports', /196605 host ports/);
    assert.ok(Date.now() - started < 2_000, `checked in ${Date.now() - started} ms`);
  });

  it('when a range overlaps another app\'s port, then it is refused', () => {
    const other = [{ id: 'files', ports: [{ hostIp: null, published: 8003, protocol: 'tcp' as const }] }];
    refusedOnce(check(ports(['8000-8005:80-85']), { otherApps: other }), 'web', 'ports', /8003\/tcp is already used/);
  });

  it('when one service publishes the same host port twice, then the second is refused', () => {
    refusedOnce(check(ports(['8080:80', '0.0.0.0:8080:81'])), 'web', 'ports', /^host port 0\.0\.0\.0:8080\/tcp is also published by this service/);
  });

  it('when an app\'s published ports are recorded, then random host ports are left out and ranges expanded', () => {
    assert.deepEqual(publishedPorts(loadModel('apps/vaultwarden.v2.yml')), [{ service: 'vaultwarden', hostIp: '127.0.0.1', published: 8081, protocol: 'tcp' }]);
    assert.deepEqual(publishedPorts(readCompose(ports(['8090', '7000-7001:7000-7001/udp']))), [
      { service: 'web', hostIp: null, published: 7000, protocol: 'udp' },
      { service: 'web', hostIp: null, published: 7001, protocol: 'udp' },
    ]);
    assert.deepEqual(publishedPorts(loadModel('apps/jellyfin.v1.yml')), publishedPorts(loadModel('apps/jellyfin.v2.yml')));
  });
});

describe('the policy error', () => {
  it('when violations are turned into an error, then one policy AppError lists each with its service and key', () => {
    const violations = check(web({ privileged: true, cap_add: ['SYS_ADMIN'] }, { volumes: { data: { external: true } } }));
    const error = policyError(violations);
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'policy');
    assert.equal(error.httpStatus, 422);
    const lines = error.message.split('\n');
    assert.match(lines[0]!, /breaks 3 rules of the app policy \(the controller holds the Docker socket, which is root on the guest/);
    assert.match(lines[1]!, /^- service "web": privileged: /);
    assert.match(lines[2]!, /^- service "web": cap_add: SYS_ADMIN/);
    assert.match(lines[3]!, /^- volumes\.data: external: /);
    assert.deepEqual(error.details, { violations });
  });

  it('when there is one violation, then the message says "a rule"', () => {
    assert.match(policyError(check(web({ privileged: true }))).message, /breaks a rule of the app policy/);
  });

  it('when many escapes are combined in one service, then every one of them is reported', () => {
    const violations = check(
      web({ privileged: true, network_mode: 'host', pid: 'host', devices: ['/dev/mem'], build: '.', volumes: ['/var/run/docker.sock:/s', '/cache'], security_opt: ['seccomp:unconfined'] }),
    );
    assert.deepEqual(summary(violations), ['web privileged', 'web devices', 'web build', 'web security_opt', 'web network_mode', 'web pid', 'web volumes', 'web volumes']);
  });

  it('when the compose config cannot be read, then reading it for the policy throws a validation error rather than passing it', () => {
    assert.throws(() => check({ services: { web: { volumes: [{ type: 'bind', source: '/' }] } } }), (e) => e instanceof AppError && e.code === 'validation');
  });
});
