import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DeviceConfigSnapshot } from '../../core/config-snapshot.js';
import { CommandReply, DeviceCommand } from '../../core/messages.js';
import { EntityId, Punch } from '../../core/punch.js';
import { isValidDeviceId } from '../../core/topics.js';
import { UtcInstant } from '../../core/time.js';
import type { Database } from '../../platform/sqlite.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import type { AuditLog } from '../auth/audit.js';
import { principalOf } from '../auth/auth-plugin.js';
import { reachesSite, siteFilter } from '../auth/permissions.js';
import type { CommandSender } from '../command-sender.js';
import type { ConfigPublisher } from '../config-publisher.js';
import type { ConfigPush } from '../config-push/config-push.js';
import { DeviceExistsError, DeviceRecord, type DeviceRepository } from '../db/device-repository.js';
import { CursorError, type PunchRepository } from '../db/punch-repository.js';
import { MOBILE_API_DEVICE_ID } from '../mobile/mobile-punch-desk.js';

export interface ApiRoutesOptions {
  db: Database;
  audit: AuditLog;
  punches: PunchRepository;
  devices: DeviceRepository;
  configs: ConfigPublisher;
  commands: CommandSender;
  /** The console's config push, told when a pinned device is handed back to it. */
  configPush?: ConfigPush;
  now: () => Date;
}

const ErrorBody = z.object({ error: z.string() });

const DeviceId = EntityId.refine(isValidDeviceId, 'is not a valid device id');

/** What the audit log keeps of a config snapshot: everything but the roster, which is summarised (count and hash). */
function configSummary(body: string | undefined): Record<string, unknown> | null {
  if (body === undefined) return null;
  const { roster, ...rest } = JSON.parse(body) as { roster?: unknown[] } & Record<string, unknown>;
  return { ...rest, roster: { entries: roster?.length ?? 0, sha256: createHash('sha256').update(JSON.stringify(roster ?? [])).digest('hex') } };
}

/**
 * /api/v1: punches, devices, device config. Each route declares its permission (the auth plugin
 * checks it); a site-scoped principal sees and reaches only its sites' punches and devices (a
 * device of another site is answered as unknown: 404).
 */
export const apiRoutes: FastifyPluginAsync<ApiRoutesOptions> = async (app, options) => {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  /** The device, if it exists and the principal reaches its site. */
  const reachableDevice = async (principal: Parameters<typeof reachesSite>[0], id: string): Promise<DeviceRecord | undefined> => {
    const device = await options.devices.get(id);
    return device && reachesSite(principal, device.siteId) ? device : undefined;
  };

  routes.get(
    '/punches',
    {
      config: { permission: 'punches:read' },
      schema: {
        querystring: z
          .object({
            deviceId: EntityId.optional(),
            siteId: EntityId.optional(),
            employeeId: EntityId.optional(),
            from: UtcInstant.optional(),
            to: UtcInstant.optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            cursor: z.string().max(512).optional(),
          })
          .strict(),
        response: { 200: z.object({ punches: z.array(Punch), nextCursor: z.string().nullable() }), 400: ErrorBody },
      },
    },
    async (request, reply) => {
      try {
        const siteIds = siteFilter(principalOf(request));
        return await options.punches.query(siteIds ? { ...request.query, siteIds } : request.query);
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send({ error: error.message });
        throw error;
      }
    },
  );

  routes.get('/devices', { config: { permission: 'devices:read' }, schema: { response: { 200: z.object({ devices: z.array(DeviceRecord) }) } } }, async (request) => {
    const principal = principalOf(request);
    return { devices: (await options.devices.list()).filter((device) => reachesSite(principal, device.siteId)) };
  });

  routes.post(
    '/devices',
    {
      config: { permission: 'devices:write' },
      schema: {
        body: z.object({ id: DeviceId, siteId: EntityId, name: z.string().min(1).max(120).optional() }).strict(),
        response: { 201: z.object({ device: DeviceRecord, secret: z.string() }), 403: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (request.body.id === MOBILE_API_DEVICE_ID) {
        return reply.code(409).send({ error: `device id ${MOBILE_API_DEVICE_ID} is reserved for the punches made through the mobile API` });
      }
      if (!reachesSite(principal, request.body.siteId)) return reply.code(403).send({ error: `site ${request.body.siteId} is not one of the sites this ${principal.kind} reaches` });
      const secret = newDeviceSecret();
      const secretHash = await hashDeviceSecret(secret);
      let device: DeviceRecord;
      try {
        // The device and its audit row in one transaction.
        device = await options.db.transaction(async () => {
          await options.devices.register({ ...request.body, secretHash, createdAt: options.now().toISOString() });
          const registered = (await options.devices.get(request.body.id)) as DeviceRecord;
          await options.audit.record({ actor: principal, action: 'device.register', entity: 'device', entityId: registered.id, after: registered });
          return registered;
        });
      } catch (error) {
        if (error instanceof DeviceExistsError) return reply.code(409).send({ error: error.message });
        throw error;
      }
      // The secret is shown once, here; only its hash is stored.
      return reply.code(201).send({ device, secret });
    },
  );

  routes.post(
    '/devices/:id/commands',
    {
      config: { permission: 'devices:command' },
      schema: {
        params: z.object({ id: DeviceId }),
        body: DeviceCommand.omit({ requestId: true }).extend({ waitSeconds: z.number().min(0).max(60).default(10) }).strict(),
        response: {
          200: z.object({ requestId: z.string(), reply: CommandReply }),
          202: z.object({ requestId: z.string(), reply: z.null() }),
          404: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      if (!(await reachableDevice(principalOf(request), request.params.id))) return reply.code(404).send({ error: `device ${request.params.id} is not registered` });
      const { waitSeconds, ...command } = request.body;
      const sent = await options.commands.send(request.params.id, command, waitSeconds * 1000);
      // 202: sent, but no answer within the wait (the gateway may be offline).
      return sent.reply ? { requestId: sent.requestId, reply: sent.reply } : reply.code(202).send({ requestId: sent.requestId, reply: null });
    },
  );

  routes.put(
    '/devices/:id/config',
    {
      config: { permission: 'devices:write' },
      schema: {
        params: z.object({ id: DeviceId }),
        body: DeviceConfigSnapshot.omit({ version: true, issuedAt: true, deviceId: true }),
        response: { 200: z.object({ version: z.number().int() }), 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!(await reachableDevice(principal, request.params.id))) return reply.code(404).send({ error: `device ${request.params.id} is not registered` });
      const snapshot = await options.configs.publish(request.params.id, request.body, async (published, previousBody) => {
        await options.audit.record({
          actor: principal,
          action: 'device.config',
          entity: 'device',
          entityId: request.params.id,
          before: configSummary(previousBody),
          after: configSummary(JSON.stringify(published)),
        });
      });
      return { version: snapshot.version };
    },
  );

  routes.delete(
    '/devices/:id/config',
    {
      config: { permission: 'devices:write' },
      schema: {
        params: z.object({ id: DeviceId }),
        response: { 200: z.object({ pinned: z.literal(false), wasPinned: z.boolean() }), 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!(await reachableDevice(principal, request.params.id))) return reply.code(404).send({ error: `device ${request.params.id} is not registered` });
      const wasPinned = await options.db.transaction(async () => {
        const unpinned = await options.configs.unpin(request.params.id);
        if (unpinned) await options.audit.record({ actor: principal, action: 'device.config-unpin', entity: 'device', entityId: request.params.id });
        return unpinned;
      });
      // From now on the device gets the roster and settings the console builds for its site.
      if (wasPinned) options.configPush?.devicesChanged([request.params.id]);
      return { pinned: false as const, wasPinned };
    },
  );
};
