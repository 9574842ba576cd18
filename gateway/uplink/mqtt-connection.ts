import { disableNagle } from '../../platform/no-delay.js';
import { EventEmitter } from 'node:events';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { deviceTopic, parseDeviceTopic, type DeviceChannel } from '../../core/topics.js';
import { Backoff } from './backoff.js';
import { redactUrl, type MqttAuth } from './mqtt-options.js';

/** Channels the gateway subscribes to: everything the server sends it. */
export type InboundChannel = 'acks' | 'config' | 'commands';
const inboundChannels: readonly InboundChannel[] = ['acks', 'config', 'commands'];

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'stopped';

export interface ConnectionEvents {
  /** Connected and subscribed: messages can be published and every reply can come back. */
  connected: [];
  disconnected: [];
  message: [channel: InboundChannel, payload: Buffer];
}

export interface MqttConnectionOptions {
  deviceId: string;
  url: string;
  keepaliveSeconds: number;
  reconnect: { minMs: number; maxMs: number };
  /** Read at every attempt, so a rotated password or certificate is picked up without a restart. */
  loadAuth: () => Promise<MqttAuth>;
  /** Retained on the status topic by the broker when this gateway vanishes without saying goodbye. */
  will: Buffer;
  logger: Logger;
  connectTimeoutMs?: number;
  /** A connection that lived this long resets the back-off; a shorter one (kicked at once) does not. */
  stableAfterMs?: number;
  random?: () => number;
}

export interface ConnectionHealth {
  state: ConnectionState;
  url: string;
  since: string | null;
  connects: number;
  lastError: string | null;
}

/**
 * One MQTT session to the broker, kept up for as long as the gateway runs.
 *
 * Reconnects are ours, not mqtt.js's: its `reconnectPeriod` is a fixed period with no back-off and
 * no jitter (a fleet that lost a broker would return in lock-step), and a reused client replays its
 * in-memory store of unacknowledged publishes after a reconnect, stale batches the drain has
 * already planned to send again from SQLite. So each attempt is a fresh client with
 * `reconnectPeriod: 0` and a clean session, and the delay between attempts is exponential with jitter.
 *
 * `publish` never queues: while disconnected it resolves false at once. Whatever must survive an
 * outage lives in SQLite (punches) or is rebuilt on the next connect (status), never in memory
 * (zigbee2mqtt's "publish while offline drops data").
 */
export class MqttConnection extends EventEmitter<ConnectionEvents> {
  private client: MqttClient | undefined;
  private ready = false;
  private stopped = false;
  private started = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly logger: Logger;
  private state: ConnectionState = 'idle';
  private since: Date | null = null;
  private connectedAt = 0;
  private connects = 0;
  private lastError: string | null = null;

  constructor(private readonly options: MqttConnectionOptions) {
    super();
    this.logger = options.logger;
    this.backoff = new Backoff(options.reconnect.minMs, options.reconnect.maxMs, options.random);
  }

  get connected(): boolean {
    return this.ready;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.attempt();
  }

  /**
   * Publishes `finalStatus` (retained, on the status topic) if connected, then disconnects cleanly,
   * so the broker does not publish the will. Gives up on a silent broker after `timeoutMs`.
   */
  async stop(finalStatus?: Buffer, timeoutMs = 2000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    if (!client) {
      this.setState('stopped');
      return;
    }
    if (this.ready && finalStatus) {
      const delivered = await withTimeout(this.publish('status', finalStatus, { retain: true }), timeoutMs, false);
      if (!delivered) this.logger.warn('the offline status was not confirmed by the broker');
    }
    const ended = await withTimeout(
      client.endAsync(false).then(() => true),
      timeoutMs,
      false,
    ).catch(() => false);
    if (!ended) client.end(true);
    this.dispose(client);
    this.setState('stopped');
  }

  /**
   * Publishes on one of this device's channels. Resolves true once the broker confirmed it (PUBACK
   * for QoS 1), false when not connected or the connection dropped first. Never queues.
   */
  publish(channel: DeviceChannel, payload: Buffer, options: { qos?: 0 | 1; retain?: boolean } = {}): Promise<boolean> {
    const client = this.client;
    if (!client || !this.ready) return Promise.resolve(false);
    const topic = deviceTopic(this.options.deviceId, channel);
    return new Promise((resolve) => {
      client.publish(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false }, (error) => {
        if (error) this.logger.debug({ err: error, channel }, 'publish not confirmed');
        resolve(!error);
      });
    });
  }

  health(): ConnectionHealth {
    return { state: this.state, url: redactUrl(this.options.url), since: this.since?.toISOString() ?? null, connects: this.connects, lastError: this.lastError };
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this.setState('connecting');
    let auth: MqttAuth;
    try {
      auth = await this.options.loadAuth();
    } catch (error) {
      this.fail((error as Error).message);
      this.scheduleRetry();
      return;
    }
    if (this.stopped) return;
    const { deviceId } = this.options;
    const clientOptions: IClientOptions = {
      clientId: deviceId,
      clean: true,
      reconnectPeriod: 0,
      resubscribe: false,
      keepalive: this.options.keepaliveSeconds,
      connectTimeout: this.options.connectTimeoutMs ?? 15_000,
      protocolVersion: 4,
      will: { topic: deviceTopic(deviceId, 'status'), payload: this.options.will, qos: 1, retain: true },
      ...auth,
    };
    const client = connect(this.options.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      disableNagle(client);
      void this.onConnect(client);
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (error) => {
      if (client !== this.client) return;
      this.fail(error.message);
    });
    client.on('close', () => this.onClose(client));
  }

  private async onConnect(client: MqttClient): Promise<void> {
    try {
      // Subscribe before telling anyone: a batch sent before the acks subscription exists would
      // have its ack dropped by the broker.
      const granted = await client.subscribeAsync(Object.fromEntries(inboundChannels.map((channel) => [deviceTopic(this.options.deviceId, channel), { qos: 1 as const }])));
      const refused = granted.filter((grant) => grant.qos === 128).map((grant) => grant.topic);
      if (refused.length > 0) throw new Error(`the broker refused the subscriptions ${refused.join(', ')} (check its ACL)`);
    } catch (error) {
      if (client !== this.client) return;
      this.fail((error as Error).message);
      // Without the acks subscription nothing could ever be confirmed: drop this session and retry.
      client.end(true);
      return;
    }
    if (client !== this.client || this.stopped) return;
    this.ready = true;
    this.connects += 1;
    this.connectedAt = Date.now();
    this.lastError = null;
    this.setState('connected');
    this.logger.info({ url: redactUrl(this.options.url), connects: this.connects }, 'connected to the broker');
    this.emit('connected');
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = parseDeviceTopic(topic);
    const channel = inboundChannels.find((candidate) => candidate === parsed?.channel);
    if (!parsed || parsed.deviceId !== this.options.deviceId || !channel) {
      this.logger.warn({ topic }, 'message on a topic this gateway does not handle ignored');
      return;
    }
    this.emit('message', channel, payload);
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    const wasReady = this.ready;
    this.ready = false;
    this.client = undefined;
    this.dispose(client);
    if (wasReady) {
      if (Date.now() - this.connectedAt >= (this.options.stableAfterMs ?? 30_000)) this.backoff.reset();
      if (this.stopped) this.logger.info('disconnected from the broker');
      else this.logger.warn({ error: this.lastError ?? undefined }, 'disconnected from the broker');
      this.emit('disconnected');
    }
    if (!this.stopped) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delayMs = this.backoff.next();
    this.setState('waiting');
    this.logger.debug({ delayMs: Math.round(delayMs), attempt: this.backoff.attempts }, 'reconnecting after a delay');
    this.retryTimer = setTimeout(() => void this.attempt(), delayMs);
  }

  private fail(message: string): void {
    if (message !== this.lastError) this.logger.warn({ url: redactUrl(this.options.url), error: message }, 'broker connection problem');
    this.lastError = message;
  }

  /** Detaches our listeners from a finished client and makes sure its socket is gone. */
  private dispose(client: MqttClient): void {
    client.removeAllListeners('connect');
    client.removeAllListeners('message');
    client.removeAllListeners('close');
    client.removeAllListeners('error');
    // A late socket error on a client we no longer use must not become an uncaught 'error'.
    client.on('error', () => undefined);
    if (!client.disconnected && !client.disconnecting) client.end(true);
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = new Date();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
