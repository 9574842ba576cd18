import { execFile } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoPasswordFile, mosquittoPasswordLine } from '../../provisioning/mosquitto-passwd.js';
import { findCommand } from '../support/mosquitto.js';

const execFileAsync = promisify(execFile);
const LINE = /^([^:]+):\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

describe('mosquittoPasswordLine', () => {
  it('writes username:$7$iterations$salt$hash with 101 iterations, 12 random salt bytes and a 64-byte hash by default', () => {
    const line = mosquittoPasswordLine('gw-a', 'secret');
    const [, username, iterations, salt, hash] = LINE.exec(line) ?? [];
    expect(username).toBe('gw-a');
    expect(iterations).toBe('101');
    expect(Buffer.from(salt!, 'base64')).toHaveLength(12);
    expect(Buffer.from(hash!, 'base64')).toHaveLength(64);
    expect(Buffer.from(hash!, 'base64').equals(pbkdf2Sync('secret', Buffer.from(salt!, 'base64'), 101, 64, 'sha512'))).toBe(true);
    // A fresh salt each time: the same password never gives the same line.
    expect(mosquittoPasswordLine('gw-a', 'secret')).not.toBe(line);
  });

  it('uses the given salt and iterations', () => {
    const salt = Buffer.from('0123456789ab');
    expect(mosquittoPasswordLine('gw-a', 'secret', { salt, iterations: 5 })).toBe(`gw-a:$7$5$${salt.toString('base64')}$${pbkdf2Sync('secret', salt, 5, 64, 'sha512').toString('base64')}`);
  });

  describe('against the real mosquitto_passwd', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'punchgate-passwd-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it.each([
      { name: 'its default iterations', args: [] as string[], password: 'yN3q_8dPVq0rGm0Hc1b2-4kx8a9S0d7fE6g5h4j3k2l' },
      { name: 'a non-ASCII password', args: [] as string[], password: 'pässwörd 密码 ✓' },
      { name: '-I 7 iterations', args: ['-I', '7'], password: 'short' },
    ])('gives byte for byte the line mosquitto_passwd -b writes, with its salt, for $name', async ({ args, password }) => {
      const file = path.join(dir, `passwd-${Math.random().toString(36).slice(2)}`);
      await writeFile(file, '', { mode: 0o600 });
      await execFileAsync(findCommand('mosquitto_passwd', 'mosquitto'), [...args, '-b', file, 'gw-a', password]);
      const theirs = (await readFile(file, 'utf8')).trimEnd();
      const [, , iterations, salt] = LINE.exec(theirs) ?? [];
      expect(iterations).toBeDefined();
      if (args.length === 0) expect(iterations).toBe('101');
      const ours = mosquittoPasswordLine('gw-a', password, { salt: Buffer.from(salt!, 'base64'), iterations: Number(iterations) });
      expect(Buffer.from(ours, 'utf8').equals(Buffer.from(theirs, 'utf8'))).toBe(true);
    });
  });

  it.each([
    { username: 'gw:a', error: /contains ':'/ },
    { username: 'gw a', error: /whitespace or a newline/ },
    { username: 'gw-a\nmallory', error: /whitespace or a newline/ },
    { username: 'gw-a\t', error: /whitespace or a newline/ },
    { username: '', error: /cannot be empty/ },
  ])('refuses the username $username', ({ username, error }) => {
    expect(() => mosquittoPasswordLine(username, 'secret')).toThrow(error);
  });

  it('refuses an empty password and nonsense iterations', () => {
    expect(() => mosquittoPasswordLine('gw-a', '')).toThrow(/password of "gw-a" cannot be empty/);
    expect(() => mosquittoPasswordLine('gw-a', 'secret', { iterations: 0 })).toThrow(/positive integer/);
    expect(() => mosquittoPasswordLine('gw-a', 'secret', { iterations: 1.5 })).toThrow(/positive integer/);
  });
});

describe('mosquittoPasswordFile', () => {
  it('writes one newline-terminated line per entry, each verifiable', () => {
    const text = mosquittoPasswordFile([
      { username: 'gw-a', password: 'a-secret' },
      { username: 'dashboard', password: 'd-secret' },
    ]);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines.map((line) => line.split(':')[0])).toEqual(['gw-a', 'dashboard']);
    for (const [line, password] of [[lines[0]!, 'a-secret'], [lines[1]!, 'd-secret']] as const) {
      const [, , iterations, salt, hash] = LINE.exec(line) ?? [];
      expect(pbkdf2Sync(password, Buffer.from(salt!, 'base64'), Number(iterations), 64, 'sha512').toString('base64')).toBe(hash);
    }
  });

  it('is empty for no entries, and refuses a username twice or a bad entry', () => {
    expect(mosquittoPasswordFile([])).toBe('');
    expect(() => mosquittoPasswordFile([{ username: 'gw-a', password: 'x' }, { username: 'gw-a', password: 'y' }])).toThrow(/appears twice/);
    expect(() => mosquittoPasswordFile([{ username: 'gw-a', password: '' }])).toThrow(/cannot be empty/);
  });
});
