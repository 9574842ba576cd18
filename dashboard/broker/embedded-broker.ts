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
  /**
   * What a device's login is checked against: its stored secret hash and whether it is enabled;
   * undefined when the device is not registered.
   */
  deviceLogin: (deviceId: string) => Promise<{ secretHash: string; enabled: boolean } | undefined>;
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
 * The dashboard's embedded MQTT broker (Aedes): devices log in with their id and secret (a device
 * disabled in the console is refused: CONNACK 5, not authorized), and may only publish and
 * subscribe under their own `devices/{id}/`.
 */
export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private address: AddressInfo | undefined;
  /** Connected devices by id (the dashboard's own clients are not devices). */
  private readonly devices = new Map<string, Client>();

  constructor(private readonly options: EmbeddedBrokerOptions) {}

  get url(): string {
    if (!this.address) throw new Error('the broker is not listening');
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `mqtt://${host}:${this.address.port}`;
  }

  get connectedClients(): number {
    return this.broker?.connectedClients ?? 0;
  }

  /** Whether a device is connected now (its client id is its device id). */
  isConnected(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  /**
   * Closes a device's connection, if it has one (it was just disabled): its last will is
   * published as for any lost connection, and its next login is checked again. True when it was
   * connected.
   */
  async disconnect(deviceId: string): Promise<boolean> {
    const client = this.devices.get(deviceId);
    if (!client) return false;
    this.options.logger.info({ device: deviceId }, 'closing a device connection');
    await new Promise<void>((resolve) => client.close(() => resolve()));
    return true;
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
    broker.on('clientReady', (client) => {
      if (!internalClients.has(client)) this.devices.set(client.id, client);
    });
    broker.on('clientDisconnect', (client) => {
      if (this.devices.get(client.id) === client) this.devices.delete(client.id);
    });
    this.broker = broker;
    // No Nagle: acks and single taps are small writes that would otherwise wait ~40 ms each.
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      broker.handle(socket);
    });
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
    this.devices.clear();
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
    const login = await this.options.deviceLogin(username);
    if (!login || !(await verifyDeviceSecret(secret, login.secretHash))) {
      logger.warn({ device: username }, 'refused a device login');
      return authError('bad username or password', BAD_USERNAME_OR_PASSWORD);
    }
    // Only told to a device that proved its secret: nobody else learns that it is disabled.
    if (!login.enabled) {
      logger.warn({ device: username }, 'refused a disabled device');
      return authError(`device ${username} is disabled`, NOT_AUTHORIZED);
    }
    return null;
  }
}
