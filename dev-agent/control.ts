/**
 * The /_dev control API: the fault injection and knobs of DevAgent, for tests that run
 * the agent in another process. It takes only the control token, and the control token
 * opens nothing else.
 */
import type { CertificateChoice } from './cert.ts';
import type { Fault } from './faults.ts';
import { validateFault } from './faults.ts';
import { optionalString, requireOneOf } from './http.ts';
import { ok, route } from './router.ts';
import type { Route } from './router.ts';
import type { FailurePhase, MountRecord } from './state.ts';

export interface DevControls {
  describe(): unknown;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  faults(): ReadonlyArray<Fault>;
  failNextBackup(options: { atPhase: FailurePhase; error?: string }): void;
  presentCertificate(which: CertificateChoice): void;
  presentedFingerprint(): string;
  updateMountState(mountId: string, state: MountRecord['state']): Promise<unknown>;
  remintToken(): Promise<string>;
  readonly bootstrapPath: string;
}

export function controlRoutes(controls: DevControls): Route[] {
  return [
    route('GET', '/_dev/state', () => ok(controls.describe())),
    route('POST', '/_dev/faults', ({ body }) => {
      controls.injectFault(validateFault(body));
      return ok({ faults: controls.faults() });
    }),
    route('DELETE', '/_dev/faults', () => {
      controls.clearFaults();
      return ok({ faults: controls.faults() });
    }),
    route('POST', '/_dev/backup-failure', ({ body }) => {
      const atPhase = requireOneOf(body, 'atPhase', ['queued', 'running', 'snapshotted'] as const);
      const error = optionalString(body, 'error', '');
      controls.failNextBackup(error ? { atPhase, error } : { atPhase });
      return ok({ armed: true, atPhase });
    }),
    route('POST', '/_dev/certificate', ({ body }) => {
      controls.presentCertificate(requireOneOf(body, 'which', ['own', 'alternate'] as const));
      return ok({ fingerprint: controls.presentedFingerprint() });
    }),
    route('POST', '/_dev/mounts/:id/state', async ({ params, body }) => {
      const state = requireOneOf(body, 'state', ['attached', 'disconnected'] as const);
      return ok({ mount: await controls.updateMountState(params.id ?? '', state) });
    }),
    route('POST', '/_dev/remint', async () => {
      // The new token is in the bootstrap file, which is where a controller looks for it.
      await controls.remintToken();
      return ok({ reminted: true, bootstrap_path: controls.bootstrapPath });
    }),
  ];
}
