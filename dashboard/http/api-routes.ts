import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DeviceConfigSnapshot } from '../../core/config-snapshot.js';
import { CommandReply, DeviceCommand } from '../../core/messages.js';
import { EntityId, Punch } from '../../core/punch.js';
import { isValidDeviceId } from '../../core/topics.js';
import { UtcInstant } from '../../core/time.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import type { CommandSender } from '../command-sender.js';
import type { ConfigPublisher } from '../config-publisher.js';
import { DeviceExistsError, DeviceRecord, type DeviceRepository } from '../db/device-repository.js';
import { CursorError, type PunchRepository } from '../db/punch-repository.js';
import { MOBILE_API_DEVICE_ID } from '../mobile/mobile-punch-desk.js';

export interface ApiRoutesOptions {
  punches: PunchRepository;
  devices: DeviceRepository;
  configs: ConfigPublisher;
  commands: CommandSender;
  now: () => Date;
}

const ErrorBody = z.object({ error: z.string() });

const DeviceId = EntityId.refine(isValidDeviceId, 'is not a valid device id');

/** /api/v1: punches, devices, device config. Auth is added by the parent for the whole prefix. */
export const apiRoutes: FastifyPluginAsync<ApiRoutesOptions> = async (app, options) => {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/punches',
    {
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
        return await options.punches.query(request.query);
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send({ error: error.message });
        throw error;
      }
    },
  );

  routes.get('/devices', { schema: { response: { 200: z.object({ devices: z.array(DeviceRecord) }) } } }, async () => ({
    devices: await options.devices.list(),
  }));

  routes.post(
    '/devices',
    {
      schema: {
        body: z.object({ id: DeviceId, siteId: EntityId, name: z.string().min(1).max(120).optional() }).strict(),
        response: { 201: z.object({ device: DeviceRecord, secret: z.string() }), 409: ErrorBody },
      },
    },
    async (request, reply) => {
      if (request.body.id === MOBILE_API_DEVICE_ID) {
        return reply.code(409).send({ error: `device id ${MOBILE_API_DEVICE_ID} is reserved for the punches made through the mobile API` });
      }
      const secret = newDeviceSecret();
      try {
        await options.devices.register({ ...request.body, secretHash: await hashDeviceSecret(secret), createdAt: options.now().toISOString() });
      } catch (error) {
        if (error instanceof DeviceExistsError) return reply.code(409).send({ error: error.message });
        throw error;
      }
      const device = await options.devices.get(request.body.id);
      // The secret is shown once, here; only its hash is stored.
      return reply.code(201).send({ device: device as DeviceRecord, secret });
    },
  );

  routes.post(
    '/devices/:id/commands',
    {
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
      if (!(await options.devices.get(request.params.id))) return reply.code(404).send({ error: `device ${request.params.id} is not registered` });
      const { waitSeconds, ...command } = request.body;
      const sent = await options.commands.send(request.params.id, command, waitSeconds * 1000);
      // 202: sent, but no answer within the wait (the gateway may be offline).
      return sent.reply ? { requestId: sent.requestId, reply: sent.reply } : reply.code(202).send({ requestId: sent.requestId, reply: null });
    },
  );

  routes.put(
    '/devices/:id/config',
    {
      schema: {
        params: z.object({ id: DeviceId }),
        body: DeviceConfigSnapshot.omit({ version: true, issuedAt: true, deviceId: true }),
        response: { 200: z.object({ version: z.number().int() }), 404: ErrorBody },
      },
    },
    async (request, reply) => {
      if (!(await options.devices.get(request.params.id))) return reply.code(404).send({ error: `device ${request.params.id} is not registered` });
      const snapshot = await options.configs.publish(request.params.id, request.body);
      return { version: snapshot.version };
    },
  );
};
