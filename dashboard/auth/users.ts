import { decodeCursor, encodeCursor, keysetPage } from '../db/keyset-cursor.js';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { EntityId } from '../../core/punch.js';
import type { Database, SqlValue } from '../../platform/sqlite.js';
import type { AuditActor, AuditLog } from './audit.js';
import { dummyPasswordHash, hashPassword, oneTimePassword, verifyPassword } from './passwords.js';
import { Role, siteScopedRoles, type Principal } from './permissions.js';

/**
 * Console users: a username, a role, the sites a site-scoped role reaches, a scrypt password hash.
 * Every change is audited in its own transaction. Users are never deleted, only disabled, so the
 * audit log always names someone who existed.
 */

export const Username = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._@-]{1,63}$/, 'must be 2-64 characters: letters, digits and . _ @ - (starting with a letter or digit)');

/** A list of site ids for a site-scoped role; 'all' for the others. */
export const SiteScope = z.union([z.literal('all'), z.array(EntityId).max(1000, 'at most 1000 sites')]);
export type SiteScope = z.infer<typeof SiteScope>;

export const UserView = z.object({
  id: z.string(),
  username: z.string(),
  role: Role,
  sites: SiteScope,
  mustChangePassword: z.boolean(),
  disabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  passwordChangedAt: z.string().nullable(),
  lastLoginAt: z.string().nullable(),
});
export type UserView = z.infer<typeof UserView>;

interface UserRow {
  id: string;
  username: string;
  role: string;
  sites: string | null;
  password_hash: string;
  must_change_password: number;
  disabled: number;
  created_at: string;
  updated_at: string;
  password_changed_at: string | null;
  last_login_at: string | null;
  [column: string]: SqlValue;
}

export interface User extends UserView {
  passwordHash: string;
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    role: Role.parse(row.role),
    sites: row.sites === null ? 'all' : (JSON.parse(row.sites) as string[]),
    mustChangePassword: row.must_change_password === 1,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    passwordChangedAt: row.password_changed_at,
    lastLoginAt: row.last_login_at,
    passwordHash: row.password_hash,
  };
}

export function toUserView(user: User): UserView {
  const { passwordHash: _secret, ...view } = user;
  return view;
}

export function userPrincipal(user: Pick<User, 'id' | 'username' | 'role' | 'sites'>): Principal {
  return { kind: 'user', id: user.id, name: user.username, role: user.role, sites: user.sites };
}

/** A problem with a requested change, for a 4xx answer: `field` names the offending input. */
export class AccountError extends Error {
  override name = 'AccountError';
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * The sites stored for a role: site-scoped roles need a list (at least one site), the others
 * reach every site. Throws an AccountError (400, field `sites`) otherwise.
 */
export function scopeFor(role: Role, sites: SiteScope | undefined): SiteScope {
  if (siteScopedRoles.includes(role)) {
    if (sites === undefined || sites === 'all' || sites.length === 0) throw new AccountError(400, `the ${role} role reaches only the sites listed: give at least one site id`, 'sites');
    return [...new Set(sites)].sort();
  }
  if (sites !== undefined && sites !== 'all') throw new AccountError(400, `the ${role} role reaches every site: leave sites out (or send "all")`, 'sites');
  return 'all';
}




export interface UserChange {
  role?: Role;
  sites?: SiteScope;
  disabled?: boolean;
}

export class UserService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
  ) {}

  async count(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM users'))?.n ?? 0;
  }

  async get(id: string): Promise<User | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE id = ?', [id]);
    return row ? toUser(row) : undefined;
  }

  async getByUsername(username: string): Promise<User | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE username = ?', [username.trim().toLowerCase()]);
    return row ? toUser(row) : undefined;
  }

  /** Users by username, keyset-paged. */
  async list(query: { limit: number; cursor?: string }): Promise<{ users: UserView[]; nextCursor: string | null }> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 'string')[0];
    const rows = await this.db.all<UserRow>(
      `SELECT * FROM users ${after === undefined ? '' : 'WHERE username > ?'} ORDER BY username LIMIT ?`,
      after === undefined ? [query.limit + 1] : [after, query.limit + 1],
    );
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.username]);
    return { users: page.map((row) => toUserView(toUser(row))), nextCursor };
  }

  /**
   * Creates a user. Without `password` a one-time password is generated (returned once, never
   * stored in the clear) and must be changed at first sign-in.
   */
  async create(
    input: { username: string; role: Role; sites?: SiteScope; password?: string; mustChangePassword?: boolean },
    actor: AuditActor | undefined,
  ): Promise<{ user: UserView; password: string }> {
    const username = Username.parse(input.username);
    const sites = scopeFor(input.role, input.sites);
    const password = input.password ?? oneTimePassword();
    const passwordHash = await hashPassword(password);
    const at = this.now().toISOString();
    const id = uuidv7();
    const mustChange = input.password === undefined ? true : (input.mustChangePassword ?? false);
    const user = await this.db.transaction(async () => {
      if (await this.db.get('SELECT id FROM users WHERE username = ?', [username])) throw new AccountError(409, `user ${username} already exists`, 'username');
      await this.db.run(
        `INSERT INTO users (id, username, role, sites, password_hash, must_change_password, disabled, created_at, updated_at, password_changed_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
        [id, username, input.role, sites === 'all' ? null : JSON.stringify(sites), passwordHash, mustChange ? 1 : 0, at, at, at],
      );
      const created = toUserView((await this.get(id)) as User);
      await this.audit.record({ actor, action: 'user.create', entity: 'user', entityId: id, after: created });
      return created;
    });
    return { user, password };
  }

  /** Changes role, sites or disabled; refuses to leave no enabled admin. Disabling signs the user out everywhere. */
  async update(id: string, change: UserChange, actor: AuditActor | undefined): Promise<UserView> {
    return this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before) throw new AccountError(404, `user ${id} does not exist`);
      const role = change.role ?? before.role;
      // Without new sites: a site-scoped role keeps the stored list (a role that was not scoped has
      // none, and scopeFor asks for one); the other roles reach every site.
      const sites = scopeFor(role, change.sites ?? (siteScopedRoles.includes(role) ? before.sites : 'all'));
      const disabled = change.disabled ?? before.disabled;
      if (before.role === 'admin' && !before.disabled && (role !== 'admin' || disabled)) {
        const admins = (await this.db.get<{ n: number }>("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?", [id]))?.n ?? 0;
        if (admins === 0) throw new AccountError(409, `${before.username} is the last enabled admin: make another admin first`, change.disabled ? 'disabled' : 'role');
      }
      await this.db.run('UPDATE users SET role = ?, sites = ?, disabled = ?, updated_at = ? WHERE id = ?', [
        role,
        sites === 'all' ? null : JSON.stringify(sites),
        disabled ? 1 : 0,
        this.now().toISOString(),
        id,
      ]);
      if (disabled) await this.db.run('DELETE FROM sessions WHERE user_id = ?', [id]);
      const after = toUserView((await this.get(id)) as User);
      await this.audit.record({ actor, action: disabled && !before.disabled ? 'user.disable' : 'user.update', entity: 'user', entityId: id, before: toUserView(before), after });
      return after;
    });
  }

  /**
   * A new one-time password (returned once), to be changed at next sign-in; signs the user out
   * everywhere. With `chosen` (the CLI's --password-stdin), that password, not to be changed.
   */
  async resetPassword(id: string, actor: AuditActor | undefined, chosen?: string): Promise<{ user: UserView; password: string }> {
    const password = chosen ?? oneTimePassword();
    const passwordHash = await hashPassword(password);
    const user = await this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before) throw new AccountError(404, `user ${id} does not exist`);
      const at = this.now().toISOString();
      await this.db.run('UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ?, updated_at = ? WHERE id = ?', [passwordHash, chosen === undefined ? 1 : 0, at, at, id]);
      await this.db.run('DELETE FROM sessions WHERE user_id = ?', [id]);
      const after = toUserView((await this.get(id)) as User);
      await this.audit.record({ actor, action: 'user.password-reset', entity: 'user', entityId: id, before: toUserView(before), after });
      return after;
    });
    return { user, password };
  }

  /**
   * The user's own password change: checks the current one, refuses reusing it, clears
   * must-change, and ends every other session of the user (`keepSessionHash` stays).
   */
  async changePassword(id: string, current: string, next: string, keepSessionHash: string | undefined, actor: AuditActor | undefined): Promise<UserView> {
    const user = await this.get(id);
    if (!user || user.disabled) throw new AccountError(404, 'no such user');
    if (!(await verifyPassword(current, user.passwordHash))) throw new AccountError(400, 'the current password is not right', 'currentPassword');
    if (next === current) throw new AccountError(400, 'must differ from the current password', 'newPassword');
    if (next.trim().toLowerCase() === user.username) throw new AccountError(400, 'must not be the username', 'newPassword');
    const passwordHash = await hashPassword(next);
    return this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before || before.passwordHash !== user.passwordHash) throw new AccountError(409, 'the password was changed meanwhile; sign in again');
      const at = this.now().toISOString();
      await this.db.run('UPDATE users SET password_hash = ?, must_change_password = 0, password_changed_at = ?, updated_at = ? WHERE id = ?', [passwordHash, at, at, id]);
      await this.db.run('DELETE FROM sessions WHERE user_id = ? AND id_hash IS NOT ?', [id, keepSessionHash ?? null]);
      const after = toUserView((await this.get(id)) as User);
      await this.audit.record({ actor, action: 'user.password-change', entity: 'user', entityId: id, before: toUserView(before), after });
      return after;
    });
  }

  /**
   * The user with this username and password, if enabled; undefined otherwise. Takes as long
   * for an unknown username as for a wrong password.
   */
  async authenticate(username: string, password: string): Promise<User | undefined> {
    const user = await this.getByUsername(username);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    return ok && user && !user.disabled ? user : undefined;
  }

  async recordLogin(id: string): Promise<void> {
    await this.db.write('UPDATE users SET last_login_at = ? WHERE id = ?', [this.now().toISOString(), id]);
  }

  /**
   * First start: when there is no user at all, creates `admin` with a one-time password that must
   * be changed at first sign-in, and returns it (to be shown once). Undefined when users exist.
   */
  async ensureFirstAdmin(actor: AuditActor): Promise<{ username: string; password: string } | undefined> {
    if ((await this.count()) > 0) return undefined;
    try {
      const { user, password } = await this.create({ username: 'admin', role: 'admin' }, actor);
      return { username: user.username, password };
    } catch (error) {
      // Another process sharing the database made it first.
      if (error instanceof AccountError && error.status === 409) return undefined;
      throw error;
    }
  }
}
