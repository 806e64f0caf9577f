/**
 * Guest tokens, the bootstrap.json that carries one into the guest, and the separate
 * control token of the /_dev API. A guest token exists in plaintext only in memory while
 * it is written into bootstrap.json (context/004 §6a); the state keeps its SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isoSeconds, readFileIfExists, writeFileAtomic } from './files.ts';
import type { StateStore } from './state.ts';

export interface BootstrapSubject {
  guestId: string;
  endpoint: string;
  fingerprint: string;
}

const HUB_URL = 'https://hub.felhom.invalid';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function bootstrapPathFor(stateDir: string, guestId: string): string {
  return join(stateDir, 'guests', guestId, 'bootstrap.json');
}

export async function loadOrCreateControlToken(stateDir: string): Promise<string> {
  const path = join(stateDir, 'control-token');
  const existing = (await readFileIfExists(path))?.trim();
  if (existing) return existing;
  const token = `fdc_${randomBytes(24).toString('hex')}`;
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return token;
}

/**
 * Leaves a bootstrap that still works byte-identical (the controller may have ingested
 * it); anything else (absent, unreadable, another endpoint or certificate, a token no
 * longer known) is replaced by a fresh one with a fresh token.
 */
export async function ensureBootstrap(store: StateStore, stateDir: string, subject: BootstrapSubject): Promise<void> {
  const text = await readFileIfExists(bootstrapPathFor(stateDir, subject.guestId));
  if (text !== null && bootstrapStillValid(store, text, subject)) return;
  await remintToken(store, stateDir, subject);
}

function bootstrapStillValid(store: StateStore, text: string, subject: BootstrapSubject): boolean {
  try {
    const api = (JSON.parse(text) as { local_api?: { endpoint?: unknown; fingerprint?: unknown; token?: unknown } }).local_api;
    return (
      api?.endpoint === subject.endpoint &&
      api.fingerprint === subject.fingerprint &&
      typeof api.token === 'string' &&
      store.state.tokens[hashToken(api.token)] === subject.guestId
    );
  } catch {
    return false;
  }
}

/** Invalidates every token of the guest, then writes a bootstrap with a new one. */
export async function remintToken(store: StateStore, stateDir: string, subject: BootstrapSubject): Promise<string> {
  const token = `flt_${randomBytes(24).toString('hex')}`;
  const tokens = store.state.tokens;
  for (const [hash, guestId] of Object.entries(tokens)) if (guestId === subject.guestId) delete tokens[hash];
  tokens[hashToken(token)] = subject.guestId;
  await store.save();

  const { host, customer } = store.state;
  const bootstrap = {
    schema: 'felhom.bootstrap/v1',
    issued_at: isoSeconds(),
    customer,
    host: { id: host.id, guest_id: subject.guestId, hostname: `felhom-${subject.guestId}` },
    hub: { url: HUB_URL, host_id: host.id },
    local_api: { endpoint: subject.endpoint, fingerprint: subject.fingerprint, token },
  };
  const path = bootstrapPathFor(stateDir, subject.guestId);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(bootstrap, null, 2)}\n`, 0o600);
  return token;
}
