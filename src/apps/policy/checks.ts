/**
 * What every check of the policy takes and reports: a violation names the service (or
 * null for the file, the manifest and top-level definitions), the key, and why. Kept
 * apart from the checks so that they import it and the policy imports them, never in a
 * circle.
 */
import { AppError } from '../../errors.ts';
import { inEnglish, type Message } from '../../i18n/index.ts';
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
  /** Why, as a catalog message: the UI renders it in the customer's language. */
  text: Message;
  /** Why, in English (the API, the log, docs/felhom-yml.md): `text` rendered in English. */
  message: string;
}

/** Records a violation of one service at `key`. */
export type Add = (key: string, text: Message) => void;

export function violation(service: string | null, key: string, text: Message): PolicyViolation {
  return { service, key, text, message: inEnglish(text) };
}

/**
 * One `policy` AppError listing every violation, each as `service "web": key: why`. Its
 * text holds the list in English too: a list has no catalog shape, so the pages that
 * show a refusal list `details.violations` themselves, each by `violationLine`.
 */
export function policyError(violations: PolicyViolation[]): AppError {
  const lines = violations.map((v) => `- ${describeViolation(v)}`).join('\n');
  const text: Message = violations.length === 1
    ? { key: 'policy.refused_one', params: { lines } }
    : { key: 'policy.refused_many', params: { count: violations.length, lines } };
  return new AppError('policy', text, { details: { violations } });
}

/** A violation as one line, `service "web": key: why`, in whichever language renders it. */
export function violationLine(violation: PolicyViolation): Message {
  const { service, key, text } = violation;
  return service === null ? { key: 'policy.line', params: { key, problem: text } } : { key: 'policy.line_of_service', params: { service, key, problem: text } };
}

/** The violations a refusal of the policy carries; null for any other error. */
export function violationsOf(error: unknown): PolicyViolation[] | null {
  if (!(error instanceof AppError) || error.code !== 'policy' || !Array.isArray(error.details?.violations)) return null;
  return error.details.violations as PolicyViolation[];
}

export function describeViolation(violation: PolicyViolation): string {
  return inEnglish(violationLine(violation));
}

const RESERVED_LABEL_PREFIXES = [
  ['org.felhom.', 'policy.label_reserved_controller'],
  ['com.docker.compose.', 'policy.label_reserved_compose'],
] as const;

/** Why `label` may not be set, when it is in a reserved namespace; else null. */
export function reservedLabel(label: string): Message | null {
  const reserved = RESERVED_LABEL_PREFIXES.find(([prefix]) => label.toLowerCase().startsWith(prefix));
  return reserved ? { key: reserved[1], params: { label, prefix: reserved[0] } } : null;
}
