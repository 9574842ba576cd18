import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { Database } from '../../platform/sqlite.js';
import { buildDeviceBundle, packDeviceBundle } from '../../provisioning/device-bundle.js';
import { mosquittoDeviceAcl } from '../../provisioning/mosquitto.js';
import { mosquittoPasswordLine } from '../../provisioning/mosquitto-passwd.js';
import type { AuditActor, AuditLog } from '../auth/audit.js';
import type { SiteRepository } from '../db/site-repository.js';

/**
 * Enrolment bundles waiting for their one download (docs/enrolment.md). The plaintext device
 * secret exists only while a device is registered or re-enrolled, so the finished bundle is made
 * then and kept until a technician fetches it with a one-time token:
 *
 * - the token is 32 random bytes; the table keys the bundle by the token's SHA-256, so the
 *   database never holds a usable link;
 * - the bundle is sealed (AES-256-GCM) with a key derived from the token (HKDF), so a copy of the
 *   database does not reveal the secrets of bundles still waiting either;
 * - one download: the sealed bytes are deleted in the transaction that hands them out;
 * - 24 hours: after that the bytes are deleted and the link answers "expired";
 * - re-enrolling a device retires its earlier bundles at once (their secret no longer works).
 */

/** How long a download link works. */
export const ENROLMENT_LINK_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** Rows of used or expired links are kept this long after their expiry, so the link can say why it no longer works; then deleted. */
const REMEMBER_SPENT_LINKS_MS = 30 * 24 * 60 * 60 * 1000;

const TOKEN_PREFIX = 'pge_';
export const EnrolmentToken = z.string().regex(/^pge_[A-Za-z0-9_-]{43}$/, 'is not an enrolment token (pge_ and 43 letters, digits, "-" or "_")');

const SEAL_INFO = Buffer.from('punchgate enrolment bundle v1');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export const EnrolmentWarningCode = z.enum(['loopback-broker', 'unknown-site', 'device-disabled', 'external-broker-old-secret']);
export type EnrolmentWarningCode = z.infer<typeof EnrolmentWarningCode>;

/** What the registration (or re-enrolment) answers about the bundle. */
export const EnrolmentIssued = z.object({
  /** The one-time download link (absolute): give it to the technician, or let them scan the QR code. */
  url: z.string(),
  /** The same link as a path on this dashboard, for clients that reach the dashboard by another address (the CLI). */
  path: z.string(),
  fileName: z.string(),
  expiresAt: z.string(),
  /** The link as a QR code (SVG), for technicians on site. */
  qrSvg: z.string(),
  /** The broker the bundle's gateway will connect to. */
  brokerUrl: z.string(),
  /** Things to fix before the gateway can connect; `code` for clients that say it in their own words (the console). */
  warnings: z.array(z.object({ code: EnrolmentWarningCode, message: z.string() })),
  /** For a dashboard on an external broker: what its Mosquitto needs to let the device in. */
  mosquitto: z
    .object({
      /** This device's `password_file` line (PBKDF2-SHA512 `$7$`, as mosquitto_passwd writes it). */
      passwordLine: z.string(),
      /** The ACL `pattern` lines: every device only under its own topics (the same for all devices). */
      acl: z.string(),
    })
    .nullable(),
});
export type EnrolmentIssued = z.infer<typeof EnrolmentIssued>;

export interface EnrolmentSettings {
  /** Where gateways reach the broker (written into their config). */
  brokerUrl: string;
  /** PEM text of the broker's CA, put in bundles for mqtts:// and wss:// brokers. */
  brokerCa: string | null;
  /** The dashboard as technicians reach it; null: the address each request came to. */
  dashboardUrl: string | null;
  /** The dashboard uses an external broker: answer the Mosquitto lines, which its admin installs. */
  externalBroker: boolean;
}

/** A bundle made and sealed, not yet stored: made outside the transaction (scrypt-free but not instant), stored inside it. */
export interface PreparedEnrolment {
  deviceId: string;
  tokenSha256: string;
  fileName: string;
  sealed: Buffer;
  createdAt: string;
  expiresAt: string;
  issued: EnrolmentIssued;
}

/** Why a link gives nothing (each answered 404, with the reason). */
export type SpentLink = { reason: 'unknown' } | { reason: 'downloaded' | 'expired' | 'replaced'; at: string; deviceId: string };

interface EnrolmentRow {
  token_sha256: string;
  device_id: string;
  file_name: string;
  sealed_bundle: Buffer | null;
  created_at: string;
  expires_at: string;
  downloaded_at: string | null;
  replaced_at: string | null;
  [column: string]: string | Buffer | null;
}

/** Why a link's row gives nothing at `at`, or undefined when its bundle is there to take. */
function spentLinkOf(row: EnrolmentRow | undefined, at: string): SpentLink | undefined {
  if (!row) return { reason: 'unknown' };
  if (row.downloaded_at) return { reason: 'downloaded', at: row.downloaded_at, deviceId: row.device_id };
  if (row.replaced_at) return { reason: 'replaced', at: row.replaced_at, deviceId: row.device_id };
  if (row.expires_at <= at || !row.sealed_bundle) return { reason: 'expired', at: row.expires_at, deviceId: row.device_id };
  return undefined;
}

function tokenSha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The sealing key: derived from the token, which the database never holds. */
function sealKey(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(token), Buffer.alloc(0), SEAL_INFO, 32));
}

function seal(token: string, deviceId: string, bundle: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealKey(token), nonce);
  // The device id is authenticated with it: a row moved to another device would not open.
  cipher.setAAD(Buffer.from(deviceId));
  const body = Buffer.concat([cipher.update(bundle), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]);
}

function unseal(token: string, deviceId: string, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', sealKey(token), sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(deviceId));
  decipher.setAuthTag(sealed.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
}

/** A broker address only this machine can reach: a Pi given it would never connect. */
function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || host.startsWith('127.') || host === '0.0.0.0';
  } catch {
    return false;
  }
}

/** The actor of a download: the link itself (the token is the credential; no account is involved). */
const LINK_ACTOR: AuditActor = { kind: 'system', id: 'enrolment-link', name: 'enrolment download link' };

export interface EnrolmentBundlesOptions {
  db: Database;
  audit: AuditLog;
  sites: SiteRepository;
  settings: EnrolmentSettings;
  now: () => Date;
  logger: Logger;
}

export class EnrolmentBundles {
  constructor(private readonly options: EnrolmentBundlesOptions) {}

  get settings(): EnrolmentSettings {
    return this.options.settings;
  }

  /**
   * Makes, packs and seals a device's bundle and its one-time link; stores nothing (see
   * storeInTransaction). `origin` is the dashboard's address as the caller reached it, used for
   * the link when no dashboardUrl is configured.
   */
  async prepare(device: { id: string; siteId: string; enabled?: boolean }, secret: string, origin: string, context: { reEnrolment?: boolean } = {}): Promise<PreparedEnrolment> {
    const { settings } = this.options;
    // Expired bundles lose their bytes now rather than waiting for a download that may never come.
    await this.prune();
    const now = this.options.now();
    const site = await this.options.sites.get(device.siteId);
    const bundle = buildDeviceBundle({
      deviceId: device.id,
      siteId: device.siteId,
      // The gateway's config allows 120 characters for the name; a longer one is cut, not refused.
      siteName: site?.name ? site.name.slice(0, 120) : null,
      ...(site ? { timeZone: site.timeZone } : {}),
      secret,
      brokerUrl: settings.brokerUrl,
      brokerCa: settings.brokerCa,
      createdAt: now,
    });
    const archive = await packDeviceBundle(bundle);
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const path = `/api/v1/enrolment/${token}`;
    const url = `${(settings.dashboardUrl ?? origin).replace(/\/+$/, '')}${path}`;
    const expiresAt = new Date(now.getTime() + ENROLMENT_LINK_LIFETIME_MS).toISOString();

    const warnings: EnrolmentIssued['warnings'] = [];
    const warn = (code: EnrolmentWarningCode, message: string): void => void warnings.push({ code, message });
    if (isLoopbackUrl(settings.brokerUrl)) {
      warn(
        'loopback-broker',
        `the bundle's broker address ${settings.brokerUrl} only works on the dashboard's own machine: set enrolment.brokerUrl in the dashboard config to the address the gateways reach (e.g. mqtts://dashboard.example.hk:8883)`,
      );
    }
    if (!site) warn('unknown-site', `site ${device.siteId} does not exist: the gateway starts with the Hong Kong time zone and no site name until the site is created`);
    if (device.enabled === false) warn('device-disabled', `device ${device.id} is disabled: enable it, or the broker refuses the new gateway too`);
    if (settings.externalBroker && context.reEnrolment) {
      warn('external-broker-old-secret', `the external broker still accepts the old secret: replace the line of ${device.id} in its password file with the one below, then reload it (kill -HUP)`);
    }
    const mosquitto = settings.externalBroker ? { passwordLine: mosquittoPasswordLine(device.id, secret), acl: mosquittoDeviceAcl() } : null;
    return {
      deviceId: device.id,
      tokenSha256: tokenSha256(token),
      fileName: bundle.fileName,
      sealed: seal(token, device.id, archive),
      createdAt: now.toISOString(),
      expiresAt,
      issued: {
        url,
        path,
        fileName: bundle.fileName,
        expiresAt,
        qrSvg: await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
        brokerUrl: settings.brokerUrl,
        warnings,
        mosquitto,
      },
    };
  }

  /**
   * Stores a prepared bundle and retires the device's earlier ones (their secret is being
   * replaced). Plain statements: run it INSIDE the caller's transaction, with the change and its
   * audit row.
   */
  async storeInTransaction(prepared: PreparedEnrolment): Promise<void> {
    const { db } = this.options;
    await db.run('UPDATE device_enrolments SET sealed_bundle = NULL, replaced_at = ? WHERE device_id = ? AND sealed_bundle IS NOT NULL', [prepared.createdAt, prepared.deviceId]);
    await db.run('INSERT INTO device_enrolments (token_sha256, device_id, file_name, sealed_bundle, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
      prepared.tokenSha256,
      prepared.deviceId,
      prepared.fileName,
      prepared.sealed,
      prepared.createdAt,
      prepared.expiresAt,
    ]);
  }

  /**
   * What a link would give, without giving it (the page a browser or a chat's link preview sees):
   * reads only, so looking at a link never spends it.
   */
  async peek(token: string): Promise<{ deviceId: string; fileName: string; expiresAt: string } | SpentLink> {
    const at = this.options.now().toISOString();
    const row = await this.options.db.get<EnrolmentRow>('SELECT * FROM device_enrolments WHERE token_sha256 = ?', [tokenSha256(token)]);
    const spent = spentLinkOf(row, at);
    if (spent || !row) return spent ?? { reason: 'unknown' };
    return { deviceId: row.device_id, fileName: row.file_name, expiresAt: row.expires_at };
  }

  /**
   * Hands out a bundle once: in one transaction, finds the link, deletes the bytes and records the
   * download in the audit log; two concurrent downloads cannot both get it. Anything else answers
   * why there is nothing.
   */
  async take(token: string, from: { ip: string }): Promise<{ deviceId: string; fileName: string; bundle: Buffer } | SpentLink> {
    const { db, audit } = this.options;
    const at = this.options.now().toISOString();
    const hash = tokenSha256(token);
    const outcome = await db.transaction(async (): Promise<{ reason: 'take'; row: EnrolmentRow } | SpentLink> => {
      const row = await db.get<EnrolmentRow>('SELECT * FROM device_enrolments WHERE token_sha256 = ?', [hash]);
      const spent = spentLinkOf(row, at);
      if (spent?.reason === 'expired') await db.run('UPDATE device_enrolments SET sealed_bundle = NULL WHERE token_sha256 = ?', [hash]);
      if (spent || !row) return spent ?? { reason: 'unknown' };
      await db.run('UPDATE device_enrolments SET sealed_bundle = NULL, downloaded_at = ? WHERE token_sha256 = ?', [at, hash]);
      await audit.record({ actor: LINK_ACTOR, action: 'device.enrolment-download', entity: 'device', entityId: row.device_id, after: { fileName: row.file_name, from: from.ip } });
      return { reason: 'take', row };
    });
    if (outcome.reason !== 'take') return outcome;
    const { row } = outcome;
    return { deviceId: row.device_id, fileName: row.file_name, bundle: unseal(token, row.device_id, row.sealed_bundle as Buffer) };
  }

  /**
   * Deletes the bytes of expired bundles (they hold a secret, sealed or not) and forgets links
   * spent long ago. Run at start and with each new bundle, so nothing waits for a download.
   */
  async prune(): Promise<{ expired: number; forgotten: number }> {
    const { db } = this.options;
    const now = this.options.now();
    return db.transaction(async () => {
      const expired = (await db.run('UPDATE device_enrolments SET sealed_bundle = NULL WHERE sealed_bundle IS NOT NULL AND expires_at <= ?', [now.toISOString()])).changes;
      const forgotten = (await db.run('DELETE FROM device_enrolments WHERE expires_at <= ?', [new Date(now.getTime() - REMEMBER_SPENT_LINKS_MS).toISOString()])).changes;
      if (expired || forgotten) this.options.logger.info({ expired, forgotten }, 'pruned enrolment bundles');
      return { expired, forgotten };
    });
  }
}

/** The 404 message of a link that gives nothing: the reason, and what to do. */
export function spentLinkMessage(spent: SpentLink): string {
  const again = 'ask for a new one: re-enrol the device in the console (Devices, Re-enrol) or with POST /api/v1/devices/{id}/enrolment';
  switch (spent.reason) {
    case 'unknown':
      return `this enrolment link is not known (mistyped, or forgotten long ago): ${again}`;
    case 'downloaded':
      return `this enrolment link of device ${spent.deviceId} was already used (downloaded at ${spent.at}); links work once: ${again}`;
    case 'expired':
      return `this enrolment link of device ${spent.deviceId} expired at ${spent.at}: ${again}`;
    case 'replaced':
      return `this enrolment link of device ${spent.deviceId} was replaced by a newer enrolment at ${spent.at}, and its secret no longer works: use the newer link, or ${again}`;
  }
}

/** spentLinkMessage in Traditional Chinese (Hong Kong), for the link's page. */
export function spentLinkMessageZh(spent: SpentLink): string {
  const again = '請重新登記裝置以取得新連結（控制台：裝置 → 重新登記）。';
  switch (spent.reason) {
    case 'unknown':
      return `此登記連結不存在（可能輸入有誤，或已過了很久）。${again}`;
    case 'downloaded':
      return `裝置 ${spent.deviceId} 的登記連結已被使用（於 ${spent.at} 下載），每條連結只可使用一次。${again}`;
    case 'expired':
      return `裝置 ${spent.deviceId} 的登記連結已於 ${spent.at} 過期。${again}`;
    case 'replaced':
      return `裝置 ${spent.deviceId} 的登記連結已於 ${spent.at} 被較新的登記取代，其密鑰已失效。請使用較新的連結，或${again}`;
  }
}

/** `scheme://host[:port]` of the dashboard as a request reached it (the link's default origin). */
export function originOf(request: { protocol: string; host: string }): string {
  return `${request.protocol}://${request.host}`;
}
