/**
 * The app policy: what an app folder may make compose and Docker do. Three steps, in
 * this order, each before anything of the app is created:
 *
 * 1. `readComposeText`: the file is parsed once, strictly, and compose is given this
 *    reading back in a form every parser agrees on (compose-text.ts);
 * 2. `checkBeforeCompose`: what `compose config` itself would open (before-compose.ts);
 * 3. `checkAgreement` and `checkPolicy`: what compose will run, from its normalized
 *    output, is the app that was read (agreement.ts) and keeps to the rules (policy.ts).
 */
export { canonicalText, readComposeText, COMPOSE_MAX_BYTES, type ComposeDocument, type ComposeText } from './compose-text.ts';
export { checkBeforeCompose } from './before-compose.ts';
export { checkAgreement } from './agreement.ts';
export { checkPolicy } from './policy.ts';
export { describeViolation, policyError, violation, violationLine, type HostPort, type PolicyInput, type PolicyViolation } from './checks.ts';
export { publishedPorts } from './host-ports.ts';
export { ALLOWED_CAPABILITIES } from './privileges.ts';
export { MAX_STOP_GRACE_SECONDS } from './limits.ts';
