import { createServer, type AddressInfo, type Server } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { isValidDeviceId } from '../../core/topics.js';
import { verifyDeviceSecret } from '../../provisioning/device-secrets.js';
import { deviceMayPublish, deviceMaySubscribe } from './device-acl.js';

/** The username of the dashboard's own clients (ingest, config publisher). Not a valid device id. */
export const INTERNAL_USERNAME = '$dashboard';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /** The stored secret hash of a device, or undefined when the device is not registered. */
  secretHashOf: (deviceId: string) => Promise<string | undefined>;
  /** The dashboard's own clients authenticate with this; made fresh at every start. */
  internalSecret: string;
  logger: Logger;
}

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const internalClients = new WeakSet<Client>();

/**
 * The dashboard's embedded MQTT broker (Aedes): devices log in with their id and secret, and may
 * only publish and subscribe under their own `devices/{id}/`.
 */
export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private address: AddressInfo | undefined;

  constructor(private readonly options: EmbeddedBrokerOptions) {}

  get url(): string {
    if (!this.address) throw new Error('the broker is not listening');
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `mqtt://${host}:${this.address.port}`;
  }

  get connectedClients(): number {
    return this.broker?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    const { logger } = this.options;
    const broker = await Aedes.createBroker({
      maxClientsIdLength: 64,
      // A gateway that stops reading must not stall delivery to every other gateway.
      drainTimeout: 30_000,
      authenticate: (client, username, password, done) => {
        void this.authenticate(client, username, password).then(
          (error) => done(error, error === null),
          (error: unknown) => {
            logger.error({ err: error }, 'authentication failed with an error');
            done(authError('server error', 3), false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        if (client === null || internalClients.has(client)) return done(null);
        if (deviceMayPublish(client.id, packet.topic)) return done(null);
        logger.warn({ device: client.id, topic: packet.topic }, 'refused a publish outside the device topics');
        done(new Error(`device ${client.id} may not publish to ${packet.topic}`));
      },
      authorizeSubscribe: (client, subscription, done) => {
        if (internalClients.has(client) || deviceMaySubscribe(client.id, subscription.topic)) return done(null, subscription);
        logger.warn({ device: client.id, topic: subscription.topic }, 'refused a subscription outside the device topics');
        done(null, null);
      },
    });
    broker.on('clientError', (client, error) => logger.debug({ client: client.id, err: error }, 'mqtt client error'));
    this.broker = broker;
    const server = createServer(broker.handle);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.address = server.address() as AddressInfo;
    logger.info({ url: this.url }, 'embedded MQTT broker listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthenticateError | null> {
    const { logger, internalSecret } = this.options;
    const secret = password?.toString('utf8') ?? '';
    if (username === INTERNAL_USERNAME) {
      const expected = Buffer.from(internalSecret);
      const given = Buffer.from(secret);
      if (given.length === expected.length && timingSafeEqual(given, expected)) {
        internalClients.add(client);
        return null;
      }
      return authError('bad username or password', BAD_USERNAME_OR_PASSWORD);
    }
    if (!username || !isValidDeviceId(username)) return authError('bad username or password', BAD_USERNAME_OR_PASSWORD);
    // The client id is what the ACL checks topics against, so it must be the authenticated device.
    if (client.id !== username) {
      logger.warn({ clientId: client.id, username }, 'refused a device whose client id is not its device id');
      return authError(`client id must be the device id ${username}`, NOT_AUTHORIZED);
    }
    const hash = await this.options.secretHashOf(username);
    if (!hash || !(await verifyDeviceSecret(secret, hash))) {
      logger.warn({ device: username }, 'refused a device login');
      return authError('bad username or password', BAD_USERNAME_OR_PASSWORD);
    }
    return null;
  }
}
