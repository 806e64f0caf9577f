/**
 * What a refusal of an app lists, for the pages: the policy's violations, the
 * .felhom.yml problems or the volumes that cannot be placed, each as a catalog message
 * the page renders in the customer's language. The error's own message lists them in
 * English, for the API and the log.
 */
import { AppError } from '../errors.ts';
import type { Message, MessageKey } from '../i18n/index.ts';
import { issueLine, type ManifestIssue } from './manifest.ts';
import { violationLine, type PolicyViolation } from './policy/index.ts';

export interface Refusal {
  heading: MessageKey;
  problems: Message[];
  status: number;
}

/** The problems a refusal lists; null for any other error. */
export function refusalOf(error: unknown): Refusal | null {
  if (!(error instanceof AppError)) return null;
  const { violations, issues, problems } = error.details ?? {};
  const refusal = (heading: MessageKey, list: Message[]) => ({ heading, problems: list, status: error.httpStatus });
  if (Array.isArray(violations)) return refusal('policy.refused_heading', (violations as PolicyViolation[]).map(violationLine));
  if (Array.isArray(issues)) return refusal('manifest.invalid_heading', (issues as ManifestIssue[]).map(issueLine));
  if (error.code === 'policy' && Array.isArray(problems)) return refusal('manifest.unplaceable_heading', problems as Message[]);
  return null;
}
