/**
 * The last guard of "compose runs what was checked": the services, volumes and networks
 * compose says it will run must be the ones the policy read in the file. Any difference
 * means compose read the file another way (a service hidden behind a name two parsers
 * read differently, a format switch), and the policy's verdict would be about another app.
 */
import { isRecord, type ComposeModel } from '../../stacks/index.ts';
import type { ComposeDocument } from './compose-text.ts';
import { violation, type PolicyViolation } from './checks.ts';
import type { MessageKey } from '../../i18n/index.ts';

const keysOf = (value: unknown) => new Set(isRecord(value) ? Object.keys(value) : []);

export function checkAgreement(document: ComposeDocument, model: ComposeModel): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const add = (key: string, text: MessageKey) => violations.push(violation(null, key, { key: text }));
  const read = isRecord(document.services) ? document.services : {};
  const run = new Set(model.services.map((service) => service.name));
  for (const name of run) {
    if (!Object.hasOwn(read, name)) add(`services.${name}`, 'policy.agreement_extra_service');
  }
  for (const [name, service] of Object.entries(read)) {
    // compose v2 leaves out services of profiles that are not active; they do not run.
    const profiled = isRecord(service) && Array.isArray(service.profiles) && service.profiles.length > 0;
    if (!profiled && !run.has(name)) add(`services.${name}`, 'policy.agreement_missing_service');
  }
  for (const [kind, names, declared] of [
    ['volumes', model.volumes.map((v) => v.key), keysOf(document.volumes)],
    ['networks', model.networks.map((n) => n.key), new Set([...keysOf(document.networks), 'default'])],
  ] as const) {
    for (const name of names) {
      if (!declared.has(name)) add(`${kind}.${name}`, kind === 'volumes' ? 'policy.agreement_extra_volume' : 'policy.agreement_extra_network');
    }
  }
  return violations;
}
