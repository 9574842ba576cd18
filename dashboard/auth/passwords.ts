import { createHash, randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';

/**
 * Passwords: node's scrypt with a random 16-byte salt; the parameters are stored with the hash, so
 * they can be raised later without breaking stored hashes:
 * `scrypt$N=32768,r=8,p=1$<salt base64url>$<hash base64url>`.
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** About 50-100 ms per hash on a small server: fine for a sign-in, costly for a guesser. */
export const defaultScryptParams: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase; short enough that hashing one is never a denial of service. */
export const MAX_PASSWORD_LENGTH = 256;

export const NewPassword = z
  .string({ error: 'must be a string' })
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `may be at most ${MAX_PASSWORD_LENGTH} characters`);

function scryptAsync(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // maxmem: scrypt needs 128 * N * r bytes; the default 32 MiB is exactly too little for N=2^15.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))));
}

export async function hashPassword(password: string, params: ScryptParams = defaultScryptParams): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(password, salt, params);
  return `scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const stored = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** Checks a password against a stored hash in constant time; false for a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const match = stored.exec(hash);
  if (!match) return false;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Refuse absurd parameters rather than spend minutes (or all memory) on them.
  if (!Number.isInteger(Math.log2(N)) || N < 2 ** 10 || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(match[4] ?? '', 'base64url');
  const expected = Buffer.from(match[5] ?? '', 'base64url');
  if (password.length > MAX_PASSWORD_LENGTH || expected.length !== KEY_LENGTH) return false;
  const key = await scryptAsync(password, salt, { N, r, p });
  return timingSafeEqual(key, expected);
}

let dummyHash: Promise<string> | undefined;
/** A hash to verify against when the user does not exist, so that both answers take as long. */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

// No 0/O, 1/l/I: read aloud over the phone or copied from a terminal without mistakes.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXYZ2346789';

/** A one-time password: 4 groups of 5 from a 53-letter alphabet (about 114 bits). */
export function oneTimePassword(): string {
  const groups: string[] = [];
  for (let group = 0; group < 4; group += 1) {
    let part = '';
    for (let index = 0; index < 5; index += 1) part += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(part);
  }
  return groups.join('-');
}

/** A random secret (session id, API token body): 32 bytes, base64url. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** How session ids and API tokens are stored: hex SHA-256 (they are 256-bit random, so no salt or stretching is needed). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
