import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of `target`: what a flaky network between a gateway and its
 * broker looks like. `cutAll()` destroys every open connection (both ends see a reset or EOF);
 * `flap(random, ...)` does so at random intervals until `stopFlapping()`.
 */
export class TcpProxy {
  private flapTimer: NodeJS.Timeout | undefined;
  cuts = 0;

  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    private readonly counted: { connections: number },
    readonly port: number,
    /** While on, new connections are dropped at once: the far end is unreachable. */
    private readonly refusing: { on: boolean },
  ) {}

  /** Connections accepted so far. */
  get connections(): number {
    return this.counted.connections;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const sockets = new Set<Socket>();
    const counted = { connections: 0 };
    const refusing = { on: false };
    const server = createServer((client) => {
      if (refusing.on) {
        client.destroy();
        return;
      }
      counted.connections += 1;
      const upstream = createConnection(target);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy has no port');
    return new TcpProxy(server, sockets, counted, address.port, refusing);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  cutAll(): void {
    this.cuts += 1;
    for (const socket of this.sockets) socket.destroy();
  }

  /** The link goes down and stays down: every connection is cut and new ones are dropped until `restore()`. */
  breakLink(): void {
    this.refusing.on = true;
    this.cutAll();
  }

  restore(): void {
    this.refusing.on = false;
  }

  /** Cuts every connection every `min`..`max` ms (drawn from `random`). */
  flap(random: () => number, minMs: number, maxMs: number): void {
    const next = (): void => {
      this.flapTimer = setTimeout(() => {
        this.cutAll();
        next();
      }, minMs + random() * (maxMs - minMs));
    };
    this.stopFlapping();
    next();
  }

  stopFlapping(): void {
    clearTimeout(this.flapTimer);
    this.flapTimer = undefined;
  }

  async stop(): Promise<void> {
    this.stopFlapping();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
