import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Aedes, type AedesOptions, type Client } from 'aedes';

/**
 * A real MQTT broker (embedded Aedes) on a TCP port. `stop()` is a broker going away (every
 * client's socket closes); `TestBroker.start({ port })` again is the broker coming back.
 */
export class TestBroker {
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Map<string, Client>();

  private constructor(
    readonly broker: Aedes,
    private readonly server: Server,
    readonly port: number,
    private readonly tls: boolean,
  ) {
    server.on(tls ? 'secureConnection' : 'connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    broker.on('client', (client) => this.clients.set(client.id, client));
    broker.on('clientDisconnect', (client) => {
      if (this.clients.get(client.id) === client) this.clients.delete(client.id);
    });
  }

  static async start(options: { port?: number; tls?: TlsOptions; authenticate?: AedesOptions['authenticate'] } = {}): Promise<TestBroker> {
    const broker = await Aedes.createBroker({ maxClientsIdLength: 64, ...(options.authenticate ? { authenticate: options.authenticate } : {}) });
    const server: Server = options.tls ? createTlsServer(options.tls, broker.handle) : createServer(broker.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('broker has no TCP address');
    return new TestBroker(broker, server, address.port, options.tls !== undefined);
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** Destroys one client's socket from the broker side, as a network failure would (its will is published). */
  dropClient(clientId: string): boolean {
    const client = this.clients.get(clientId);
    if (!client) return false;
    client.conn.destroy();
    return true;
  }

  connectedClientIds(): string[] {
    return [...this.clients.keys()];
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
