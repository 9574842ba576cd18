import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database, SqlValue } from '../../platform/sqlite.js';
import type { AuditActor, AuditLog } from '../auth/audit.js';
import { decodeCursor, keysetPage } from '../db/keyset-cursor.js';
import { AlertKind } from './alert-event.js';

/**
 * Webhook endpoints: where alerts are POSTed. The signing secret (`whsec_` and 256 random bits)
 * must stay readable to sign each delivery, so it is stored as it is; the API shows it once, when
 * the endpoint is made, and afterwards only a hint. Deleting an endpoint keeps its row (its
 * deliveries name it) but wipes the secret and gives up its unfinished deliveries. Every change
 * is audited in its own transaction.
 */

export const SECRET_PREFIX = 'whsec_';

/** An http(s) URL without credentials in it (put those in the receiver's own config, or in a path or query token). */
export const WebhookUrl = z
  .string({ error: 'must be a string' })
  .trim()
  .max(2000, 'may be at most 2000 characters')
  .superRefine((value, context) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      context.addIssue({ code: 'custom', message: 'is not a URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') context.addIssue({ code: 'custom', message: `must be an http:// or https:// URL, not ${url.protocol}` });
    else if (url.username !== '' || url.password !== '') context.addIssue({ code: 'custom', message: 'must not carry a user name or password' });
    else if (url.hash !== '') context.addIssue({ code: 'custom', message: 'must not have a #fragment' });
  });

/** The event kinds an endpoint receives; null: every kind (also kinds added later). */
export const SubscribedKinds = z.array(AlertKind).min(1, 'list at least one kind, or send null for every kind').max(AlertKind.options.length).nullable();

export const WebhookView = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  kinds: z.array(AlertKind).nullable(),
  enabled: z.boolean(),
  /** The first characters of the secret, to tell which one a receiver holds. */
  secretHint: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type WebhookView = z.infer<typeof WebhookView>;

export interface WebhookInput {
  name: string;
  url: string;
  kinds?: AlertKind[] | null;
  enabled?: boolean;
}

export type WebhookPatch = Partial<WebhookInput>;

/** What a sender needs of an endpoint. */
export interface WebhookTarget {
  id: string;
  name: string;
  url: string;
  secret: string;
}

interface EndpointRow {
  id: string;
  name: string;
  url: string;
  secret: string;
  kinds: string | null;
  enabled: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  [column: string]: SqlValue;
}

function toView(row: EndpointRow): WebhookView {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    kinds: row.kinds === null ? null : z.array(AlertKind).parse(JSON.parse(row.kinds)),
    enabled: row.enabled === 1,
    secretHint: row.secret.slice(0, SECRET_PREFIX.length + 4),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function kindsColumn(kinds: AlertKind[] | null | undefined): string | null {
  return kinds ? JSON.stringify([...new Set(kinds)].sort()) : null;
}

export class WebhookEndpointStore {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
  ) {}

  async create(input: WebhookInput, actor: AuditActor | undefined): Promise<{ webhook: WebhookView; secret: string }> {
    const id = uuidv7();
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const at = this.now().toISOString();
    const webhook = await this.db.transaction(async () => {
      await this.db.run('INSERT INTO webhook_endpoints (id, name, url, secret, kinds, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        id,
        input.name,
        input.url,
        secret,
        kindsColumn(input.kinds),
        input.enabled === false ? 0 : 1,
        at,
        at,
      ]);
      const view = (await this.get(id)) as WebhookView;
      await this.audit.record({ actor, action: 'webhook.create', entity: 'webhook', entityId: id, after: view });
      return view;
    });
    return { webhook, secret };
  }

  /** The endpoint, unless it does not exist or was deleted. */
  async get(id: string): Promise<WebhookView | undefined> {
    const row = await this.db.get<EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = ? AND deleted_at IS NULL', [id]);
    return row ? toView(row) : undefined;
  }

  /** Endpoints in creation order, keyset-paged; deleted ones are not listed. */
  async list(query: { limit: number; cursor?: string }): Promise<{ webhooks: WebhookView[]; nextCursor: string | null }> {
    const params: SqlValue[] = [];
    let after = '';
    if (query.cursor !== undefined) {
      after = 'AND id > ?';
      params.push(decodeCursor(query.cursor, 'string')[0]);
    }
    const rows = await this.db.all<EndpointRow>(`SELECT * FROM webhook_endpoints WHERE deleted_at IS NULL ${after} ORDER BY id LIMIT ?`, [...params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.id]);
    return { webhooks: page.map(toView), nextCursor };
  }

  /** Changes an endpoint; undefined when it does not exist. Disabling holds its deliveries until it is enabled again. */
  async update(id: string, patch: WebhookPatch, actor: AuditActor | undefined): Promise<WebhookView | undefined> {
    return this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before) return undefined;
      const sets: string[] = [];
      const params: SqlValue[] = [];
      const set = (column: string, value: SqlValue | undefined): void => {
        if (value === undefined) return;
        sets.push(`${column} = ?`);
        params.push(value);
      };
      set('name', patch.name);
      set('url', patch.url);
      set('kinds', patch.kinds === undefined ? undefined : kindsColumn(patch.kinds));
      set('enabled', patch.enabled === undefined ? undefined : patch.enabled ? 1 : 0);
      await this.db.run(`UPDATE webhook_endpoints SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE id = ?`, [...params, this.now().toISOString(), id]);
      const after = (await this.get(id)) as WebhookView;
      await this.audit.record({ actor, action: 'webhook.update', entity: 'webhook', entityId: id, before, after });
      return after;
    });
  }

  /**
   * Deletes an endpoint: it is no longer listed nor sent to, its secret is wiped, and its
   * unfinished deliveries are given up. Undefined when it does not exist.
   */
  async delete(id: string, actor: AuditActor | undefined): Promise<{ webhook: WebhookView; gaveUp: number } | undefined> {
    return this.db.transaction(async () => {
      const before = await this.get(id);
      if (!before) return undefined;
      const at = this.now().toISOString();
      await this.db.run("UPDATE webhook_endpoints SET deleted_at = ?, updated_at = ?, enabled = 0, secret = '' WHERE id = ?", [at, at, id]);
      const { changes } = await this.db.run(
        "UPDATE notification_deliveries SET status = 'gave-up', next_attempt_at = NULL, last_error = 'the webhook was deleted', updated_at = ? WHERE endpoint_id = ? AND status IN ('pending', 'failed')",
        [at, id],
      );
      await this.audit.record({ actor, action: 'webhook.delete', entity: 'webhook', entityId: id, before, after: { deletedAt: at, deliveriesGivenUp: changes } });
      return { webhook: before, gaveUp: changes };
    });
  }

  /** The enabled endpoints that receive this kind (call inside the enqueue's transaction). */
  async subscribersOf(kind: AlertKind): Promise<string[]> {
    const rows = await this.db.all<EndpointRow>('SELECT * FROM webhook_endpoints WHERE enabled = 1 AND deleted_at IS NULL ORDER BY id');
    return rows.filter((row) => row.kinds === null || (JSON.parse(row.kinds) as string[]).includes(kind)).map((row) => row.id);
  }

  /** URL and secret of a live endpoint (enabled or not), for sending a test event. */
  async target(id: string): Promise<WebhookTarget | undefined> {
    const row = await this.db.get<EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = ? AND deleted_at IS NULL', [id]);
    return row ? { id: row.id, name: row.name, url: row.url, secret: row.secret } : undefined;
  }
}
