import { parseArgs } from 'node:util';
import type { AuditActor } from '../auth/audit.js';
import { AuditLog } from '../auth/audit.js';
import { NewPassword } from '../auth/passwords.js';
import { AccountError, Username, UserService } from '../auth/users.js';
import { DashboardConfigError, loadDashboardConfig } from '../config-file.js';
import { CentralDbError, openCentralDb } from '../db/central-db.js';

export const createAdminUsage = `usage: punchgate dashboard create-admin --config FILE --username NAME [--password-stdin] [--reset]

Makes an admin account in the dashboard's database (the dashboard may be running). Without
--password-stdin it prints a generated one-time password, once, to be changed at first sign-in.
  --password-stdin   read the password from standard input instead (at least 12 characters)
  --reset            the user exists: make it an enabled admin again, with a new password
                     (for a lost admin password)`;

export interface CreateAdminIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  stdin?: NodeJS.ReadableStream;
}

const CLI_ACTOR: AuditActor = { kind: 'system', id: 'cli', name: 'punchgate dashboard create-admin' };

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** `punchgate dashboard create-admin`: returns the exit code (0 made, 1 refused, 2 usage or config). */
export async function runCreateAdmin(argv: string[], io: CreateAdminIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        username: { type: 'string', short: 'u' },
        'password-stdin': { type: 'boolean' },
        reset: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${createAdminUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(createAdminUsage);
    return 0;
  }
  if (!values.config || !values.username) {
    io.stderr(`--config FILE and --username NAME are required\n${createAdminUsage}`);
    return 2;
  }
  const username = Username.safeParse(values.username);
  if (!username.success) {
    io.stderr(`punchgate dashboard create-admin: --username ${username.error.issues[0]?.message ?? 'is not valid'}`);
    return 2;
  }
  let chosen: string | undefined;
  if (values['password-stdin']) {
    if (!io.stdin) {
      io.stderr('punchgate dashboard create-admin: no standard input to read the password from');
      return 2;
    }
    // One trailing newline (from echo or a here-string) is not part of the password.
    const password = NewPassword.safeParse((await readAll(io.stdin)).replace(/\r?\n$/, ''));
    if (!password.success) {
      io.stderr(`punchgate dashboard create-admin: the password from standard input ${password.error.issues[0]?.message ?? 'is not valid'}`);
      return 2;
    }
    chosen = password.data;
  }
  let config;
  try {
    config = await loadDashboardConfig(values.config);
  } catch (error) {
    if (error instanceof DashboardConfigError) {
      io.stderr(`punchgate dashboard create-admin: the config file is not valid, nothing was changed:\n${error.message}`);
      return 2;
    }
    throw error;
  }
  let opened;
  try {
    opened = await openCentralDb(config.dataDir);
  } catch (error) {
    if (error instanceof CentralDbError) {
      io.stderr(`punchgate dashboard create-admin: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const { db } = opened;
  try {
    const now = (): Date => new Date();
    const users = new UserService(db, new AuditLog(db, now), now);
    const existing = await users.getByUsername(username.data);
    let password: string;
    if (existing) {
      if (!values.reset) {
        io.stderr(`punchgate dashboard create-admin: user ${existing.username} already exists; add --reset to make it an enabled admin with a new password`);
        return 1;
      }
      if (existing.role !== 'admin' || existing.disabled) await users.update(existing.id, { role: 'admin', disabled: false }, CLI_ACTOR);
      ({ password } = await users.resetPassword(existing.id, CLI_ACTOR, chosen));
    } else {
      ({ password } = await users.create({ username: username.data, role: 'admin', ...(chosen === undefined ? {} : { password: chosen }) }, CLI_ACTOR));
    }
    if (chosen === undefined) {
      io.stdout(`admin ${username.data} ${existing ? 'reset' : 'made'}; one-time password (shown only this once, to be changed at first sign-in):`);
      io.stdout(`  username: ${username.data}`);
      io.stdout(`  password: ${password}`);
    } else {
      io.stdout(`admin ${username.data} ${existing ? 'reset' : 'made'} with the password from standard input`);
    }
    return 0;
  } catch (error) {
    if (error instanceof AccountError) {
      io.stderr(`punchgate dashboard create-admin: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await db.close();
  }
}
