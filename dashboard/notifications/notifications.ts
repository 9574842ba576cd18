import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '../../platform/sqlite.js';
import type { AuditActor, AuditLog } from '../auth/audit.js';
import type { DashboardConfig } from '../config.js';
import { AlertEvent, mailRecipientsOf, type AlertEventInput, type AlertKind } from './alert-event.js';
import { renderAlertMail } from './alert-mail.js';
import { DeliveryWorker, realTimers, type ChannelSender, type WorkerTimers } from './delivery-worker.js';
import { NotificationStore, type DeliveryTarget, type ReplayResult } from './notification-store.js';
import { exponentialBackoff, type BackoffSettings, type RetryPolicy } from './retry-policy.js';
import { SmtpSender } from './smtp-sender.js';
import { WebhookEndpointStore } from './webhook-endpoint-store.js';
import { postWebhook, webhookPayload } from './webhook-sender.js';
import { DELIVERY_ID_HEADER, EVENT_ID_HEADER } from './webhook-signer.js';

/**
 * Alert delivery, composed: the stores, the webhook and SMTP senders and the delivery worker.
 * What the rest of the dashboard uses: `enqueue(events)` (the attendance code), and the routes'
 * webhook management, test sends and replays. Built by server.ts; started and stopped with it.
 */

export type NotificationsConfig = DashboardConfig['notifications'];

export const DEFAULT_TIME_ZONE = 'Asia/Hong_Kong';

export interface NotificationsOptions {
  db: Database;
  audit: AuditLog;
  config: NotificationsConfig;
  now: () => Date;
  logger: Logger;
  /** Where an event's site's time zone comes from (e-mails show local times); default Hong Kong. */
  sites?: { get(id: string): Promise<{ timeZone: string } | undefined> };
  /** Tests: manual timers, a fixed jitter, a shorter back-off. */
  timers?: WorkerTimers;
  backoff?: Partial<Omit<BackoffSettings, 'maxAttempts'>>;
  /** Deliveries in flight at once (default 4). */
  concurrency?: number;
}

export const TestResult = z.object({
  eventId: z.string(),
  delivered: z.boolean(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
});
export type TestResult = z.infer<typeof TestResult>;

export class Notifications {
  readonly endpoints: WebhookEndpointStore;
  readonly store: NotificationStore;
  readonly worker: DeliveryWorker;
  readonly retry: RetryPolicy;
  private readonly smtp: SmtpSender | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: NotificationsOptions) {
    const { db, audit, config, now, logger } = options;
    this.endpoints = new WebhookEndpointStore(db, audit, now);
    this.store = new NotificationStore(db, audit, now);
    this.timeoutMs = config.webhookTimeoutSeconds * 1000;
    this.retry = exponentialBackoff({ ...options.backoff, maxAttempts: config.maxAttempts });
    this.smtp = config.smtp ? new SmtpSender({ ...config.smtp, timeoutMs: this.timeoutMs }, logger.child({ channel: 'email' })) : undefined;
    this.worker = new DeliveryWorker({
      store: this.store,
      senders: { webhook: this.sendWebhook, ...(this.smtp ? { email: this.sendMail } : {}) },
      retry: this.retry,
      concurrency: options.concurrency ?? 4,
      now,
      timers: options.timers ?? realTimers,
      logger: logger.child({ job: 'delivery' }),
    });
  }

  /** Whether e-mail is configured (SMTP): without it, alerts go to webhooks only. */
  get emailEnabled(): boolean {
    return this.smtp !== undefined;
  }

  /** How long before a shift its reminder is due (config `notifications.reminderMinutesBeforeShift`). */
  get reminderMinutesBeforeShift(): number {
    return this.options.config.reminderMinutesBeforeShift;
  }

  /**
   * Stores the events and queues their deliveries: each subscribed, enabled webhook and, with
   * SMTP, each e-mail address (the employee's and, except for shift reminders, the managers').
   * Idempotent by `key`: an event already stored (enqueued before, in this run or any earlier one)
   * makes nothing new. All or nothing: an invalid event (a ZodError naming it) stores none.
   */
  async enqueue(events: readonly AlertEventInput[]): Promise<{ created: number }> {
    const parsed = z.array(AlertEvent).parse(events);
    if (parsed.length === 0) return { created: 0 };
    const subscribers = new Map<AlertKind, string[]>();
    const { created, deliveries } = await this.store.enqueue(parsed, async (event): Promise<DeliveryTarget[]> => {
      let endpoints = subscribers.get(event.kind);
      if (!endpoints) subscribers.set(event.kind, (endpoints = await this.endpoints.subscribersOf(event.kind)));
      return [
        ...endpoints.map((endpointId): DeliveryTarget => ({ channel: 'webhook', endpointId })),
        ...(this.smtp ? mailRecipientsOf(event).map((address): DeliveryTarget => ({ channel: 'email', address })) : []),
      ];
    });
    if (created > 0) this.options.logger.info({ events: parsed.length, created, deliveries }, 'notifications queued');
    this.worker.kick();
    return { created };
  }

  /** Queues a delivery again now (any state), audited; 'email-off' for an e-mail while SMTP is not configured. */
  async replay(deliveryId: string, actor: AuditActor | undefined): Promise<ReplayResult | { kind: 'email-off' }> {
    const delivery = await this.store.delivery(deliveryId);
    if (delivery?.channel === 'email' && !this.smtp) return { kind: 'email-off' };
    const result = await this.store.replay(deliveryId, actor);
    if (result.kind === 'replayed') this.worker.kick();
    return result;
  }

  /**
   * Sends a sample event of this kind to an endpoint now, once, signed like any other (with
   * `test: true` in the body), and says how it went; nothing is stored. Undefined for an unknown endpoint.
   */
  async sendTest(endpointId: string, kind: AlertKind): Promise<TestResult | undefined> {
    const target = await this.endpoints.target(endpointId);
    if (!target) return undefined;
    const now = this.options.now();
    const event = AlertEvent.parse({
      key: `test:${randomUUID()}`,
      kind,
      occurredAt: now.toISOString(),
      employee: { employeeNumber: 'TEST-0001', name: 'Test Employee', nameZh: '測試員工' },
      managers: [{ name: 'Test Manager' }],
      details: { note: 'a test event from the punchgate dashboard' },
    });
    const started = performance.now();
    const outcome = await postWebhook({
      url: target.url,
      secret: target.secret,
      body: JSON.stringify(webhookPayload(event, now.toISOString(), true)),
      eventId: event.key,
      deliveryId: `test-${randomUUID()}`,
      timestampSeconds: Math.floor(now.getTime() / 1000),
      timeoutMs: this.timeoutMs,
    });
    return {
      eventId: event.key,
      delivered: outcome.ok,
      statusCode: outcome.statusCode,
      error: outcome.ok ? null : outcome.error,
      durationMs: Math.round(performance.now() - started),
    };
  }

  async start(): Promise<void> {
    await this.worker.start();
    this.options.logger.info({ email: this.emailEnabled, maxAttempts: this.retry.maxAttempts }, 'alert delivery started');
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    this.smtp?.close();
  }

  private readonly sendWebhook: ChannelSender = async (claim, signal) => {
    const endpoint = claim.endpoint;
    if (!endpoint) return { ok: false, statusCode: null, error: 'the delivery has no endpoint', permanent: true };
    return postWebhook({
      url: endpoint.url,
      secret: endpoint.secret,
      body: JSON.stringify(webhookPayload(claim.notification.event, claim.notification.createdAt)),
      eventId: claim.notification.key,
      deliveryId: claim.id,
      timestampSeconds: Math.floor(this.options.now().getTime() / 1000),
      timeoutMs: this.timeoutMs,
      signal,
    });
  };

  private readonly sendMail: ChannelSender = async (claim) => {
    const { smtp } = this;
    if (!smtp || !claim.address) return { ok: false, statusCode: null, error: 'e-mail is not configured', permanent: true };
    const { event } = claim.notification;
    const site = event.siteId ? await this.options.sites?.get(event.siteId) : undefined;
    const mail = renderAlertMail(event, site?.timeZone ?? DEFAULT_TIME_ZONE);
    return smtp.send({
      to: claim.address,
      ...mail,
      headers: { [EVENT_ID_HEADER]: claim.notification.key, [DELIVERY_ID_HEADER]: claim.id },
      // The same id for every attempt of a cycle (mail clients fold duplicates); a replay makes a new one.
      messageId: `<${claim.id}.${claim.attempt - claim.attemptInCycle}@punchgate>`,
    });
  };
}
