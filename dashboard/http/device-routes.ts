import { CursorError } from '../db/keyset-cursor.js';
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DeviceConfigSnapshot } from '../../core/config-snapshot.js';
import { CommandReply, DeviceCommand } from '../../core/messages.js';
import { EntityId } from '../../core/punch.js';
import { isValidDeviceId } from '../../core/topics.js';
import type { Database } from '../../platform/sqlite.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import type { AuditLog } from '../auth/audit.js';
import { principalOf } from '../auth/auth-plugin.js';
import { reachesSite, siteFilter, type Principal } from '../auth/permissions.js';
import type { CommandSender } from '../command-sender.js';
import type { ConfigPublisher } from '../config-publisher.js';
import type { ConfigPush } from '../config-push/config-push.js';
import { DeviceExistsError, DeviceRecord, type DeviceChange, type DeviceRepository } from '../db/device-repository.js';
import { EnrolmentIssued, originOf, type EnrolmentBundles } from '../enrolment/enrolment-bundles.js';
import type { SiteRepository } from '../db/site-repository.js';
import { DeviceLiveState, liveStateOf } from '../live/device-state.js';
import { MOBILE_API_DEVICE_ID } from '../mobile/mobile-punch-desk.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface DeviceRoutesOptions {
  db: Database;
  audit: AuditLog;
  devices: DeviceRepository;
  sites: SiteRepository;
  configs: ConfigPublisher;
  commands: CommandSender;
  /** The console's config push: told of moved devices and of a pinned device handed back to it. */
  configPush?: ConfigPush;
  /** Where gateways connect (returned with a new device's credentials), when known. */
  brokerUrl?: string;
  /** Closes a device's MQTT connection (the embedded broker), called when it is disabled. */
  disconnectDevice?: (deviceId: string) => Promise<unknown>;
  /** Enrolment bundles (docs/enrolment.md): a registration makes the new device's bundle and its one-time link. */
  enrolments: EnrolmentBundles;
  now: () => Date;
}

const DeviceId = EntityId.refine(isValidDeviceId, 'is not a valid device id');
const DeviceParams = z.object({ id: DeviceId }).strict();

/** What the audit log keeps of a device: its settings, not its status. */
function auditView(device: DeviceRecord): Record<string, unknown> {
  return { id: device.id, siteId: device.siteId, name: device.name, enabled: device.enabled, disabledAt: device.disabledAt, disabledReason: device.disabledReason };
}

/** What the audit log keeps of a config snapshot: everything but the roster, which is summarised (count and hash). */
function configSummary(body: string | undefined): Record<string, unknown> | null {
  if (body === undefined) return null;
  const { roster, ...rest } = JSON.parse(body) as { roster?: unknown[] } & Record<string, unknown>;
  return { ...rest, roster: { entries: roster?.length ?? 0, sha256: createHash('sha256').update(JSON.stringify(roster ?? [])).digest('hex') } };
}

const DeviceName = z.string({ error: 'name must be a string or null' }).trim().min(1, 'name must not be empty; send null to clear it').max(120, 'name may be at most 120 characters');

export const DevicePatch = z
  .object({
    name: DeviceName.nullable().optional(),
    siteId: EntityId.optional(),
    enabled: z.boolean({ error: 'enabled must be true or false' }).optional(),
    /** Why the device is disabled (with `enabled: false`): shown in the console and in ingest's refusals. */
    reason: z.string().trim().min(1).max(200, 'reason may be at most 200 characters').optional(),
  })
  .strict()
  .superRefine((patch, context) => {
    if (patch.name === undefined && patch.siteId === undefined && patch.enabled === undefined) {
      context.addIssue({ code: 'custom', message: 'change at least one of name, siteId, enabled', path: [] });
    }
    if (patch.reason !== undefined && patch.enabled !== false) context.addIssue({ code: 'custom', message: 'a reason goes with enabled: false', path: ['reason'] });
  });

export const Credentials = z.object({
  /** The MQTT username and client id: the device id. */
  username: z.string(),
  clientId: z.string(),
  /** The device secret: shown this once, only its hash is stored. */
  password: z.string(),
  url: z.string().nullable(),
});

const DeviceChanged = z.object({ device: DeviceRecord, changed: z.array(z.enum(['name', 'siteId', 'enabled'])) });

/**
 * /api/v1/devices: register (credentials shown once), list, read with live state, rename, move to
 * a site, enable/disable, remote commands, pinned config. A site-scoped principal reaches only
 * its sites' devices; any other device is answered as unknown (404). Every change is audited in
 * its own transaction.
 */
export const deviceRoutes: FastifyPluginAsync<DeviceRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();

  /** The device, if it exists and the principal reaches its site. */
  const reachableDevice = async (principal: Principal, id: string): Promise<DeviceRecord | undefined> => {
    const device = await options.devices.get(id);
    return device && reachesSite(principal, device.siteId) ? device : undefined;
  };
  const unknownDevice = (id: string): ErrorWithIssues => ({ error: `device ${id} is not registered` });

  routes.get(
    '/devices',
    {
      config: { permission: 'devices:read' },
      schema: {
        summary: 'List devices (by id, paged)',
        querystring: z
          .object({ siteId: EntityId.optional(), limit: z.coerce.number().int().min(1).max(1000).default(500), cursor: z.string().max(512).optional() })
          .strict(),
        response: { 200: z.object({ devices: z.array(DeviceRecord), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const siteIds = siteFilter(principalOf(request));
      try {
        return await options.devices.page({ ...request.query, ...(siteIds ? { siteIds } : {}) });
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );

  routes.post(
    '/devices',
    {
      config: { permission: 'devices:write' },
      schema: {
        summary: 'Register a device: its MQTT credentials are in the answer, this once',
        body: z.object({ id: DeviceId, siteId: EntityId, name: DeviceName.optional() }).strict(),
        response: {
          201: z.object({ device: DeviceRecord, secret: z.string(), mqtt: Credentials, enrolment: EnrolmentIssued }),
          400: ErrorWithIssues,
          403: ErrorWithIssues,
          409: ErrorWithIssues,
        },
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
      // The enrolment bundle is made now, while the plaintext secret exists (docs/enrolment.md).
      const enrolment = await options.enrolments.prepare({ id: request.body.id, siteId: request.body.siteId }, secret, originOf(request));
      let device: DeviceRecord;
      try {
        // The device, its bundle and its audit row in one transaction.
        device = await options.db.transaction(async () => {
          await options.devices.register({ ...request.body, secretHash, createdAt: options.now().toISOString() });
          await options.enrolments.storeInTransaction(enrolment);
          const registered = (await options.devices.get(request.body.id)) as DeviceRecord;
          const after = { ...auditView(registered), enrolment: { fileName: enrolment.fileName, expiresAt: enrolment.expiresAt } };
          await options.audit.record({ actor: principal, action: 'device.register', entity: 'device', entityId: registered.id, after });
          return registered;
        });
      } catch (error) {
        if (error instanceof DeviceExistsError) return reply.code(409).send({ error: error.message });
        throw error;
      }
      // The secret is shown once, here; only its hash is stored.
      return reply.code(201).send({
        device,
        secret,
        mqtt: { username: device.id, clientId: device.id, password: secret, url: options.brokerUrl ?? null },
        enrolment: enrolment.issued,
      });
    },
  );

  routes.get(
    '/devices/:id',
    {
      config: { permission: 'devices:read' },
      schema: {
        summary: 'A device and its live state',
        description:
          'Live state from what the gateway last reported over MQTT (retained status and last will): online/offline, last seen, backlog and how far behind, clock, config version requested vs applied, software version, reader/BLE/Wi-Fi health, and why it wants attention.',
        params: DeviceParams,
        querystring: z.object({ behindMinutes: z.coerce.number().int().min(1).max(24 * 60).default(10) }).strict(),
        response: { 200: z.object({ device: DeviceRecord, live: DeviceLiveState }), 400: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const device = await reachableDevice(principalOf(request), request.params.id);
      if (!device) return reply.code(404).send(unknownDevice(request.params.id));
      const config = await options.configPush?.status(device.id);
      return { device, live: liveStateOf(device, config, { now: options.now(), behindAfterMinutes: request.query.behindMinutes }) };
    },
  );

  routes.patch(
    '/devices/:id',
    {
      config: { permission: 'devices:write' },
      schema: {
        summary: 'Rename a device, move it to a site, enable or disable it',
        description:
          'A disabled device is refused by the embedded broker at its next login (its connection is closed now), and its punches are refused by ingest with the reason in the ack, until it is enabled again. Moving a device publishes its new site\'s config to it.',
        params: DeviceParams,
        body: DevicePatch,
        response: { 200: DeviceChanged, 400: ErrorWithIssues, 403: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { id } = request.params;
      const { name, siteId, enabled, reason } = request.body;
      const current = await reachableDevice(principal, id);
      if (!current) return reply.code(404).send(unknownDevice(id));
      if (siteId !== undefined && siteId !== current.siteId) {
        if (!reachesSite(principal, siteId)) return reply.code(403).send({ error: `site ${siteId} is not one of the sites this ${principal.kind} reaches` });
        if (!(await options.sites.get(siteId))) return reply.code(400).send(invalid([{ in: 'body', field: 'siteId', message: `site ${siteId} does not exist` }]));
      }
      const at = options.now().toISOString();
      const outcome = await options.db.transaction(async () => {
        const before = await options.devices.get(id);
        if (!before) return undefined;
        const change: DeviceChange = {};
        const changed: Array<'name' | 'siteId' | 'enabled'> = [];
        if (name !== undefined && name !== before.name) (change.name = name), changed.push('name');
        if (siteId !== undefined && siteId !== before.siteId) (change.siteId = siteId), changed.push('siteId');
        if (enabled !== undefined && (enabled !== before.enabled || (!enabled && reason !== undefined && reason !== before.disabledReason))) {
          change.disabled = enabled ? null : { at: before.disabledAt ?? at, reason: reason ?? null };
          changed.push('enabled');
        }
        if (changed.length === 0) return { device: before, changed };
        await options.devices.updateInTransaction(id, change);
        const after = (await options.devices.get(id)) as DeviceRecord;
        // One audit row per kind of change, in the change's transaction.
        const record = (action: string, fields: Array<keyof DeviceRecord>): Promise<void> =>
          options.audit.record({
            actor: principal,
            action,
            entity: 'device',
            entityId: id,
            before: Object.fromEntries(fields.map((field) => [field, before[field]])),
            after: Object.fromEntries(fields.map((field) => [field, after[field]])),
          });
        if (changed.includes('name')) await record('device.rename', ['name']);
        if (changed.includes('siteId')) await record('device.assign-site', ['siteId']);
        if (changed.includes('enabled')) await record(after.enabled ? 'device.enable' : 'device.disable', ['enabled', 'disabledAt', 'disabledReason']);
        return { device: after, changed };
      });
      if (!outcome) return reply.code(404).send(unknownDevice(id));
      // After the commit: a moved device gets its new site's config; a disabled one loses its connection.
      if (outcome.changed.includes('siteId')) options.configPush?.devicesChanged([id]);
      if (outcome.changed.includes('enabled') && !outcome.device.enabled) {
        await options.disconnectDevice?.(id).catch((error: unknown) => request.log.warn({ err: error, device: id }, 'could not close the connection of a disabled device'));
      }
      return outcome;
    },
  );

  routes.post(
    '/devices/:id/commands',
    {
      config: { permission: 'devices:command' },
      schema: {
        summary: 'Send a remote command (identify, resync, reload) and wait for the answer',
        params: DeviceParams,
        body: DeviceCommand.omit({ requestId: true }).extend({ waitSeconds: z.number().min(0).max(60).default(10) }).strict(),
        response: {
          200: z.object({ requestId: z.string(), reply: CommandReply }),
          202: z.object({ requestId: z.string(), reply: z.null() }),
          400: ErrorWithIssues,
          404: ErrorWithIssues,
        },
      },
    },
    async (request, reply) => {
      if (!(await reachableDevice(principalOf(request), request.params.id))) return reply.code(404).send(unknownDevice(request.params.id));
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
        summary: "Pin a device's whole config (the console's config push leaves it alone until DELETE)",
        params: DeviceParams,
        body: DeviceConfigSnapshot.omit({ version: true, issuedAt: true, deviceId: true }),
        response: { 200: z.object({ version: z.number().int() }), 400: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!(await reachableDevice(principal, request.params.id))) return reply.code(404).send(unknownDevice(request.params.id));
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
        summary: 'Hand a pinned device back to the console\'s config push',
        params: DeviceParams,
        response: { 200: z.object({ pinned: z.literal(false), wasPinned: z.boolean() }), 400: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!(await reachableDevice(principal, request.params.id))) return reply.code(404).send(unknownDevice(request.params.id));
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
