import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntityId } from '../../core/punch.js';
import { principalOf } from '../auth/auth-plugin.js';
import { CursorError } from '../db/keyset-cursor.js';
import { AlertKind } from '../notifications/alert-event.js';
import { DeliveryStatus, DeliveryView, NotificationView } from '../notifications/notification-store.js';
import { TestResult, type Notifications } from '../notifications/notifications.js';
import { SubscribedKinds, WebhookUrl, WebhookView } from '../notifications/webhook-endpoint-store.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface NotificationRoutesOptions {
  notifications: Notifications;
}

/**
 * /api/v1 alert delivery (docs/notifications.md): webhook endpoints (webhooks:manage; the signing
 * secret is in the answer to POST only), test sends, the notifications sent with their
 * deliveries and attempts (notifications:read), and replays (notifications:replay). Changes to
 * endpoints and replays are audited.
 */

const IdParams = (what: string) => z.object({ id: z.string().uuid(`is not a ${what} id`) }).strict();
const WebhookParams = IdParams('webhook');
const NotificationParams = IdParams('notification');
const DeliveryParams = IdParams('delivery');

const WebhookName = z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(80, 'may be at most 80 characters');
const Enabled = z.boolean({ error: 'must be true or false' });
const Paging = { limit: z.coerce.number().int().min(1).max(500).default(100), cursor: z.string().max(512).optional() };

const WebhookPatch = z
  .object({ name: WebhookName.optional(), url: WebhookUrl.optional(), kinds: SubscribedKinds.optional(), enabled: Enabled.optional() })
  .strict()
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { message: 'change at least one of name, url, kinds, enabled' });

function badCursor(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
  throw error;
}

export const notificationRoutes: FastifyPluginAsync<NotificationRoutesOptions> = async (app, options) => {
  const { notifications } = options;
  const { endpoints, store } = notifications;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const manage = { permission: 'webhooks:manage' } as const;
  const unknownWebhook = (id: string): ErrorWithIssues => ({ error: `webhook ${id} does not exist` });

  routes.get(
    '/webhooks',
    {
      config: manage,
      schema: {
        summary: 'List webhook endpoints (no secrets), in creation order, paged',
        querystring: z.object(Paging).strict(),
        response: { 200: z.object({ webhooks: z.array(WebhookView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await endpoints.list(request.query);
      } catch (error) {
        return badCursor(reply, error);
      }
    },
  );

  routes.post(
    '/webhooks',
    {
      config: manage,
      schema: {
        summary: 'Add a webhook endpoint: its signing secret is in the answer, this once',
        body: z.object({ name: WebhookName, url: WebhookUrl, kinds: SubscribedKinds.default(null), enabled: Enabled.default(true) }).strict(),
        response: { 201: z.object({ webhook: WebhookView, secret: z.string() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => reply.code(201).send(await endpoints.create(request.body, principalOf(request))),
  );

  routes.get(
    '/webhooks/:id',
    { config: manage, schema: { summary: 'One webhook endpoint', params: WebhookParams, response: { 200: z.object({ webhook: WebhookView }), 400: ErrorWithIssues, 404: ErrorWithIssues } } },
    async (request, reply) => {
      const webhook = await endpoints.get(request.params.id);
      return webhook ? { webhook } : reply.code(404).send(unknownWebhook(request.params.id));
    },
  );

  routes.patch(
    '/webhooks/:id',
    {
      config: manage,
      schema: {
        summary: 'Change a webhook endpoint (name, url, kinds, enabled); a disabled one holds its deliveries until enabled again',
        params: WebhookParams,
        body: WebhookPatch,
        response: { 200: z.object({ webhook: WebhookView }), 400: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const webhook = await endpoints.update(request.params.id, request.body, principalOf(request));
      // Enabled again: what waited for it goes now.
      if (webhook?.enabled) notifications.worker.kick();
      return webhook ? { webhook } : reply.code(404).send(unknownWebhook(request.params.id));
    },
  );

  routes.delete(
    '/webhooks/:id',
    {
      config: manage,
      schema: {
        summary: 'Delete a webhook endpoint; its unfinished deliveries are given up',
        params: WebhookParams,
        response: { 200: z.object({ webhook: WebhookView, deliveriesGivenUp: z.number().int() }), 400: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const deleted = await endpoints.delete(request.params.id, principalOf(request));
      return deleted ? { webhook: deleted.webhook, deliveriesGivenUp: deleted.gaveUp } : reply.code(404).send(unknownWebhook(request.params.id));
    },
  );

  routes.post(
    '/webhooks/:id/test',
    {
      config: manage,
      schema: {
        summary: 'Send a signed sample event (test: true) to the endpoint now, once, and say how it went',
        params: WebhookParams,
        body: z.object({ kind: AlertKind.default('late') }).strict().nullish(),
        response: { 200: z.object({ test: TestResult }), 400: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const test = await notifications.sendTest(request.params.id, request.body?.kind ?? 'late');
      return test ? { test } : reply.code(404).send(unknownWebhook(request.params.id));
    },
  );

  routes.get(
    '/notifications',
    {
      config: { permission: 'notifications:read' },
      schema: {
        summary: 'Alerts sent, newest first, paged; status: those with at least one delivery in that state',
        querystring: z.object({ kind: AlertKind.optional(), status: DeliveryStatus.optional(), employeeNumber: EntityId.optional(), ...Paging }).strict(),
        response: { 200: z.object({ notifications: z.array(NotificationView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await store.list(request.query);
      } catch (error) {
        return badCursor(reply, error);
      }
    },
  );

  routes.get(
    '/notifications/:id/deliveries',
    {
      config: { permission: 'notifications:read' },
      schema: {
        summary: "A notification's deliveries (one per webhook endpoint or e-mail address), each with its attempts",
        params: NotificationParams,
        response: { 200: z.object({ notification: NotificationView, deliveries: z.array(DeliveryView) }), 400: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const found = await store.deliveriesOf(request.params.id);
      return found ?? reply.code(404).send({ error: `notification ${request.params.id} does not exist` });
    },
  );

  routes.post(
    '/deliveries/:id/replay',
    {
      config: { permission: 'notifications:replay' },
      schema: {
        summary: 'Send a delivery again now, whatever its state (delivered, gave-up, waiting), with a fresh retry budget',
        params: DeliveryParams,
        response: { 202: z.object({ delivery: DeliveryView }), 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const result = await notifications.replay(id, principalOf(request));
      switch (result.kind) {
        case 'replayed':
          return reply.code(202).send({ delivery: result.delivery });
        case 'not-found':
          return reply.code(404).send({ error: `delivery ${id} does not exist` });
        case 'in-flight':
          return reply.code(409).send({ error: `delivery ${id} has an attempt in flight: replay it once that attempt has ended` });
        case 'endpoint-deleted':
          return reply.code(409).send({ error: `the webhook of delivery ${id} was deleted` });
        case 'email-off':
          return reply.code(409).send({ error: 'e-mail is not configured (notifications.smtp): this delivery cannot be sent' });
      }
    },
  );
};
