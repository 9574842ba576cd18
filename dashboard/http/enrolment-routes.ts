import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isValidDeviceId } from '../../core/topics.js';
import type { Database } from '../../platform/sqlite.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import type { AuditLog } from '../auth/audit.js';
import { principalOf } from '../auth/auth-plugin.js';
import { reachesSite } from '../auth/permissions.js';
import { DeviceRecord, type DeviceRepository } from '../db/device-repository.js';
import { EnrolmentIssued, EnrolmentToken, originOf, spentLinkMessage, type EnrolmentBundles } from '../enrolment/enrolment-bundles.js';
import { enrolmentLinkPage } from '../enrolment/enrolment-link-page.js';
import { acceptsHtml } from '../web/html.js';
import { Credentials } from './device-routes.js';
import { ErrorWithIssues, fieldErrorHandler } from './validation.js';

export interface EnrolmentRoutesOptions {
  db: Database;
  audit: AuditLog;
  devices: DeviceRepository;
  enrolments: EnrolmentBundles;
  /** The download link is rate-limited like sign-in: attempts per minute per client address. */
  auth: { settings: { loginAttemptsPerMinute: number } };
  /** Closes a device's MQTT connection (the embedded broker): the replaced box's, at re-enrolment. */
  disconnectDevice?: (deviceId: string) => Promise<unknown>;
}

const DeviceParams = z.object({ id: z.string().refine(isValidDeviceId, 'may hold only letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters') }).strict();

/** What registration and re-enrolment answer: the new secret (this once) and the bundle's one-time link. */
export const DeviceEnrolled = z.object({ device: DeviceRecord, secret: z.string(), mqtt: Credentials, enrolment: EnrolmentIssued });

/**
 * Device enrolment (docs/enrolment.md): the one-time download of a bundle (POST: a GET, as link
 * previews make, only shows a browser the link's page), and re-enrolment of a replaced box. Registration itself (POST /devices) makes the first bundle, in device-routes.ts.
 */
export const enrolmentRoutes: FastifyPluginAsync<EnrolmentRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();

  // The link's page posts an empty form: accepted (and ignored) here, like a body-less POST from curl.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, _body, done) => done(null, undefined));
  const linkConfig = {
    // The token is the credential: a technician's Pi has no account.
    permission: 'public' as const,
    rateLimit: { max: options.auth.settings.loginAttemptsPerMinute, timeWindow: 60_000, keyGenerator: (request: FastifyRequest) => request.ip },
  };

  routes.get(
    '/enrolment/:token',
    {
      // No HEAD: a probe needs no answer here.
      exposeHeadRoute: false,
      config: linkConfig,
      schema: {
        summary: "An enrolment link's page (for browsers); never spends the link",
        description:
          "A browser (Accept: text/html: a phone scanning the console's QR code, a chat app's link preview) gets a page saying which device the link is for, until when it works, and a button that downloads the bundle with POST. A link already used, expired or replaced gets the page with why (404). Anything else gets 405: the download is POST /enrolment/{token}.",
        params: z.object({ token: EnrolmentToken }).strict(),
        response: { 400: ErrorWithIssues, 405: ErrorWithIssues, 429: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const url = `${originOf(request)}${request.url}`;
      if (!acceptsHtml(request)) {
        return reply
          .code(405)
          .header('allow', 'POST')
          .send({ error: `an enrolment link downloads with POST (once): curl -fOJ -X POST '${url}'; a GET only shows a browser the link's page` });
      }
      const link = await options.enrolments.peek(request.params.token);
      return (reply as FastifyReply)
        .code('reason' in link ? 404 : 200)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(enrolmentLinkPage(link, url));
    },
  );

  routes.post(
    '/enrolment/:token',
    {
      config: linkConfig,
      schema: {
        summary: 'Download an enrolment bundle (.tar.gz), once',
        description:
          'The link answered by POST /devices and POST /devices/{id}/enrolment (`curl -fOJ -X POST URL`, or the button on its page). It works once, for 24 hours: the bundle (gateway config, secret, CA, systemd unit, README) is deleted as it is handed out. 404 says whether the link was used, expired, replaced by a newer enrolment or never existed. Rate-limited per client address like sign-in.',
        params: z.object({ token: EnrolmentToken }).strict(),
        response: { 400: ErrorWithIssues, 404: ErrorWithIssues, 429: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const taken = await options.enrolments.take(request.params.token, { ip: request.ip });
      if ('reason' in taken) {
        request.log.warn({ reason: taken.reason, ...('deviceId' in taken ? { device: taken.deviceId } : {}), ip: request.ip }, 'enrolment link refused');
        return reply.code(404).send({ error: spentLinkMessage(taken) });
      }
      request.log.info({ device: taken.deviceId, ip: request.ip }, 'enrolment bundle downloaded');
      // Bytes, not JSON: sent as they are, past the typed (JSON) answers above.
      return (reply as FastifyReply)
        .type('application/gzip')
        .header('content-disposition', `attachment; filename="${taken.fileName}"`)
        // It holds a secret: no cache anywhere keeps a copy.
        .header('cache-control', 'no-store')
        .send(taken.bundle);
    },
  );

  routes.post(
    '/devices/:id/enrolment',
    {
      config: { permission: 'devices:write' },
      schema: {
        summary: 'Re-enrol a device (a replaced box): new secret, new bundle; the old secret stops working now',
        description:
          "The device keeps its id, site, name and history. Its secret is replaced (the answer holds the new one, this once), the embedded broker closes the connection made with the old one, earlier download links stop working, and a new bundle waits at the answer's one-time link. On an external broker, install the answered password-file line: until then the old secret still works there.",
        params: DeviceParams,
        response: { 201: DeviceEnrolled, 400: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { id } = request.params;
      const unknown = { error: `device ${id} is not registered` };
      const current = await options.devices.get(id);
      if (!current || !reachesSite(principal, current.siteId)) return reply.code(404).send(unknown);
      const secret = newDeviceSecret();
      const secretHash = await hashDeviceSecret(secret);
      // The bundle is made now, while the plaintext secret exists; only its hash is kept.
      const prepared = await options.enrolments.prepare(current, secret, originOf(request), { reEnrolment: true });
      // The new secret, the new bundle (retiring earlier ones) and the audit row: one transaction.
      const device = await options.db.transaction(async () => {
        if (!(await options.devices.setSecretHash(id, secretHash))) return undefined;
        await options.enrolments.storeInTransaction(prepared);
        await options.audit.record({
          actor: principal,
          action: 'device.re-enrol',
          entity: 'device',
          entityId: id,
          after: { secret: 'replaced', enrolment: { fileName: prepared.fileName, expiresAt: prepared.expiresAt } },
        });
        return (await options.devices.get(id)) as DeviceRecord;
      });
      if (!device) return reply.code(404).send(unknown);
      // After the commit the old secret is refused at login; the connection it already made is closed now.
      await options.disconnectDevice?.(id).catch((error: unknown) => request.log.warn({ err: error, device: id }, 'could not close the connection of a re-enrolled device'));
      request.log.info({ device: id }, 'device re-enrolled');
      return reply.code(201).send({ device, secret, mqtt: { username: id, clientId: id, password: secret, url: prepared.issued.brokerUrl }, enrolment: prepared.issued });
    },
  );
};
