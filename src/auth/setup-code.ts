/**
 * The one-time setup code that guards creating the account: whoever reaches the page
 * first on the LAN must also be able to read the controller's log or its data folder.
 * Like Portainer's setup token, it is valid for a bounded time; a restart issues a new one.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock.ts';

// No 0/O, 1/I/L: the code is read off a log and typed by a person.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const SETUP_CODE_FILE = 'setup-code.txt';

export interface SetupCode {
  /** The code as printed, e.g. `7KQM-2XRD-WP9A`. */
  readonly code: string;
  readonly expiresAt: Date;
  readonly file: string;
  expired(): boolean;
  matches(candidate: string): boolean;
  /** After the account is made: the code is gone from memory's use and from disk. */
  retire(): void;
}

const normalize = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');
const digest = (code: string) => createHash('sha256').update(normalize(code)).digest();

export function issueSetupCode(options: { dataDir: string; clock: Clock; validMs: number }): SetupCode {
  const raw = Array.from({ length: 12 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const code = raw.match(/.{4}/g)!.join('-');
  const expected = digest(code);
  const expiresAt = new Date(options.clock.now().getTime() + options.validMs);
  const file = path.join(options.dataDir, SETUP_CODE_FILE);
  // Removed first so that an older file with looser permissions never keeps them.
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, `${code}\nvalid until ${expiresAt.toISOString()}\n`, { mode: 0o600, flag: 'wx' });
  let retired = false;
  return {
    code,
    expiresAt,
    file,
    expired: () => retired || options.clock.now().getTime() >= expiresAt.getTime(),
    matches(candidate) {
      if (retired || options.clock.now().getTime() >= expiresAt.getTime()) return false;
      return timingSafeEqual(digest(candidate), expected);
    },
    retire() {
      retired = true;
      fs.rmSync(file, { force: true });
    },
  };
}

/** A leftover code file from an earlier run, once the account exists. */
export function removeSetupCodeFile(dataDir: string): void {
  fs.rmSync(path.join(dataDir, SETUP_CODE_FILE), { force: true });
}
