/**
 * The app policy: what an app folder may make compose and Docker do. `judgeApp` is its
 * one entry (judge.ts says the steps); the rest is what callers need to record and show
 * its verdict.
 */
export { judgeApp, type AppToJudge, type JudgeDeps, type Surroundings } from './judge.ts';
export { describeViolation, violationLine, violationsOf, type HostPort, type PolicyViolation } from './checks.ts';
export { publishedPorts } from './host-ports.ts';
export { canonicalText } from './compose-text.ts';
export { needsInternet } from './images.ts';
