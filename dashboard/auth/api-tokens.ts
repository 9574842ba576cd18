import { revocableListPage } from '../db/revocable-list.js';
import { timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database, SqlValue } from '../../platform/sqlite.js';
import type { AuditActor, AuditLog } from './audit.js';
import { randomSecret, sha256Hex } from './passwords.js';
import { Role, siteScopedRoles, type Principal } from './permissions.js';
import { AccountError, SiteScope } from './users.js';

/**
 * API tokens for integrations: `pgt_` and 256 random bits, shown once when made; the database
 * keeps only SHA-256 of it and a short hint to recognise it by. Each has a name, a role and
 * optionally a list of sites it is limited to (required for site-scoped roles). Revoked tokens
 * stay listed (with `revokedAt`) so that the audit log's references keep meaning something.
 */

export const TOKEN_PREFIX = 'pgt_';

export const TokenView = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
  sites: SiteScope,
  /** The first characters of the token, to tell it apart. */
  hint: z.string(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type TokenView = z.infer<typeof TokenView>;

interface TokenRow {
  id: string;
  name: string;
  role: string;
  sites: string | null;
  token_hash: string;
  hint: string;
  created_at: string;
  created_by: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  [column: string]: SqlValue;
}

function toView(row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    role: Role.parse(row.role),
    sites: row.sites === null ? 'all' : (JSON.parse(row.sites) as string[]),
    hint: row.hint,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}


const LAST_USED_EVERY_MS = 60_000;

/** The token from DATADIR/api-token (or the config's `apiToken`): admin-equivalent, kept for existing integrations. */
export const BOOTSTRAP_TOKEN_ID = 'bootstrap';

export class ApiTokenService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
    /** The bootstrap token, compared in constant time; undefined for none. */
    private readonly bootstrapToken?: string,
  ) {}

  /** Makes a token; the secret is in the answer and nowhere else. */
  async create(input: { name: string; role: Role; sites?: SiteScope }, actor: AuditActor | undefined): Promise<{ token: TokenView; secret: string }> {
    let sites: SiteScope = input.sites ?? 'all';
    if (siteScopedRoles.includes(input.role) && (sites === 'all' || sites.length === 0)) {
      throw new AccountError(400, `a ${input.role} token reaches only the sites listed: give at least one site id`, 'sites');
    }
    if (sites !== 'all') {
      if (sites.length === 0) throw new AccountError(400, 'give at least one site id, or leave sites out for every site', 'sites');
      sites = [...new Set(sites)].sort();
    }
    const secret = `${TOKEN_PREFIX}${randomSecret()}`;
    const id = uuidv7();
    const at = this.now().toISOString();
    const token = await this.db.transaction(async () => {
      await this.db.run('INSERT INTO api_tokens (id, name, role, sites, token_hash, hint, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        id,
        input.name,
        input.role,
        sites === 'all' ? null : JSON.stringify(sites),
        sha256Hex(secret),
        secret.slice(0, TOKEN_PREFIX.length + 4),
        at,
        actor ? `${actor.kind}:${actor.name}` : null,
      ]);
      const view = (await this.get(id)) as TokenView;
      await this.audit.record({ actor, action: 'token.create', entity: 'token', entityId: id, after: view });
      return view;
    });
    return { token, secret };
  }

  async get(id: string): Promise<TokenView | undefined> {
    const row = await this.db.get<TokenRow>('SELECT * FROM api_tokens WHERE id = ?', [id]);
    return row ? toView(row) : undefined;
  }

  /** Tokens in creation order, keyset-paged; revoked ones only when asked. */
  async list(query: { limit: number; cursor?: string; includeRevoked?: boolean }): Promise<{ tokens: TokenView[]; nextCursor: string | null }> {
    const { page, nextCursor } = await revocableListPage<TokenRow>(this.db, 'api_tokens', query);
    return { tokens: page.map(toView), nextCursor };
  }

  /** Revokes a token (from the next request on); revoking a revoked token changes nothing. */
  async revoke(id: string, actor: AuditActor | undefined): Promise<TokenView> {
    return this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before) throw new AccountError(404, `token ${id} does not exist`);
      if (before.revokedAt !== null) return before;
      await this.db.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ?', [this.now().toISOString(), id]);
      const after = (await this.get(id)) as TokenView;
      await this.audit.record({ actor, action: 'token.revoke', entity: 'token', entityId: id, before, after });
      return after;
    });
  }

  /** Revokes every live token with this name (the demo re-makes its token at each start). */
  async revokeNamed(name: string, actor: AuditActor | undefined): Promise<number> {
    const ids = await this.db.all<{ id: string }>('SELECT id FROM api_tokens WHERE name = ? AND revoked_at IS NULL', [name]);
    for (const { id } of ids) await this.revoke(id, actor);
    return ids.length;
  }

  /** The principal a bearer token stands for, or undefined for an unknown or revoked one. */
  async resolve(secret: string): Promise<Principal | undefined> {
    if (secret.length === 0 || secret.length > 256) return undefined;
    if (this.bootstrapToken !== undefined && secretEquals(secret, this.bootstrapToken)) {
      return { kind: 'token', id: BOOTSTRAP_TOKEN_ID, name: 'bootstrap token (DATADIR/api-token)', role: 'admin', sites: 'all' };
    }
    if (!secret.startsWith(TOKEN_PREFIX)) return undefined;
    // Looked up by its hash: timing tells nothing about a 256-bit secret's hash prefix that helps guess it.
    const row = await this.db.get<TokenRow>('SELECT * FROM api_tokens WHERE token_hash = ?', [sha256Hex(secret)]);
    if (!row || row.revoked_at !== null) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now.getTime() - Date.parse(row.last_used_at) >= LAST_USED_EVERY_MS) {
      await this.db.write('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [now.toISOString(), row.id]);
    }
    const view = toView(row);
    return { kind: 'token', id: view.id, name: view.name, role: view.role, sites: view.sites };
  }
}

function secretEquals(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

