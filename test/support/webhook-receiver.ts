import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature, type VerifyResult } from '../../dashboard/notifications/webhook-signer.js';

/**
 * A real webhook receiver on 127.0.0.1 (node:http, port 0), as an integrator would write one: it
 * checks each request's signature with verifyWebhookSignature against the raw body and answers
 * 401 to a bad one. What it answers otherwise is scripted per request number (1-based):
 * 'ok' (200), a status code, 'reset' (destroys the connection without answering), or 'hold'
 * (answers only when the test calls release(); a held request the client gives up on just closes).
 */

export type Behaviour = 'ok' | 'reset' | 'hold' | number;

export interface ReceivedRequest {
  n: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  rawBody: string;
  verified: VerifyResult;
  /** The status it answered, 'reset', or 'held' while held. */
  answer: number | 'reset' | 'held';
  /** Signature timestamp (the header's t), when it parsed. */
  t: number | undefined;
  eventId: string | undefined;
  deliveryId: string | undefined;
}

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Set once the endpoint exists (the dashboard makes the secret). */
  secret = '';
  private server: Server | undefined;
  private held: Array<{ request: ReceivedRequest; response: ServerResponse }> = [];
  private open = 0;
  /** The most requests that were ever open at once. */
  maxOpen = 0;

  constructor(
    /** What to do with the n-th request. */
    public behaviour: (n: number) => Behaviour,
    /** The receiver's clock, unix seconds (a test moving a manual clock passes it here). */
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('the receiver is not listening');
    return `http://127.0.0.1:${address.port}/hooks/punchgate?source=test`;
  }

  get openCount(): number {
    return this.open;
  }

  /** The requests it answered 2xx. */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((request) => typeof request.answer === 'number' && request.answer >= 200 && request.answer < 300);
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Answers the held requests with `status` (default 200). */
  release(status = 200): number {
    const held = this.held.splice(0);
    for (const { request, response } of held) {
      request.answer = status;
      if (!response.destroyed) response.writeHead(status, { 'content-type': 'text/plain' }).end('released');
    }
    return held.length;
  }

  async stop(): Promise<void> {
    this.release();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.open += 1;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    response.on('close', () => (this.open -= 1));
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const header = request.headers['punchgate-signature'];
    const signature = typeof header === 'string' ? header : undefined;
    const t = signature ? Number(/(?:^|,)t=(\d+)/.exec(signature)?.[1]) : undefined;
    const received: ReceivedRequest = {
      n: this.requests.length + 1,
      method: request.method ?? '',
      path: request.url ?? '',
      headers: request.headers,
      rawBody,
      verified: verifyWebhookSignature(this.secret, signature, rawBody, this.nowSeconds()),
      answer: 'held',
      t: Number.isFinite(t) ? t : undefined,
      eventId: request.headers['punchgate-event-id'] as string | undefined,
      deliveryId: request.headers['punchgate-delivery-id'] as string | undefined,
    };
    this.requests.push(received);
    if (!received.verified.ok) {
      received.answer = 401;
      response.writeHead(401).end(`bad signature: ${received.verified.reason}`);
      return;
    }
    const behaviour = this.behaviour(received.n);
    if (behaviour === 'reset') {
      received.answer = 'reset';
      request.socket.destroy();
    } else if (behaviour === 'hold') {
      this.held.push({ request: received, response });
    } else {
      const status = behaviour === 'ok' ? 200 : behaviour;
      received.answer = status;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'thanks' : 'receiver is down');
    }
  }
}
