/**
 * Reading bootstrap.json: everything that can be wrong with the file becomes a
 * problem with a kind and a sentence, never an exception.
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import { bootstrapSchema, parsePin } from '../agent/index.ts';
import { Secret } from '../secret.ts';

export type BootstrapProblemKind =
  | 'absent'
  | 'unreadable'
  | 'insecure'
  | 'malformed'
  | 'wrong_schema'
  | 'invalid'
  | 'not_stored';

export interface BootstrapProblem {
  kind: BootstrapProblemKind;
  message: string;
}

export interface ValidBootstrap {
  issuedAt: string;
  customer: { id: string; name: string; email: string; locale: string };
  host: { id: string; guestId: string; hostname: string };
  hub: { url: string; hostId: string };
  localApi: { endpoint: string; pin: Buffer; token: Secret };
}

export type BootstrapReadResult = { ok: true; bootstrap: ValidBootstrap } | { ok: false; problem: BootstrapProblem };

const MAX_BYTES = 64 * 1024;
const SUPPORTED_SCHEMA = 'felhom.bootstrap/v1';

/** Who the controller runs as, for permission errors (the image runs it as a non-root user). */
const runsAs = () => `the controller runs as uid ${process.getuid?.()}, gid ${process.getgid?.()} (groups ${process.getgroups?.().join(', ')})`;

const fail = (kind: BootstrapProblemKind, message: string): BootstrapReadResult => ({ ok: false, problem: { kind, message } });

export async function readBootstrap(file: string): Promise<BootstrapReadResult> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return fail('absent', `no bootstrap file at ${file}; the host agent writes it when it deploys the controller`);
    }
    if (code === 'EACCES') return fail('unreadable', `cannot read ${file}: ${runsAs()} and cannot enter its folder; give it access (the folder owned by that uid, or mode 0750 with a group the controller is in)`);
    return fail('unreadable', `cannot read ${file}: ${code ?? String(error)}`);
  }
  if (!stat.isFile()) return fail('unreadable', `${file} is not a regular file`);
  if (stat.size > MAX_BYTES) return fail('malformed', `${file} is ${stat.size} bytes; a bootstrap file is under ${MAX_BYTES}`);
  // The file carries the agent token: if any user of the guest could read (or rewrite)
  // it, the token must be treated as exposed, so it is not used. Group access is
  // allowed: a deployment may grant the controller's user read access through a
  // dedicated group, which exposes the token to no one else.
  if (stat.mode & 0o006) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    return fail(
      'insecure',
      `${file} has mode ${mode}: it holds the agent token and other users can ${stat.mode & 0o004 ? 'read' : 'write'} it; it must be 0600 (ask the host agent to re-issue it)`,
    );
  }

  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      return fail(
        'unreadable',
        `cannot read ${file}: it belongs to uid ${stat.uid}, gid ${stat.gid} with mode ${mode}, and ${runsAs()}; ` +
          'give the controller read access (the file owned by that uid, or mode 0640 with a group the controller is in)',
      );
    }
    return fail('unreadable', `cannot read ${file}: ${code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail('malformed', `${file} is not valid JSON${whereJsonBroke(error)}`);
  }
  const declared = (json as { schema?: unknown } | null)?.schema;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail('malformed', `${file} must hold a JSON object`);
  }
  if (declared !== SUPPORTED_SCHEMA) {
    return fail(
      'wrong_schema',
      declared === undefined
        ? `${file} has no "schema" field; expected "${SUPPORTED_SCHEMA}"`
        : `${file} has schema ${JSON.stringify(declared).slice(0, 80)}; this controller understands "${SUPPORTED_SCHEMA}"`,
    );
  }
  const parsed = bootstrapSchema.safeParse(json);
  if (!parsed.success) return fail('invalid', `${file} has missing or invalid fields: ${describe(parsed.error)}`);
  const data = parsed.data;
  const pin = parsePin(data.local_api.fingerprint);
  if (!pin) {
    return fail('invalid', `${file} has missing or invalid fields: local_api.fingerprint: is not a SHA-256 certificate pin`);
  }
  return {
    ok: true,
    bootstrap: {
      issuedAt: data.issued_at,
      customer: { id: data.customer.id, name: data.customer.name, email: data.customer.email, locale: data.customer.locale },
      host: { id: data.host.id, guestId: data.host.guest_id, hostname: data.host.hostname },
      hub: { url: data.hub.url, hostId: data.hub.host_id },
      localApi: { endpoint: data.local_api.endpoint, pin, token: new Secret(data.local_api.token) },
    },
  };
}

/**
 * Where the JSON broke, as line and column. Never the parser's own message: V8 quotes
 * the text around the error, which may be the token.
 */
function whereJsonBroke(error: unknown): string {
  const match = /line (\d+) column (\d+)/.exec(error instanceof Error ? error.message : '');
  return match ? ` (line ${match[1]}, column ${match[2]})` : '';
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 6)
    .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    .join('; ');
}
