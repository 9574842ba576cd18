import { pbkdf2Sync, randomBytes } from 'node:crypto';

/** Mosquitto 2's defaults for its `$7$` (PBKDF2-HMAC-SHA512) password hashes. */
export const MOSQUITTO_PBKDF2_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

export interface MosquittoPasswordOptions {
  /** PBKDF2 iterations (Mosquitto 2 writes 101; `mosquitto_passwd -I n` chooses another). */
  iterations?: number;
  /** The salt; 12 random bytes by default, as mosquitto_passwd uses. Fixed only in tests. */
  salt?: Buffer;
}

function checkUsername(username: string): void {
  if (username.length === 0) throw new Error('a Mosquitto username cannot be empty');
  // ':' separates the username from the hash and a newline ends the entry: either would make a line
  // for someone else, or none. Whitespace cannot be typed at a CONNECT reliably and reads as a typo.
  if (username.includes(':')) throw new Error(`Mosquitto username "${username}" contains ':', which separates it from the password hash`);
  if (/\s/.test(username)) throw new Error(`Mosquitto username ${JSON.stringify(username)} contains whitespace or a newline, which a password file line cannot hold`);
}

/**
 * One line of a Mosquitto `password_file`, exactly as `mosquitto_passwd` (Mosquitto 2) writes it:
 * `username:$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512(password, salt), 64 bytes>`.
 * For customers running their own Mosquitto: the broker checks the device secret itself.
 */
export function mosquittoPasswordLine(username: string, password: string, options: MosquittoPasswordOptions = {}): string {
  checkUsername(username);
  if (password.length === 0) throw new Error(`the Mosquitto password of "${username}" cannot be empty`);
  const iterations = options.iterations ?? MOSQUITTO_PBKDF2_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new Error(`PBKDF2 iterations must be a positive integer, not ${iterations}`);
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  if (salt.length === 0) throw new Error('the PBKDF2 salt cannot be empty');
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, HASH_BYTES, 'sha512');
  return `${username}:$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A whole `password_file`: one line per entry, newline-terminated; a username given twice is refused. */
export function mosquittoPasswordFile(entries: ReadonlyArray<{ username: string; password: string }>, options: Pick<MosquittoPasswordOptions, 'iterations'> = {}): string {
  const seen = new Set<string>();
  const lines = entries.map(({ username, password }) => {
    if (seen.has(username)) throw new Error(`Mosquitto username "${username}" appears twice`);
    seen.add(username);
    return mosquittoPasswordLine(username, password, options);
  });
  return lines.map((line) => `${line}\n`).join('');
}
