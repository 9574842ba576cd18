import type { Logger } from 'pino';
import { credentialKey, mistakableFor, wiegand26Reading, type Credential } from '../../core/credential.js';
import type { Database } from '../../platform/sqlite.js';
import { planImport, type CurrentEmployee, type ImportPlan, type PlannedEmployee } from '../../provisioning/employee-import/plan-import.js';
import { heldBadgeMessage, mistakableBadgeMessage, type ImportContext, type ImportError, type ValidEmployeeRow } from '../../provisioning/employee-import/validate-rows.js';
import type { AuditLog } from '../auth/audit.js';
import { hashPassword, oneTimePassword } from '../auth/passwords.js';
import type { DepartmentRepository } from './department-repository.js';
import type { EmployeeRow } from './employee-repository.js';
import type { EmployeeService } from './employee-service.js';
import type { Access } from './employee-model.js';
import { usernameOf, type LinkedAccount, type LinkedAccounts } from './linked-accounts.js';

/**
 * Bulk onboarding, for the import file and the HRIS sync alike: the records are checked (by the
 * caller, with {@link EmployeeSync.context}), then checked against what this caller may do and
 * what the database holds, then planned (provisioning/employee-import/plan-import.ts) and, on
 * commit, written in ONE transaction with every change audited, after which the gateways of every
 * touched site hear of it once. A failing record leaves the database as it was.
 */

export type SyncMode = 'upsert' | 'full';

export interface SyncRequest {
  /** Records that passed the record checks. */
  records: readonly ValidEmployeeRow[];
  /** What the record checks found: a commit with any is refused. */
  errors: readonly ImportError[];
  mode: SyncMode;
  access: Access;
  /** Whether the caller may give console roles (users:manage): the role column needs it. */
  mayGrantRoles: boolean;
  /** Written in the audit summary: `import FILE.csv` or `hris`. */
  source: string;
  /** Called now and then, for progress bars. */
  onProgress?: (progress: SyncProgress) => void;
}

export interface SyncProgress {
  phase: 'check' | 'commit';
  done: number;
  total: number;
}

export interface SyncPreview {
  counts: ImportPlan['counts'];
  employees: PlannedEmployee[];
  errors: ImportError[];
}

/** An account an import made: its one-time password is shown this once. */
export interface CreatedAccount {
  employeeNumber: string;
  username: string;
  oneTimePassword: string;
}

export interface SyncResult extends SyncPreview {
  accounts: CreatedAccount[];
}

/** A commit refused before anything was written: the errors say why, on their rows. */
export class SyncRefusedError extends Error {
  override name = 'SyncRefusedError';
  constructor(readonly errors: ImportError[]) {
    super(`${errors.length} error(s) in the records: nothing was written`);
  }
}

export interface EmployeeSyncOptions {
  db: Database;
  employees: EmployeeService;
  departments: DepartmentRepository;
  accounts: LinkedAccounts;
  audit: AuditLog;
  logger: Logger;
}

const CHUNK = 500;
const PROGRESS_EVERY = 250;

const chunks = <T>(items: readonly T[]): T[][] => Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK));
const inList = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** Badges in force: their holders by `kind:UID`, and the holder of a badge a given one is mistakable for. */
interface BadgeHolders {
  byKey: Map<string, string>;
  mistakable(credential: Credential, notHeldBy: string | null): { key: string; holder: string } | undefined;
}

export class EmployeeSync {
  constructor(private readonly options: EmployeeSyncOptions) {}

  /** What the record checks need from the database: sites, department codes, badge holders. */
  async context(): Promise<ImportContext> {
    const sites = new Set((await this.options.db.all<{ id: string }>('SELECT id FROM sites')).map((row) => row.id));
    const holders = await this.holders();
    return { knownSites: sites, knownDepartments: await this.options.departments.knownCodes(), badgeHolder: (key) => holders.byKey.get(key), mistakableHolder: (credential, employeeNumber) => holders.mistakable(credential, employeeNumber) };
  }

  /** Who holds each badge in force, by `kind:UID`, and by what a Wiegand-26 reader reads from it. */
  private async holders(): Promise<BadgeHolders> {
    const byKey = new Map<string, string>();
    const byReading = new Map<string, Array<{ credential: Credential; holder: string }>>();
    for (const row of await this.options.db.all<{ credential_kind: string; credential_uid: string; employee_number: string }>(
      'SELECT credential_kind, credential_uid, employee_number FROM badge_assignments WHERE revoked_at IS NULL',
    )) {
      byKey.set(`${row.credential_kind}:${row.credential_uid}`, row.employee_number);
      const credential = { kind: row.credential_kind, uid: row.credential_uid } as Credential;
      const reading = wiegand26Reading(credential);
      if (reading !== undefined) byReading.set(reading, [...(byReading.get(reading) ?? []), { credential, holder: row.employee_number }]);
    }
    return {
      byKey,
      mistakable: (credential, notHeldBy) => {
        const reading = wiegand26Reading(credential);
        const found = reading === undefined ? undefined : byReading.get(reading)?.find((held) => held.holder !== notHeldBy && mistakableFor(held.credential, credential));
        return found ? { key: credentialKey(found.credential), holder: found.holder } : undefined;
      },
    };
  }

  /** What a commit would do, and every error that would refuse it. Writes nothing. */
  async preview(request: SyncRequest): Promise<SyncPreview> {
    const { plan, errors } = await this.check(request);
    return { counts: plan.counts, employees: plan.employees, errors };
  }

  /** Writes the plan in one transaction, or nothing (SyncRefusedError, or the error that stopped it). */
  async commit(request: SyncRequest): Promise<SyncResult> {
    const checked = await this.check(request);
    if (checked.errors.length > 0) throw new SyncRefusedError(checked.errors);
    // Hashing a password takes scrypt's time: done before the transaction, for the accounts the plan makes.
    const passwords = new Map<string, { password: string; hash: string }>();
    await Promise.all(
      checked.plan.employees
        .filter((planned) => planned.account?.action === 'create')
        .map(async (planned) => {
          const password = oneTimePassword();
          passwords.set(planned.employeeNumber, { password, hash: await hashPassword(password) });
        }),
    );
    const { db, employees, accounts, audit } = this.options;
    const { access } = request;
    const result = await db.transaction(async () => {
      // Planned again inside the transaction: what a concurrent change did since the check counts.
      const { plan, errors } = await this.check({ ...request, onProgress: undefined });
      if (errors.length > 0) throw new SyncRefusedError(errors);
      const touched = new Set<string>();
      const created: CreatedAccount[] = [];
      const linked = await accounts.of(plan.employees.filter((planned) => planned.account).map((planned) => planned.employeeNumber));
      const writes = plan.employees.filter((planned) => planned.outcome !== 'unchanged');
      const actorName = await employees.repository.actorName(access.actor.id);
      // Everyone the import changes, read at once: their writes then build the audit's "after" from it.
      const before = await employees.repository.getMany(writes.filter((planned) => planned.outcome !== 'create').map((planned) => planned.employeeNumber));
      let done = 0;
      for (const planned of writes) {
        const number = planned.employeeNumber;
        if (planned.outcome === 'create' && planned.fields && !planned.consent && !planned.account) {
          // The common case of a first import, written without reading back (a third of the statements).
          await employees.createInTransaction(number, planned.fields, planned.assign, access, actorName);
          for (const site of planned.fields.sites) touched.add(site);
          done += 1;
          if (done % PROGRESS_EVERY === 0) request.onProgress?.({ phase: 'commit', done, total: writes.length });
          continue;
        }
        const known = before.get(number);
        let sites = known?.sites ?? [];
        for (const site of sites) touched.add(site);
        if (planned.fields) {
          const employee = known
            ? await employees.updateInTransaction(number, planned.fields, known, access)
            : (await employees.putInTransaction(number, planned.fields, access, planned.outcome === 'create' ? { before: undefined } : undefined)).employee;
          sites = employee.sites;
          for (const site of sites) touched.add(site);
        }
        const reason = planned.fields?.status === 'inactive' ? `employee deactivated by ${request.source}` : `not in ${request.source}`;
        for (const credential of planned.revoke) await employees.revokeInTransaction(number, credential, access, reason);
        for (const credential of planned.assign) await employees.assignInTransaction(number, credential, access, sites);
        if (planned.consent) await employees.consentInTransaction(number, planned.consent.action === 'record', access, planned.consent.action === 'record' && planned.consent.date ? `${planned.consent.date}T00:00:00.000Z` : undefined);
        const account = planned.account;
        if (account?.action === 'create') {
          const secret = passwords.get(number) ?? (await this.newPassword());
          const made = await accounts.create(number, account.role, account.sites, secret.hash, access.actor);
          created.push({ employeeNumber: number, username: made.username, oneTimePassword: secret.password });
        } else if (account?.action === 'update') {
          await accounts.update(linked.get(number) as LinkedAccount, account.role, account.sites, access.actor);
        } else if (account?.action === 'disable') {
          await accounts.disable(linked.get(number) as LinkedAccount, access.actor);
        }
        done += 1;
        if (done % PROGRESS_EVERY === 0) request.onProgress?.({ phase: 'commit', done, total: writes.length });
      }
      // Nothing written, nothing logged: the same file twice changes nothing the second time.
      if (writes.length > 0) await audit.record({
        actor: access.actor,
        action: 'employees.import',
        entity: 'employee-import',
        entityId: request.source,
        after: { mode: request.mode, records: request.records.length, ...plan.counts, accountsCreated: created.length },
      });
      return { plan, created, touched };
    });
    request.onProgress?.({ phase: 'commit', done: result.plan.employees.length, total: result.plan.employees.length });
    this.options.employees.gateways?.sitesChanged(result.touched);
    this.options.logger.info({ source: request.source, mode: request.mode, ...result.plan.counts, accountsCreated: result.created.length }, 'employee import committed');
    return { counts: result.plan.counts, employees: result.plan.employees, errors: [], accounts: result.created };
  }

  private async newPassword(): Promise<{ password: string; hash: string }> {
    const password = oneTimePassword();
    return { password, hash: await hashPassword(password) };
  }

  /** Plans the records against the database and adds the errors only the database can tell. */
  private async check(request: SyncRequest): Promise<{ plan: ImportPlan; errors: ImportError[] }> {
    const { access } = request;
    const numbers = request.records.map((record) => record.employeeNumber);
    const current = await this.current(numbers);
    const errors: ImportError[] = [...request.errors];
    const reaches = (site: string) => access.sites === 'all' || access.sites.includes(site);
    const taken = await this.options.accounts.takenUsernames(request.records.filter((record) => record.columns.includes('role') && record.role !== null).map((record) => record.employeeNumber));
    let done = 0;
    for (const record of request.records) {
      const fail = (column: string, message: string, messageZh: string) => errors.push({ row: record.row, column, message, messageZh });
      const existing = current.get(record.employeeNumber);
      if (existing && access.sites !== 'all' && !existing.sites.some(reaches)) {
        fail('employee_number', `employee ${record.employeeNumber} is not at a site you manage`, `員工 ${record.employeeNumber} 不在你管理的地點`);
      }
      const outside = record.sites.filter((site) => !reaches(site));
      if (outside.length > 0) fail('sites', `you may not manage employees of site ${outside.join(', ')}`, `你不可管理地點 ${outside.join('、')} 的員工`);
      const username = taken.get(record.employeeNumber);
      if (username !== undefined) fail('role', `the console already has a user ${username} that is not this employee's account; rename that user or leave role empty`, `系統已有不屬於此員工的用戶 ${username}；請先更改該用戶名稱，或將角色留空`);
      if (record.columns.includes('role') && record.role !== null && usernameOf(record.employeeNumber).length < 2) {
        fail('role', `employee number ${record.employeeNumber} is too short to be a console username (at least 2 characters)`, `員工編號 ${record.employeeNumber} 太短，不能作為登入名稱（最少 2 個字元）`);
      }
      done += 1;
      if (done % PROGRESS_EVERY === 0) request.onProgress?.({ phase: 'check', done, total: request.records.length });
    }
    const fullScope = request.mode === 'full' ? await this.inReach(access, current) : undefined;
    const plan = planImport(request.records, current, { mode: request.mode, ...(fullScope ? { fullScope } : {}) });
    // Badges given since the records were checked (inside the commit's transaction: what is true now).
    const holders = await this.holders();
    const released = new Set(plan.employees.flatMap((planned) => planned.revoke.map((credential) => `${credential.kind}:${credential.uid}`)));
    for (const planned of plan.employees) {
      for (const credential of planned.assign) {
        const key = `${credential.kind}:${credential.uid}`;
        if (request.errors.some((error) => error.row === planned.row && error.column === 'badges')) continue;
        const column = credential.kind === 'ble-tag' ? 'ble_tag' : 'badges';
        const holder = holders.byKey.get(key);
        if (holder !== undefined && holder !== planned.employeeNumber && !released.has(key)) {
          errors.push({ row: planned.row ?? 0, column, ...heldBadgeMessage(key, holder) });
          continue;
        }
        const lookalike = holders.mistakable(credential, planned.employeeNumber);
        if (lookalike && !released.has(lookalike.key)) {
          errors.push({ row: planned.row ?? 0, column, ...mistakableBadgeMessage(key, lookalike.key, lookalike.holder) });
        }
      }
    }
    if (!request.mayGrantRoles) {
      for (const planned of plan.employees) {
        if (planned.account && planned.account.action !== 'disable') {
          errors.push({ row: planned.row ?? 0, column: 'role', message: 'giving console roles needs the users:manage permission (an admin); leave the role column out or empty', messageZh: '授予系統角色需要 users:manage 權限（管理員）；請刪除角色欄或留空' });
        }
      }
    }
    request.onProgress?.({ phase: 'check', done: request.records.length, total: request.records.length });
    errors.sort((a, b) => a.row - b.row);
    return { plan, errors };
  }

  /** Every active employee the caller reaches (for a full sync), reusing the ones already loaded. */
  private async inReach(access: Access, loaded: Map<string, CurrentEmployee>): Promise<CurrentEmployee[]> {
    const { db } = this.options;
    const rows =
      access.sites === 'all'
        ? await db.all<{ employee_number: string }>("SELECT employee_number FROM employees WHERE status = 'active'")
        : access.sites.length === 0
          ? []
          : await db.all<{ employee_number: string }>(
              `SELECT DISTINCT e.employee_number FROM employees e JOIN employee_sites s ON s.employee_number = e.employee_number WHERE e.status = 'active' AND s.site_id IN (${inList(access.sites.length)})`,
              [...access.sites],
            );
    const missing = rows.map((row) => row.employee_number).filter((number) => !loaded.has(number));
    const more = await this.current(missing);
    return rows.map((row) => loaded.get(row.employee_number) ?? (more.get(row.employee_number) as CurrentEmployee));
  }

  /** The employees with these numbers as they are now, in bulk (a few queries per 500). */
  private async current(numbers: readonly string[]): Promise<Map<string, CurrentEmployee>> {
    const { db } = this.options;
    const result = new Map<string, CurrentEmployee>();
    const linked = await this.options.accounts.of(numbers);
    for (const chunk of chunks(numbers)) {
      const list = inList(chunk.length);
      const sites = new Map<string, string[]>();
      for (const row of await db.all<{ employee_number: string; site_id: string }>(`SELECT employee_number, site_id FROM employee_sites WHERE employee_number IN (${list})`, chunk)) {
        sites.set(row.employee_number, [...(sites.get(row.employee_number) ?? []), row.site_id]);
      }
      const credentials = new Map<string, Credential[]>();
      for (const row of await db.all<{ employee_number: string; credential_kind: string; credential_uid: string }>(
        `SELECT employee_number, credential_kind, credential_uid FROM badge_assignments WHERE revoked_at IS NULL AND employee_number IN (${list}) ORDER BY id`,
        chunk,
      )) {
        credentials.set(row.employee_number, [...(credentials.get(row.employee_number) ?? []), { kind: row.credential_kind, uid: row.credential_uid } as Credential]);
      }
      const consent = new Set((await db.all<{ employee_number: string }>(`SELECT employee_number FROM ble_consents WHERE withdrawn_at IS NULL AND employee_number IN (${list})`, chunk)).map((row) => row.employee_number));
      for (const row of await db.all<EmployeeRow>(`SELECT * FROM employees WHERE employee_number IN (${list})`, chunk)) {
        const account = linked.get(row.employee_number);
        result.set(row.employee_number, {
          employeeNumber: row.employee_number,
          name: row.name,
          nameZh: row.name_zh,
          department: row.department,
          rank: row.rank,
          phone: row.phone,
          email: row.email,
          sites: (sites.get(row.employee_number) ?? []).sort(),
          activeFrom: row.active_from,
          activeUntil: row.active_until,
          status: row.status === 'inactive' ? 'inactive' : 'active',
          credentials: credentials.get(row.employee_number) ?? [],
          bleConsent: consent.has(row.employee_number),
          account: account ? { role: account.role, sites: account.sites, disabled: account.disabled } : null,
        });
      }
    }
    return result;
  }
}
