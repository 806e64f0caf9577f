export { BootstrapService, type BootstrapReport, type BootstrapState } from './service.ts';
export type { BootstrapProblem, BootstrapProblemKind } from './read.ts';
