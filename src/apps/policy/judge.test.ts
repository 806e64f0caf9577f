import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../errors.ts';
import { inEnglish, type Message } from '../../i18n/index.ts';
import { readCompose, type ComposeModel } from '../../stacks/index.ts';
import { parseManifest } from '../manifest.ts';
import { violationsOf } from './checks.ts';
import { judgeApp, type JudgeDeps } from './judge.ts';

const manifest = parseManifest('schema: felhom.app/v1\nid: app\nname: App\nversion: "1"\n');
const file = '{"services": {"web": {"image": "nginx:1.27"}}}';

/** A judge whose compose answers `config` with `answer`, and which records what it was asked. */
function judge(answer: () => Promise<ComposeModel>) {
  const asked: string[] = [];
  const deps: JudgeDeps = {
    compose: {
      config: async () => {
        asked.push('config');
        return answer();
      },
    },
    surroundings: async () => {
      asked.push('surroundings');
      return { otherApps: [], reservedProjects: ['felhom'] };
    },
  };
  const stage = async () => {
    asked.push('stage');
    return '/apps/.staging-app';
  };
  return { deps, stage, asked };
}

const refusal = (promise: Promise<unknown>) => promise.then(() => assert.fail('the app should be refused'), (error: unknown) => error);

describe('judging an app', () => {
  it('when the app keeps to the policy, then the model compose read comes back', async () => {
    const model = readCompose({ name: 'app', services: { web: { image: 'nginx:1.27' } } });
    const { deps, stage, asked } = judge(async () => model);
    assert.equal(await judgeApp({ manifest, composeText: file, stage }, deps), model);
    assert.deepEqual(asked, ['stage', 'config', 'surroundings']);
  });

  it('when the file breaks a rule judged before compose, then nothing is staged, compose is not run, and the refusal lists the violation', async () => {
    const { deps, stage, asked } = judge(async () => assert.fail('compose must not run'));
    const error = await refusal(judgeApp({ manifest, composeText: '{"services": {"web": {"image": "x", "env_file": "/etc/shadow"}}}', stage }, deps));
    assert.deepEqual(violationsOf(error)?.map((v) => `${v.service} ${v.key}`), ['web env_file']);
    assert.deepEqual(asked, []);
  });

  it('when compose is stopped for costing too much, then the refusal is a violation of the compose file in compose\'s words, like any rule', async () => {
    const { deps, stage, asked } = judge(async () => {
      // As the compose adapter words it (stacks/compose.ts).
      throw new AppError('policy', { key: 'error.compose_config_too_long', params: { mib: 4 } });
    });
    const error = await refusal(judgeApp({ manifest, composeText: file, stage }, deps));
    const text: Message = { key: 'error.compose_config_too_long', params: { mib: 4 } };
    assert.deepEqual(violationsOf(error), [{ service: null, key: 'compose file', text, message: inEnglish(text) }]);
    assert.deepEqual(asked, ['stage', 'config'], 'a refused file costs no Docker call');
  });

  it('when compose rejects the file itself, then its validation error passes through unchanged', async () => {
    const rejected = new AppError('validation', 'compose refused the compose file: services.web.ports must be a list');
    const { deps, stage } = judge(async () => {
      throw rejected;
    });
    assert.equal(await refusal(judgeApp({ manifest, composeText: file, stage }, deps)), rejected);
    assert.equal(violationsOf(rejected), null);
  });

  it('when compose would run a service the check did not read, then the app is refused before the rules are judged', async () => {
    const { deps, stage, asked } = judge(async () => readCompose({ services: { web: { image: 'nginx:1.27' }, hidden: { image: 'x', privileged: true } } }));
    const error = await refusal(judgeApp({ manifest, composeText: file, stage }, deps));
    assert.deepEqual(violationsOf(error)?.map((v) => v.key), ['services.hidden']);
    assert.equal(asked.includes('surroundings'), false);
  });
});
