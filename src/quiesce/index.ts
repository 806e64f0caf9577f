/** The quiesce loop's public surface (quiesce.ts wires it; machine.ts is the loop). */
export { createQuiesce, type Quiesce, type QuiesceDeps } from './quiesce.ts';
export { consistencyOf, type Consistency } from './machine.ts';
export type { StackPort } from './runner.ts';
export type { StoredRun } from './store.ts';
