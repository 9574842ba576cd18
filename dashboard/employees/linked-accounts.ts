import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../../platform/sqlite.js';
import type { AuditLog, AuditActor } from '../auth/audit.js';
import { AccountError, toUserView, type UserService, type UserView } from '../auth/users.js';
import type { Role } from '../auth/permissions.js';

/**
 * Console accounts that belong to an employee (made by an import or an HRIS sync, linked by
 * employee number). An import changes only these: never an account somebody made by hand.
 * Every method runs inside the caller's transaction and writes its audit row there.
 */

export interface LinkedAccount {
  id: string;
  username: string;
  employeeNumber: string;
  role: Role;
  sites: 'all' | string[];
  disabled: boolean;
}

interface AccountRow {
  id: string;
  username: string;
  employee_number: string;
  role: string;
  sites: string | null;
  disabled: number;
  [column: string]: string | number | null;
}

const toAccount = (row: AccountRow): LinkedAccount => ({
  id: row.id,
  username: row.username,
  employeeNumber: row.employee_number,
  role: row.role as Role,
  sites: row.sites === null ? 'all' : (JSON.parse(row.sites) as string[]),
  disabled: row.disabled === 1,
});

/** The username an import gives an employee's account: the employee number in lower case. */
export const usernameOf = (employeeNumber: string): string => employeeNumber.toLowerCase();

export class LinkedAccounts {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly users: UserService,
    private readonly now: () => Date,
  ) {}

  /** The linked accounts of these employees, by employee number. */
  async of(employeeNumbers: readonly string[]): Promise<Map<string, LinkedAccount>> {
    const accounts = new Map<string, LinkedAccount>();
    for (let i = 0; i < employeeNumbers.length; i += 500) {
      const chunk = employeeNumbers.slice(i, i + 500);
      const rows = await this.db.all<AccountRow>(
        `SELECT id, username, employee_number, role, sites, disabled FROM users WHERE employee_number IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) accounts.set(row.employee_number, toAccount(row));
    }
    return accounts;
  }

  /** Usernames, among these, that belong to accounts not linked to that employee (an import may not take them). */
  async takenUsernames(employeeNumbers: readonly string[]): Promise<Map<string, string>> {
    const taken = new Map<string, string>();
    for (let i = 0; i < employeeNumbers.length; i += 500) {
      const chunk = employeeNumbers.slice(i, i + 500);
      const rows = await this.db.all<{ username: string; employee_number: string | null }>(
        `SELECT username, employee_number FROM users WHERE username IN (${chunk.map(() => '?').join(', ')})`,
        chunk.map(usernameOf),
      );
      for (const row of rows) {
        const owner = chunk.find((number) => usernameOf(number) === row.username.toLowerCase());
        if (owner !== undefined && row.employee_number !== owner) taken.set(owner, row.username);
      }
    }
    return taken;
  }

  async create(employeeNumber: string, role: Role, sites: 'all' | string[], passwordHash: string, actor: AuditActor): Promise<LinkedAccount> {
    const id = uuidv7();
    const at = this.now().toISOString();
    const username = usernameOf(employeeNumber);
    if (await this.db.get('SELECT id FROM users WHERE username = ?', [username])) throw new AccountError(409, `user ${username} already exists and is not linked to employee ${employeeNumber}`, 'username');
    await this.db.run(
      `INSERT INTO users (id, username, role, sites, password_hash, must_change_password, disabled, created_at, updated_at, password_changed_at, employee_number)
       VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?)`,
      [id, username, role, sites === 'all' ? null : JSON.stringify(sites), passwordHash, at, at, at, employeeNumber],
    );
    await this.audit.record({ actor, action: 'user.create', entity: 'user', entityId: id, after: await this.view(id) });
    return (await this.of([employeeNumber])).get(employeeNumber) as LinkedAccount;
  }

  /** A new role and sites, enabled again if it was disabled. */
  async update(account: LinkedAccount, role: Role, sites: 'all' | string[], actor: AuditActor): Promise<void> {
    if (account.role === 'admin' && role !== 'admin') await this.refuseLastAdmin(account);
    const before = await this.view(account.id);
    await this.db.run('UPDATE users SET role = ?, sites = ?, disabled = 0, updated_at = ? WHERE id = ?', [role, sites === 'all' ? null : JSON.stringify(sites), this.now().toISOString(), account.id]);
    await this.audit.record({ actor, action: 'user.update', entity: 'user', entityId: account.id, before, after: await this.view(account.id) });
  }

  /** Disabled and signed out everywhere. */
  async disable(account: LinkedAccount, actor: AuditActor): Promise<void> {
    if (account.role === 'admin') await this.refuseLastAdmin(account);
    const before = await this.view(account.id);
    await this.db.run('UPDATE users SET disabled = 1, updated_at = ? WHERE id = ?', [this.now().toISOString(), account.id]);
    await this.db.run('DELETE FROM sessions WHERE user_id = ?', [account.id]);
    await this.audit.record({ actor, action: 'user.disable', entity: 'user', entityId: account.id, before, after: await this.view(account.id) });
  }

  private async refuseLastAdmin(account: LinkedAccount): Promise<void> {
    const others = (await this.db.get<{ n: number }>("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?", [account.id]))?.n ?? 0;
    if (others === 0) throw new AccountError(409, `${account.username} (employee ${account.employeeNumber}) is the last enabled admin: make another admin first`, 'role');
  }

  private async view(id: string): Promise<UserView | null> {
    const user = await this.users.get(id);
    return user ? toUserView(user) : null;
  }
}
