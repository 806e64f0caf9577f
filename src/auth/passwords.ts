/**
 * Password hashing with scrypt from node:crypto: memory-hard, and no native dependency.
 * The parameters are stored with each hash so they can be raised later without
 * invalidating existing passwords.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const COST = 2 ** 17;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_LENGTH = 32;
// scrypt needs 128 * N * r bytes (128 MiB here); Node's default cap is 32 MiB.
const MAX_MEMORY = 256 * 1024 * 1024;

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

// One derivation at a time: each takes 128 MiB, and the deployment caps the container at
// 512 MiB (compose/controller.yml). Four sign-ins at once on libuv's four threads would
// get the controller OOM-killed, possibly in the middle of a backup; queued, they wait
// a few hundred milliseconds each.
let derivations: Promise<unknown> = Promise.resolve();

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  const run = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem: MAX_MEMORY }, (error, key) => (error ? reject(error) : resolve(key)));
    });
  const derived = derivations.then(run, run);
  derivations = derived.catch(() => undefined);
  return derived;
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N: COST, r: BLOCK_SIZE, p: PARALLELISM });
  return ['scrypt', COST, BLOCK_SIZE, PARALLELISM, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A reason the password is not acceptable, or null. */
export function passwordProblem(password: string): 'password_too_short' | 'password_too_long' | null {
  if ([...password].length < PASSWORD_MIN_LENGTH) return 'password_too_short';
  if (password.length > PASSWORD_MAX_LENGTH) return 'password_too_long';
  return null;
}
