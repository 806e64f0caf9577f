/**
 * At start, before serving: the records say what should be, Docker says what is. The
 * controller converges without deleting anything and reports what it found:
 * - an install or update a crash interrupted is deployed again (every step is idempotent);
 * - an installed app meant to run whose containers are gone is re-created;
 * - one whose containers are all stopped is started (unless its storage is missing);
 * - compose projects that are not apps (nor the controller) are reported, never touched.
 */
import type { AuditLog } from '../audit/index.ts';
import type { Logger } from '../log.ts';
import type { Operations } from './operations.ts';
import type { AppsDocker } from './ports.ts';
import type { AppsService } from './service.ts';
import type { AppStore } from './store.ts';

export interface ReconcileReport {
  resumed: string[];
  recreated: string[];
  started: string[];
  unmanaged: string[];
  problems: string[];
}

export interface ReconcileDeps {
  store: AppStore;
  operations: Operations;
  docker: AppsDocker;
  audit: AuditLog;
  logger: Logger;
  reservedProjects: () => Promise<string[]>;
}

export async function reconcileApps(deps: ReconcileDeps, service: AppsService): Promise<ReconcileReport> {
  const report: ReconcileReport = { resumed: [], recreated: [], started: [], unmanaged: [], problems: [] };
  const interrupted = deps.operations.closeInterrupted({ key: 'error.interrupted_resumed' });
  const interruptedDeploys = new Set(interrupted.filter((op) => ['install', 'update', 'resume-install'].includes(op.kind)).map((op) => op.appId));

  for (const app of deps.store.list()) {
    try {
      if (app.status === 'installing' || interruptedDeploys.has(app.id)) {
        service.resume(app.id);
        report.resumed.push(app.id);
        continue;
      }
      if (app.status !== 'installed' || app.desired !== 'running' || app.stoppedForStorage) continue;
      const containers = await deps.docker.listContainers(app.id);
      if (containers.length === 0) {
        service.resume(app.id);
        report.recreated.push(app.id);
      } else if (!containers.some((c) => c.state === 'running')) {
        await deps.docker.startProject(app.id);
        report.started.push(app.id);
      }
    } catch (error) {
      report.problems.push(`${app.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  const known = new Set([...deps.store.list().map((app) => app.id), ...(await deps.reservedProjects())]);
  report.unmanaged = (await deps.docker.projects()).filter((project) => !known.has(project));

  const acted = report.resumed.length + report.recreated.length + report.started.length + report.problems.length;
  if (acted > 0 || report.unmanaged.length > 0) {
    deps.logger.info({ ...report }, 'reconciled apps with Docker');
  }
  if (acted > 0) {
    deps.audit.record({ actor: 'controller', action: 'apps.reconcile', target: null, outcome: report.problems.length ? 'failed' : 'ok', details: { ...report } });
  }
  return report;
}
