/** The development agent's surface for scripts and tests (agent.ts starts it; main.ts is its command). */
export { startDevAgent, type DevAgent, type DevAgentOptions } from './agent.ts';
export type { Fault } from './faults.ts';
