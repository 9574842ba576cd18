import { revocableListPage } from '../db/revocable-list.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database, SqlValue } from '../../platform/sqlite.js';
import type { AuditActor, AuditLog } from './audit.js';
import { randomSecret, sha256Hex } from './passwords.js';
import { IntegrationScope, integrationScopes, type Permission, type Principal } from './permissions.js';
import { AccountError, SiteScope } from './users.js';

/**
 * Integration clients: OAuth 2.0 client credentials (RFC 6749 §4.4) for systems such as an HRIS.
 * An admin makes a client in the console with a name, the scopes it may be granted (permissions
 * from {@link integrationScopes}) and optionally the sites it is limited to; the answer shows the
 * client secret once. The client trades its id and secret for a short-lived access token at
 * POST /api/v1/oauth/token and calls /api/v1 with it as a bearer token. The principal of such a
 * token may do exactly what its granted scopes allow (see `can` in permissions.ts), within the
 * client's sites.
 *
 * Secrets and access tokens are 256-bit random values kept as SHA-256 only (like API tokens: no
 * salt or stretching is needed for values nobody chose). A revoked client's tokens stop working at
 * once, because every lookup joins the client. Every change to a client, and every token issued,
 * is audited in the same transaction.
 */

/** Public client ids: `pgc_` and 128 random bits (not a secret; in logs and the console). */
export const CLIENT_ID_PREFIX = 'pgc_';
/** Client secrets: `pgcs_` and 256 random bits, shown once. */
export const CLIENT_SECRET_PREFIX = 'pgcs_';
/** Access tokens: `pga_` and 256 random bits, told apart from API tokens (`pgt_`) by the prefix. */
export const ACCESS_TOKEN_PREFIX = 'pga_';

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
export const MIN_TOKEN_LIFETIME_SECONDS = 60;
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

const LAST_USED_EVERY_MS = 60_000;

export const IntegrationClientView = z.object({
  id: z.string(),
  /** The public client id (`pgc_…`), sent with the secret to get a token. */
  clientId: z.string(),
  name: z.string(),
  /** What its tokens may be granted. */
  scopes: z.array(IntegrationScope),
  sites: SiteScope,
  tokenLifetimeSeconds: z.number().int(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  secretRotatedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type IntegrationClientView = z.infer<typeof IntegrationClientView>;

interface ClientRow {
  id: string;
  client_id: string;
  name: string;
  scopes: string;
  sites: string | null;
  secret_hash: string;
  token_lifetime_seconds: number;
  created_at: string;
  created_by: string | null;
  secret_rotated_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  [column: string]: SqlValue;
}

interface TokenLookupRow {
  token_id: string;
  token_scopes: string;
  expires_at: string;
  token_revoked_at: string | null;
  client_pk: string;
  name: string;
  client_scopes: string;
  sites: string | null;
  client_revoked_at: string | null;
  last_used_at: string | null;
  [column: string]: SqlValue;
}

/** Stored scope lists, read back as the allowed ones only: a scope dropped from the list later grants nothing. */
function scopesOf(json: string): IntegrationScope[] {
  const parsed = z.array(z.string()).parse(JSON.parse(json));
  return parsed.filter((scope): scope is IntegrationScope => (integrationScopes as readonly string[]).includes(scope));
}

function sitesOf(json: string | null): SiteScope {
  return json === null ? 'all' : z.array(z.string()).parse(JSON.parse(json));
}

function toView(row: ClientRow): IntegrationClientView {
  return {
    id: row.id,
    clientId: row.client_id,
    name: row.name,
    scopes: scopesOf(row.scopes),
    sites: sitesOf(row.sites),
    tokenLifetimeSeconds: row.token_lifetime_seconds,
    createdAt: row.created_at,
    createdBy: row.created_by,
    secretRotatedAt: row.secret_rotated_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** Two SHA-256 hex digests compared in constant time: a secret's check takes as long whichever character differs. */
function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A requested scope the client may not be granted (RFC 6749 `invalid_scope`). */
export class ScopeError extends Error {
  override name = 'ScopeError';
}

export interface NewIntegrationClient {
  name: string;
  scopes: readonly IntegrationScope[];
  sites?: SiteScope;
  tokenLifetimeSeconds?: number;
}

export interface IntegrationClientChange {
  name?: string;
  scopes?: readonly IntegrationScope[];
  sites?: SiteScope;
  tokenLifetimeSeconds?: number;
}

function checkedScopes(scopes: readonly IntegrationScope[]): IntegrationScope[] {
  const normalised = normaliseScopes(scopes);
  if (normalised.length === 0) throw new AccountError(400, 'give at least one scope', 'scopes');
  return normalised;
}

function checkedSites(sites: SiteScope): SiteScope {
  if (sites === 'all') return 'all';
  if (sites.length === 0) throw new AccountError(400, 'give at least one site id, or leave sites out for every site', 'sites');
  return [...new Set(sites)].sort();
}

function checkedLifetime(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < MIN_TOKEN_LIFETIME_SECONDS || seconds > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new AccountError(400, `must be a whole number of seconds from ${MIN_TOKEN_LIFETIME_SECONDS} to ${MAX_TOKEN_LIFETIME_SECONDS}`, 'tokenLifetimeSeconds');
  }
  return seconds;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  scopes: IntegrationScope[];
}

/** Who did it, for the audit log, when an access token is issued: the client itself. */
function clientActor(client: Pick<IntegrationClientView, 'id' | 'name'>): AuditActor {
  return { kind: 'token', id: client.id, name: `${client.name} (integration client)` };
}

export class IntegrationClientService {
  /** Compared against when the client id is unknown, so that both answers cost the same. */
  private readonly dummyHash = sha256Hex(randomSecret());

  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
  ) {}

  /** Makes a client; its secret is in the answer and nowhere else. */
  async create(input: NewIntegrationClient, actor: AuditActor | undefined): Promise<{ client: IntegrationClientView; clientSecret: string }> {
    const scopes = checkedScopes(input.scopes);
    const sites = checkedSites(input.sites ?? 'all');
    const lifetime = checkedLifetime(input.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS);
    const id = uuidv7();
    const clientId = `${CLIENT_ID_PREFIX}${randomBytes(16).toString('base64url')}`;
    const clientSecret = `${CLIENT_SECRET_PREFIX}${randomSecret()}`;
    const at = this.now().toISOString();
    const client = await this.db.transaction(async () => {
      await this.db.run(
        'INSERT INTO integration_clients (id, client_id, name, scopes, sites, secret_hash, token_lifetime_seconds, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [id, clientId, input.name, JSON.stringify(scopes), sites === 'all' ? null : JSON.stringify(sites), sha256Hex(clientSecret), lifetime, at, actor ? `${actor.kind}:${actor.name}` : null],
      );
      const view = (await this.get(id)) as IntegrationClientView;
      await this.audit.record({ actor, action: 'integration-client.create', entity: 'integration-client', entityId: id, after: view });
      return view;
    });
    return { client, clientSecret };
  }

  async get(id: string): Promise<IntegrationClientView | undefined> {
    const row = await this.db.get<ClientRow>('SELECT * FROM integration_clients WHERE id = ?', [id]);
    return row ? toView(row) : undefined;
  }

  /**
   * Changes a client's name, scopes, sites or token lifetime. Its live access tokens keep working
   * with what is left: a scope taken away is no longer granted by them (resolveAccessToken
   * intersects), new sites apply at once, a new lifetime applies to tokens issued from now on.
   */
  async update(id: string, change: IntegrationClientChange, actor: AuditActor | undefined): Promise<IntegrationClientView> {
    const scopes = change.scopes === undefined ? undefined : checkedScopes(change.scopes);
    const sites = change.sites === undefined ? undefined : checkedSites(change.sites);
    const lifetime = change.tokenLifetimeSeconds === undefined ? undefined : checkedLifetime(change.tokenLifetimeSeconds);
    return this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before) throw new AccountError(404, `integration client ${id} does not exist`);
      if (before.revokedAt !== null) throw new AccountError(409, `integration client ${before.name} is revoked: make a new one instead`);
      await this.db.run('UPDATE integration_clients SET name = ?, scopes = ?, sites = ?, token_lifetime_seconds = ? WHERE id = ?', [
        change.name ?? before.name,
        JSON.stringify(scopes ?? before.scopes),
        (sites ?? before.sites) === 'all' ? null : JSON.stringify(sites ?? before.sites),
        lifetime ?? before.tokenLifetimeSeconds,
        id,
      ]);
      const after = (await this.get(id)) as IntegrationClientView;
      await this.audit.record({ actor, action: 'integration-client.update', entity: 'integration-client', entityId: id, before, after });
      return after;
    });
  }

  /** Clients in creation order (ids are UUIDv7), keyset-paged; revoked ones only when asked. */
  async list(query: { limit: number; cursor?: string; includeRevoked?: boolean }): Promise<{ clients: IntegrationClientView[]; nextCursor: string | null }> {
    const { page, nextCursor } = await revocableListPage<ClientRow>(this.db, 'integration_clients', query);
    return { clients: page.map(toView), nextCursor };
  }

  /** Revokes a client and its live tokens (refused from the next request on); revoking a revoked client changes nothing. */
  async revoke(id: string, actor: AuditActor | undefined): Promise<IntegrationClientView> {
    return this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before) throw new AccountError(404, `integration client ${id} does not exist`);
      if (before.revokedAt !== null) return before;
      const at = this.now().toISOString();
      await this.db.run('UPDATE integration_clients SET revoked_at = ? WHERE id = ?', [at, id]);
      const { changes } = await this.revokeTokensOf(id, at);
      const after = (await this.get(id)) as IntegrationClientView;
      await this.audit.record({ actor, action: 'integration-client.revoke', entity: 'integration-client', entityId: id, before, after: { ...after, tokensRevoked: changes } });
      return after;
    });
  }

  /**
   * A new secret for the client; the old one stops working at once. Its live access tokens are
   * revoked too unless `revokeTokens` is false (a planned rotation can let them run out, at most
   * the token lifetime, while the integration is given the new secret).
   */
  async rotateSecret(id: string, options: { revokeTokens: boolean }, actor: AuditActor | undefined): Promise<{ client: IntegrationClientView; clientSecret: string; tokensRevoked: number }> {
    const clientSecret = `${CLIENT_SECRET_PREFIX}${randomSecret()}`;
    return this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before) throw new AccountError(404, `integration client ${id} does not exist`);
      if (before.revokedAt !== null) throw new AccountError(409, `integration client ${before.name} is revoked: make a new one instead`);
      const at = this.now().toISOString();
      await this.db.run('UPDATE integration_clients SET secret_hash = ?, secret_rotated_at = ? WHERE id = ?', [sha256Hex(clientSecret), at, id]);
      const tokensRevoked = options.revokeTokens ? (await this.revokeTokensOf(id, at)).changes : 0;
      const client = (await this.get(id)) as IntegrationClientView;
      await this.audit.record({ actor, action: 'integration-client.rotate-secret', entity: 'integration-client', entityId: id, before, after: { ...client, tokensRevoked } });
      return { client, clientSecret, tokensRevoked };
    });
  }

  /**
   * The client these credentials belong to, or undefined for an unknown id, a wrong secret or a
   * revoked client (all alike to the caller: RFC 6749 `invalid_client`).
   */
  async authenticate(clientId: string, clientSecret: string): Promise<IntegrationClientView | undefined> {
    if (clientId.length === 0 || clientId.length > 128 || clientSecret.length > 256) return undefined;
    const row = await this.db.get<ClientRow>('SELECT * FROM integration_clients WHERE client_id = ?', [clientId]);
    // Hashed and compared whether or not the client exists: the answer's timing tells nothing.
    const matches = sameHash(sha256Hex(clientSecret), row?.secret_hash ?? this.dummyHash);
    if (!row || !matches || row.revoked_at !== null) return undefined;
    return toView(row);
  }

  /**
   * Issues an access token to an authenticated client: the scopes asked for (each one the
   * client's; {@link ScopeError} otherwise), or all of the client's when none are asked for.
   */
  async issueToken(client: IntegrationClientView, requested: readonly string[] | undefined): Promise<IssuedToken> {
    let scopes: IntegrationScope[];
    if (requested === undefined || requested.length === 0) scopes = [...client.scopes];
    else {
      const beyond = [...new Set(requested)].filter((scope) => !(client.scopes as readonly string[]).includes(scope));
      if (beyond.length > 0) throw new ScopeError(`this client may not be granted ${beyond.join(' ')}; it may have: ${client.scopes.join(' ')}`);
      scopes = normaliseScopes(requested as readonly IntegrationScope[]);
    }
    if (scopes.length === 0) throw new ScopeError('this client has no scope it may be granted');
    const accessToken = `${ACCESS_TOKEN_PREFIX}${randomSecret()}`;
    const id = uuidv7();
    const now = this.now();
    const issuedAt = now.toISOString();
    const expiresAt = new Date(now.getTime() + client.tokenLifetimeSeconds * 1000).toISOString();
    await this.db.transaction(async () => {
      // Expired tokens are of no use to anyone: cleared here rather than by a timer.
      await this.db.run('DELETE FROM integration_access_tokens WHERE expires_at <= ?', [issuedAt]);
      await this.db.run('INSERT INTO integration_access_tokens (id, client_pk, token_hash, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
        id,
        client.id,
        sha256Hex(accessToken),
        JSON.stringify(scopes),
        issuedAt,
        expiresAt,
      ]);
      await this.db.run('UPDATE integration_clients SET last_used_at = ? WHERE id = ?', [issuedAt, client.id]);
      await this.audit.record({
        actor: clientActor(client),
        action: 'integration-client.token-issue',
        entity: 'integration-client',
        entityId: client.id,
        after: { tokenId: id, clientId: client.clientId, scopes, expiresAt },
      });
    });
    return { accessToken, expiresIn: client.tokenLifetimeSeconds, scopes };
  }

  /** The principal an access token stands for, or undefined for an unknown, expired or revoked one (or a revoked client's). */
  async resolveAccessToken(secret: string): Promise<Principal | undefined> {
    if (!secret.startsWith(ACCESS_TOKEN_PREFIX) || secret.length > 256) return undefined;
    const row = await this.db.get<TokenLookupRow>(
      `SELECT t.id AS token_id, t.scopes AS token_scopes, t.expires_at, t.revoked_at AS token_revoked_at,
              c.id AS client_pk, c.name, c.scopes AS client_scopes, c.sites, c.revoked_at AS client_revoked_at, c.last_used_at
         FROM integration_access_tokens t JOIN integration_clients c ON c.id = t.client_pk
        WHERE t.token_hash = ?`,
      [sha256Hex(secret)],
    );
    const now = this.now();
    if (!row || row.token_revoked_at !== null || row.client_revoked_at !== null || now.getTime() >= Date.parse(row.expires_at)) return undefined;
    if (row.last_used_at === null || now.getTime() - Date.parse(row.last_used_at) >= LAST_USED_EVERY_MS) {
      await this.db.write('UPDATE integration_clients SET last_used_at = ? WHERE id = ?', [now.toISOString(), row.client_pk]);
    }
    // What the token was granted, less what the client has lost since.
    const clientScopes = scopesOf(row.client_scopes);
    const scopes: Permission[] = scopesOf(row.token_scopes).filter((scope) => clientScopes.includes(scope));
    // The admin role, narrowed to the granted scopes by `can`: admin is the one role that has every
    // permission a scope may name (hris:sync included), so the scopes alone decide.
    return { kind: 'token', id: row.client_pk, name: `${row.name} (integration client)`, role: 'admin', sites: sitesOf(row.sites), scopes };
  }

  private revokeTokensOf(clientPk: string, at: string): Promise<{ changes: number }> {
    return this.db.run('UPDATE integration_access_tokens SET revoked_at = ? WHERE client_pk = ? AND revoked_at IS NULL AND expires_at > ?', [at, clientPk, at]);
  }
}

/** Unique, in the order of {@link integrationScopes} (so that lists and audit rows compare equal). */
function normaliseScopes(scopes: readonly IntegrationScope[]): IntegrationScope[] {
  return integrationScopes.filter((scope) => scopes.includes(scope));
}
