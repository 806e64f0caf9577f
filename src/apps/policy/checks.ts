/**
 * What every check of the policy takes and reports: a violation names the service (or
 * null for the file, the manifest and top-level definitions), the key, and why. Kept
 * apart from the checks so that they import it and the policy imports them, never in a
 * circle.
 */
import { AppError } from '../../errors.ts';
import type { ComposeModel, Protocol } from '../../stacks/index.ts';
import type { Manifest } from '../manifest.ts';

/** A host port an installed app publishes, as recorded. */
export interface HostPort {
  hostIp: string | null;
  published: number | null;
  protocol: Protocol;
}

export interface PolicyInput {
  manifest: Manifest;
  /** What compose will run: its `config` output, read into the model. */
  compose: ComposeModel;
  /** Absolute path of the app folder compose config ran in. */
  appDir: string;
  /** Every other installed app (leave the app being updated out). */
  otherApps: Array<{ id: string; ports: HostPort[] }>;
  /** Compose project names that are not apps: the controller's own, for one. */
  reservedProjects: string[];
  /** Host ports the controller or the system uses, on any address. */
  reservedPorts?: Array<{ published: number; protocol: Protocol }>;
  /** Names of containers in the engine that are not this app's (other apps', the controller's, anyone's). */
  takenContainerNames?: string[];
  /** Registries on the guest or its network the operator allows images from (host[:port]). */
  allowedRegistries?: string[];
}

export interface PolicyViolation {
  /** The compose service at fault; null for the manifest or top-level definitions. */
  service: string | null;
  key: string;
  message: string;
}

/** Records a violation of one service at `key`. */
export type Add = (key: string, message: string) => void;

/** One `policy` AppError listing every violation, each as `service "web": key: why`. */
export function policyError(violations: PolicyViolation[]): AppError {
  const lines = violations.map(describeViolation);
  const count = violations.length === 1 ? 'a rule' : `${violations.length} rules`;
  return new AppError(
    'policy',
    `the app breaks ${count} of the app policy (the controller holds the Docker socket, which is root on the guest, so an app may not use it to reach the host):\n` +
      lines.map((line) => `- ${line}`).join('\n'),
    { details: { violations } },
  );
}

/** The violations a refusal of the policy carries; null for any other error. */
export function violationsOf(error: unknown): PolicyViolation[] | null {
  if (!(error instanceof AppError) || error.code !== 'policy' || !Array.isArray(error.details?.violations)) return null;
  return error.details.violations as PolicyViolation[];
}

export function describeViolation(violation: PolicyViolation): string {
  return violation.service === null ? `${violation.key}: ${violation.message}` : `service "${violation.service}": ${violation.key}: ${violation.message}`;
}

const RESERVED_LABEL_PREFIXES = [
  ['org.felhom.', 'reserved for the controller, which labels its own objects and each app\'s services with it'],
  ['com.docker.compose.', 'reserved for compose, whose labels the controller uses to find each app\'s containers'],
] as const;

/** What a reserved label namespace is for, when `label` is in one; else null. */
export function reservedLabel(label: string): string | null {
  const reserved = RESERVED_LABEL_PREFIXES.find(([prefix]) => label.toLowerCase().startsWith(prefix));
  return reserved ? `${reserved[0]} namespace is ${reserved[1]}` : null;
}
