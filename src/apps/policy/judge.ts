/**
 * Judging an app folder: the one way into the policy. The steps run in this order, each
 * before anything of the app exists outside its staging folder:
 *
 * 1. the file is parsed once, strictly, and compose is given this reading back in a
 *    form every parser agrees on (compose-text.ts);
 * 2. what `compose config` itself would open is judged (before-compose.ts);
 * 3. compose reads the staged folder into the model (src/stacks/compose-model.ts), which
 *    must be the app that was read (agreement.ts) and keep to the rules (policy.ts).
 *
 * Every refusal is one `policy` error carrying its violations (`policyError`), so a plan
 * lists them one by one; compose refusing the file outright stays compose's own
 * `validation` error, in its words.
 */
import { AppError } from '../../errors.ts';
import type { Compose, ComposeModel } from '../../stacks/index.ts';
import type { Manifest } from '../manifest.ts';
import { checkAgreement } from './agreement.ts';
import { checkBeforeCompose } from './before-compose.ts';
import { policyError, violation, type PolicyInput } from './checks.ts';
import { readComposeText } from './compose-text.ts';
import { checkPolicy } from './policy.ts';

export interface AppToJudge {
  manifest: Manifest;
  /** The compose file as the customer wrote it. */
  composeText: string;
  /**
   * Writes the app folder compose reads, its compose file replaced by `canonical`, and
   * returns its path; called only once the file has passed the checks that need no folder.
   */
  stage(canonical: string): Promise<string>;
}

/** What an app is judged against besides itself: the other apps and what the controller holds. */
export type Surroundings = Omit<PolicyInput, 'manifest' | 'compose' | 'appDir'>;

export interface JudgeDeps {
  compose: Pick<Compose, 'config'>;
  /** Asked only for a file compose has read, so a refused file costs no Docker call. */
  surroundings(appId: string): Promise<Surroundings>;
}

/** Returns what compose will run, as the policy judged it, or throws the refusal. */
export async function judgeApp(app: AppToJudge, deps: JudgeDeps): Promise<ComposeModel> {
  const { manifest } = app;
  const { document, canonical } = readComposeText(app.composeText);
  const early = checkBeforeCompose(document);
  if (early.length > 0) throw policyError(early);
  const dir = await app.stage(canonical);
  const model = await readByCompose(deps.compose, { project: manifest.id, dir, files: [manifest.compose] });
  // Compose must have read the app the policy read, or the verdict is about another app.
  const disagreement = checkAgreement(document, model);
  if (disagreement.length > 0) throw policyError(disagreement);
  const violations = checkPolicy({ manifest, compose: model, appDir: dir, ...(await deps.surroundings(manifest.id)) });
  if (violations.length > 0) throw policyError(violations);
  return model;
}

/**
 * Compose stopped for costing more than a file may (time, memory, output) refuses the
 * file like any rule of the policy: under the key "compose file", as compose-text.ts
 * refuses what the text is.
 */
async function readByCompose(compose: JudgeDeps['compose'], spec: Parameters<Compose['config']>[0]): Promise<ComposeModel> {
  try {
    return await compose.config(spec);
  } catch (error) {
    if (error instanceof AppError && error.code === 'policy') throw policyError([violation(null, 'compose file', error.text ?? { key: 'policy.unworded', params: { problem: error.message } })]);
    throw error;
  }
}
