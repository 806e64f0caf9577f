/**
 * What the customer UI's page tests (test/pages-*.integration.test.ts) share: a
 * controller of their own with the development agent, and reading its audit log.
 */
import type { TestContext } from 'node:test';
import { controller, devAgent, type ControllerUnderTest } from './controller.ts';

/** A fresh controller (its own SQLite file and agent) for one test; nothing is shared between tests. */
export async function startedWithAgent(t: TestContext, env: Record<string, string> = {}) {
  const agent = await devAgent(t);
  const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env });
  return { agent, c, url: c.controller.url };
}

/** Every audit entry as `action` and `outcome`, oldest first. */
export const auditActions = (c: ControllerUnderTest) =>
  c.controller.db.prepare('SELECT action, outcome FROM audit_log ORDER BY id').all() as Array<{ action: string; outcome: string }>;

/** `action:outcome` (and `@target` when asked) of the entries whose action starts with `prefix`. */
export const audited = (c: ControllerUnderTest, prefix: string, withTarget = false) =>
  (c.controller.db.prepare('SELECT action, outcome, target FROM audit_log WHERE action LIKE ? ORDER BY id').all(`${prefix}%`) as Array<{ action: string; outcome: string; target: string | null }>)
    .map((a) => `${a.action}:${a.outcome}${withTarget ? `@${a.target}` : ''}`);
