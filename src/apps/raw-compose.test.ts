import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../errors.ts';
import { checkRawCompose } from './raw-compose.ts';

const appDir = '/data/apps/.staging-photos-x';
const keys = (text: string) => checkRawCompose(text, appDir).map((v) => `${v.service ?? '-'} ${v.key}`);

describe('files compose config would read', () => {
  it('when env_file, label_file, extends and include stay in the app folder, then nothing is refused', () => {
    assert.deepEqual(
      keys(`
x-env: &env
  env_file: [./app.env, { path: conf/extra.env, required: false }]
include: [./more.yml, { path: [sub/a.yml], env_file: ./x.env }]
services:
  web:
    <<: *env
    image: nginx
    label_file: ./labels
    extends: { file: ./base.yml, service: base }
`),
      [],
    );
  });

  it('when any of them points outside the app folder, then each is refused with its service and key, merge keys included', () => {
    assert.deepEqual(
      keys(`
x-env: &env
  env_file: /etc/shadow
include:
  - ../../controller.db
  - { path: ok.yml, env_file: /root/.env, project_directory: /etc }
services:
  web:
    <<: *env
    image: nginx
    label_file: ../../../etc/passwd
  db:
    image: postgres
    env_file: [{ path: /var/lib/felhom/bootstrap.json }]
    extends: { file: /etc/felhom/bootstrap.json, service: x }
`),
      [
        '- include',
        '- include.env_file',
        '- include.project_directory',
        'web env_file',
        'web label_file',
        'db env_file',
        'db extends.file',
      ],
    );
    assert.match(checkRawCompose('services:\n  a:\n    env_file: /etc/shadow\n', appDir)[0]!.message, /reads \/etc\/shadow, outside the app folder/);
  });

  it('when the text is not a YAML mapping, then it is a validation error, not a crash', () => {
    assert.throws(() => checkRawCompose('services: [unclosed', appDir), (e: unknown) => e instanceof AppError && e.code === 'validation');
    assert.throws(() => checkRawCompose('- just\n- a list\n', appDir), (e: unknown) => e instanceof AppError && /YAML mapping/.test(e.message));
  });
});
