import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkBeforeCompose } from './before-compose.ts';
import { readComposeText } from './compose-text.ts';
import { assertWorded } from '../../testing/worded.ts';

/** Every violation found is worded from the catalogs (assertWorded). */
const check = (text: string) => assertWorded(checkBeforeCompose(readComposeText(text).document));
const keys = (text: string) => check(text).map((v) => `${v.service ?? '-'} ${v.key}`);
const messages = (text: string) => check(text).map((v) => v.message);

describe('files compose config would open', () => {
  it('when env files and secret files are plain paths inside the app folder, then nothing is refused', () => {
    assert.deepEqual(
      keys(`
x-env: &env
  env_file: [./app.env, { path: conf/extra.env, required: false }, .felhom.yml]
services:
  web:
    <<: *env
    image: nginx
    extends: { service: base }
    security_opt: [no-new-privileges:true, seccomp=unconfined, seccomp:default]
  base: { image: nginx }
secrets:
  pw: { file: ./secrets/pw.txt }
configs:
  conf: { content: "inline" }
`),
      [],
    );
  });

  it('when a file path leaves the folder in any spelling compose would follow, then each is refused with its service and key', () => {
    assert.deepEqual(
      keys(`
x-env: &env
  env_file: /etc/shadow
services:
  web:
    <<: *env
    image: nginx
  db:
    image: postgres
    env_file: [{ path: ../../controller.db }, "~/.docker/config.json", "\${HOME}/x", "\${X:-/etc/shadow}", conf/../../x, "a\\\\b"]
secrets:
  s: { file: /var/lib/felhom/bootstrap.json }
configs:
  c: { file: "\${PWD}/../other/secret" }
`),
      ['web env_file', 'db env_file', 'db env_file', 'db env_file', 'db env_file', 'db env_file', 'db env_file', '- secrets.s.file', '- configs.c.file'],
    );
    assert.match(messages('services:\n  a:\n    env_file: /etc/shadow\n')[0]!, /^\/etc\/shadow is not a plain path inside the app folder/);
  });

  it('when a path is not a string (an !!binary value decoded, a number), then it is refused, not skipped', () => {
    assert.deepEqual(keys('services:\n  a:\n    image: x\n    env_file: [42, { path: [a] }]\n'), ['a env_file', 'a env_file']);
  });

  it('when the file reads other compose files (include, extends.file), then it is refused', () => {
    assert.deepEqual(keys('include: [./more.yml]\nservices:\n  web:\n    image: x\n    extends: { file: ./compose.yml, service: base }\n  base: { image: x }\n'), ['- include', 'web extends.file']);
  });

  it('when a service builds, reads labels from a file, names a credential spec or a custom seccomp profile, then compose would open a file: refused', () => {
    assert.deepEqual(
      keys(`services:
  web:
    build: { context: /etc }
    label_file: ./labels
    credential_spec: { file: /etc/x.json }
    security_opt: ["seccomp=/var/lib/felhom/bootstrap.json", "SECCOMP:./profile.json"]
`),
      ['web label_file', 'web build', 'web credential_spec', 'web security_opt', 'web security_opt'],
    );
  });

  it('when a security option holds a variable (compose v1 would open the seccomp profile it expands to), then it is refused', () => {
    assert.deepEqual(keys('services:\n  web:\n    image: x\n    security_opt: ["${NOPE:-seccomp=/etc/shadow}", "no-new-privileges:true", "x seccomp:/etc/passwd"]\n'), ['web security_opt', 'web security_opt']);
  });

  it('when a secret or config takes its value from the environment, then it is refused (it would be the controller\'s)', () => {
    assert.deepEqual(keys('services:\n  a: { image: x }\nsecrets:\n  s: { environment: HOME }\n'), ['- secrets.s.environment']);
  });
});

describe('what compose would have to expand', () => {
  it('when the ports of all services would make more than 64 host ports (ranges, random ones too), then it is refused before compose expands them', () => {
    assert.deepEqual(keys('services:\n  a: { image: x, ports: ["127.0.0.2:1-65535:1-65535"] }\n'), ['- ports']);
    assert.deepEqual(keys('services:\n  a: { image: x, ports: ["1000-1040"] }\n  b: { image: x, ports: [{ target: "2000-2030", published: "3000-3030" }] }\n'), ['- ports']);
    assert.deepEqual(keys('services:\n  a: { image: x, ports: ["127.0.0.1:8080:80", "8443:443", 9000, "127.0.0.1:44000-44999:80"] }\n'), [], 'a range onto one port is one port here (refused later for what it books)');
  });
});

describe('the shape compose v1 and v2 both read as this check does', () => {
  it('when there is no services mapping (compose v1 would read the legacy format), then it is refused', () => {
    assert.deepEqual(keys('web:\n  image: x\n  env_file: /etc/os-release\n'), ['- web', '- services']);
    assert.match(messages('services: [a]\n')[0]!, /must have a "services" mapping .* legacy format/);
  });

  it('when a top-level key is not one compose documents (models, a typo), then it is refused; x- keys and name are fine', () => {
    assert.deepEqual(keys('name: x\nversion: "3.9"\nx-any: { a: 1 }\nmodels: { m: {} }\nservice: {}\nservices:\n  a: { image: x }\n'), ['- models', '- service']);
  });

  it('when services is empty, then it is refused: compose v1 would read the file as the legacy format, x- keys and secrets as services', () => {
    assert.deepEqual(keys('x-probe: { image: busybox, env_file: /etc/x }\nservices: {}\n'), ['- services']);
  });

  it('when the file has more services than an app may run containers, then it is refused before compose expands them', () => {
    const services = Array.from({ length: 33 }, (_, i) => `  s${i}: { image: x }`).join('\n');
    assert.deepEqual(keys(`services:\n${services}\n`), ['- services']);
  });

  it('when a service is not a mapping, then it is refused', () => {
    assert.deepEqual(keys('services:\n  a: nginx\n'), ['a (service)']);
  });
});
