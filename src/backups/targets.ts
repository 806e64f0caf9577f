/**
 * Backup targets: restic repositories on another disk (`<mount>/felhom/backups`) or on a
 * REST server. A new repository gets a generated password, which is the customer's
 * recovery code; an existing one is adopted with the code they type, so a replaced
 * server continues the same repository (context/004 §9).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Mount } from '../agent/index.ts';
import { AppError } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import { Secret } from '../secret.ts';
import { restLocation, type Repository, type Restic } from './restic.ts';
import type { BulkStore, Target } from './store.ts';

/** Crockford's base32 without I, L, O, U: nothing to misread when typed from paper. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 160 random bits as 32 characters in groups of four: XXXX-XXXX-...; restic's password is exactly this text. */
export function newRecoveryCode(): Secret {
  const bytes = randomBytes(20);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return new Secret(out.match(/.{4}/g)!.join('-'));
}

/** What a customer may have typed for one of our codes: spaces, lower case, no dashes, O for 0. */
export function normalizeRecoveryCode(typed: string): string {
  const plain = typed.trim().toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{32}$/.test(plain) ? plain.match(/.{4}/g)!.join('-') : typed.trim();
}

export const repositoryFolder = (mount: Pick<Mount, 'path'>) => path.posix.join(mount.path, 'felhom', 'backups');

/** Text without control characters: restic takes secrets from the environment, which cannot hold a NUL. */
const plain = (max: number) => z.string().max(max).refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');

const createBody = z.discriminatedUnion(
  'kind',
  [
    z.object({
      kind: z.literal('disk'),
      mount: z.string().min(1, 'must name a mount'),
      recovery_code: plain(200).pipe(z.string().trim().min(1)).optional(),
    }),
    z.object({
      kind: z.literal('rest'),
      url: z
        .string()
        .max(2000)
        .refine((value) => {
          try {
            const url = new URL(value);
            return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.search && !url.hash;
          } catch {
            return false;
          }
        }, 'must be an http:// or https:// URL of a restic REST server, without a user or password in it (use username and password)'),
      username: plain(200).optional(),
      password: plain(500).optional(),
      recovery_code: plain(200).pipe(z.string().trim().min(1)).optional(),
    }),
  ],
  { error: 'kind must be "disk" or "rest"' },
);

export type CreateTargetRequest = z.infer<typeof createBody>;

export function parseCreateTarget(input: unknown): CreateTargetRequest {
  const parsed = createBody.safeParse(input);
  if (!parsed.success) throw new AppError('validation', { key: 'error.request_invalid', params: { problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ') } });
  return parsed.data;
}

export type Located = { ok: true; repo: Repository; mount: Mount | null } | { ok: false; reason: Message };

/** Where the target's repository is now: a disk target needs its mount attached. */
export function locate(target: Target, mounts: Mount[] | null): Located {
  if (target.kind === 'rest') return { ok: true, repo: { location: restLocation(target.url!, target.username, target.restPassword), password: target.repoPassword }, mount: null };
  if (mounts === null) return { ok: false, reason: { key: 'error.target_agent_silent' } };
  const mount = mounts.find((m) => m.id === target.mountId);
  if (!mount) return { ok: false, reason: { key: 'error.target_disk_not_connected', params: { disk: target.label } } };
  if (mount.state !== 'attached') return { ok: false, reason: { key: 'error.target_disk_state', params: { disk: target.label, state: mount.state } } };
  return { ok: true, repo: { location: new Secret(repositoryFolder(mount)), password: target.repoPassword }, mount };
}

/** Creates the target: initialises a new repository, or opens an existing one with its code. */
export async function createTarget(
  deps: { restic: Restic; store: BulkStore },
  request: CreateTargetRequest,
  mounts: Mount[],
): Promise<{ target: Target; recoveryCode: Secret | null }> {
  const adopting = request.recovery_code !== undefined;
  let draft: Omit<Target, 'id' | 'createdAt' | 'acknowledgedAt'>;
  let repo: Repository;
  const password = adopting ? new Secret(normalizeRecoveryCode(request.recovery_code!)) : newRecoveryCode();
  if (request.kind === 'disk') {
    const mount = mounts.find((m) => m.id === request.mount);
    if (!mount) throw new AppError('validation', { key: 'error.no_mount', params: { mount: request.mount } });
    if (mount.state !== 'attached') throw new AppError('conflict', { key: 'error.mount_not_attached', params: { disk: mount.label, state: mount.state } });
    if (deps.store.targets().some((t) => t.kind === 'disk' && t.mountId === mount.id)) throw new AppError('conflict', { key: 'error.disk_already_target', params: { disk: mount.label } });
    draft = { kind: 'disk', label: mount.label, mountId: mount.id, url: null, username: null, restPassword: null, repoPassword: password, adopted: adopting };
    repo = { location: new Secret(repositoryFolder(mount)), password };
    const exists = await fs.access(path.join(repositoryFolder(mount), 'config')).then(() => true, () => false);
    if (exists && !adopting) throw new AppError('conflict', { key: 'error.disk_holds_repository', params: { disk: mount.label } });
    if (!exists && adopting) throw new AppError('validation', { key: 'error.disk_holds_no_repository', params: { disk: mount.label } });
    if (!adopting) await fs.mkdir(path.dirname(repositoryFolder(mount)), { recursive: true });
  } else {
    const url = new URL(request.url);
    if (deps.store.targets().some((t) => t.kind === 'rest' && t.url === url.toString() && t.username === (request.username || null))) {
      throw new AppError('conflict', { key: 'error.rest_already_target', params: { host: url.host } });
    }
    const restPassword = request.password ? new Secret(request.password) : null;
    draft = { kind: 'rest', label: url.host + (url.pathname === '/' ? '' : url.pathname), mountId: null, url: url.toString(), username: request.username || null, restPassword, repoPassword: password, adopted: adopting };
    repo = { location: restLocation(url.toString(), draft.username, restPassword), password };
  }
  if (!adopting) await deps.restic.init(repo);
  // Opened with the code before it is kept or shown: a code that does not open the repository is worse than none.
  await deps.restic.verify(repo);
  const target = deps.store.addTarget(draft);
  return { target, recoveryCode: adopting ? null : password };
}
