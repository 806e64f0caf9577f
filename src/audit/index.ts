/** The audit domain's public surface (log.ts tells what it is). */
export { createAuditLog, type AuditEntry, type AuditFilter, type AuditLog, type AuditOutcome, type AuditRecord } from './log.ts';
export { activityPage } from './pages.ts';
