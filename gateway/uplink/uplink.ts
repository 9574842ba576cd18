import type { Logger } from 'pino';
import { CommandReply } from '../../core/messages.js';
import { loadMqttAuth, type MqttSettings } from './mqtt-options.js';
import { MqttConnection, type ConnectionHealth, type InboundChannel } from './mqtt-connection.js';
import { OutboxDrain, type DrainHealth, type DrainOutbox } from './outbox-drain.js';
import { StatusPublisher, type StatusSources } from './status-publisher.js';

export type UplinkOutbox = DrainOutbox & { uplinkCounts: StatusSources['outbox'] };

/** Handles one message from the server; its errors are logged, never thrown into the uplink. */
export type MessageHandler = (payload: Buffer) => void | Promise<void>;

export interface UplinkOptions {
  deviceId: string;
  settings: MqttSettings;
  outbox: UplinkOutbox;
  /** See OutboxDrainOptions.holdUnsyncedOfBoot. */
  holdUnsyncedOfBoot: () => string | null;
  status: Omit<StatusSources, 'outbox'>;
  /** The gateway's logger; the uplink makes its own children (`part: uplink.*`). */
  logger: Logger;
  /** Test hooks and tuning. */
  statusIntervalMs?: number;
  /** At least this long between the status publishes the drain triggers by catching up (default 5 s). */
  statusMinIntervalMs?: number;
  pollIntervalMs?: number;
  random?: () => number;
}

export type UplinkHealth = ConnectionHealth & DrainHealth & { enabled: true };

const WILL = Buffer.from(JSON.stringify({ online: false }));

/**
 * The gateway's link to the server: one MQTT connection, the outbox drain over it, and the
 * retained device status (online on every connect, offline before a clean stop, the will for
 * everything else). The `config` and `commands` topics go to handlers registered with `onConfig`
 * and `onCommand`, one message at a time per topic, in order.
 */
export class Uplink {
  private readonly connection: MqttConnection;
  private readonly drain: OutboxDrain;
  private readonly status: StatusPublisher;
  private readonly logger: Logger;
  private readonly handlers: Record<Exclude<InboundChannel, 'acks'>, Set<MessageHandler>> = { config: new Set(), commands: new Set() };
  private readonly queues: Record<Exclude<InboundChannel, 'acks'>, Promise<void>> = { config: Promise.resolve(), commands: Promise.resolve() };
  private started = false;

  constructor(options: UplinkOptions) {
    const { settings, deviceId, logger } = options;
    this.logger = logger.child({ part: 'uplink' });
    this.connection = new MqttConnection({
      deviceId,
      url: settings.url,
      keepaliveSeconds: settings.keepaliveSeconds,
      reconnect: { minMs: settings.reconnect.minSeconds * 1000, maxMs: Math.max(settings.reconnect.minSeconds, settings.reconnect.maxSeconds) * 1000 },
      loadAuth: () => loadMqttAuth(settings, deviceId),
      will: WILL,
      logger: logger.child({ part: 'uplink.mqtt' }),
      ...(options.random ? { random: options.random } : {}),
    });
    const connection = this.connection;
    this.drain = new OutboxDrain({
      deviceId,
      outbox: options.outbox,
      transport: {
        get connected() {
          return connection.connected;
        },
        publishPunches: (payload) => connection.publish('punches', payload),
      },
      limits: {
        maxPunches: settings.batch.maxPunches,
        maxBytes: settings.batch.maxBytes,
        inFlight: settings.batch.inFlight,
        ackTimeoutMs: settings.batch.ackTimeoutSeconds * 1000,
      },
      holdUnsyncedOfBoot: options.holdUnsyncedOfBoot,
      now: options.status.now,
      logger: logger.child({ part: 'uplink.drain' }),
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    });
    this.status = new StatusPublisher({
      sources: { ...options.status, outbox: () => options.outbox.uplinkCounts() },
      publish: (payload) => connection.publish('status', payload, { retain: true }),
      logger: logger.child({ part: 'uplink.status' }),
      ...(options.statusIntervalMs ? { intervalMs: options.statusIntervalMs } : {}),
      minIntervalMs: options.statusMinIntervalMs ?? 5000,
    });

    this.connection.on('connected', () => {
      void this.status.publishNow();
      this.drain.onConnected();
    });
    this.connection.on('disconnected', () => this.drain.onDisconnected());
    this.connection.on('message', (channel, payload) => {
      if (channel === 'acks') this.drain.onAck(payload);
      else this.dispatch(channel, payload);
    });
    this.drain.on('caughtUp', () => this.status.publishSoon());
  }

  /** Starts connecting (and keeps trying); punches are drained whenever connected. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.drain.start();
    this.status.start();
    this.connection.start();
  }

  /** Stops draining, publishes the offline status and disconnects cleanly (no will). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.status.stop();
    await this.drain.stop();
    const offline = this.connection.connected ? await this.status.offlinePayload() : undefined;
    await this.connection.stop(offline);
    await Promise.all([this.queues.config, this.queues.commands]);
    this.logger.info('uplink stopped');
  }

  /** A punch was committed: it goes out now rather than at the next poll. */
  notify(): void {
    this.drain.notify();
  }

  /** Registers the handler of `devices/{id}/config` (retained: it also arrives on every connect). */
  onConfig(handler: MessageHandler): () => void {
    return this.register('config', handler);
  }

  /** Registers the handler of `devices/{id}/commands`; answer with `publishReply`. */
  onCommand(handler: MessageHandler): () => void {
    return this.register('commands', handler);
  }

  /** Publishes a CommandReply on `devices/{id}/replies`, QoS 1; false when not connected. */
  async publishReply(reply: CommandReply): Promise<boolean> {
    return this.connection.publish('replies', Buffer.from(JSON.stringify(CommandReply.parse(reply))));
  }

  /** Republishes the retained status now (after a config change, a clock sync...). */
  publishStatus(): Promise<boolean> {
    return this.status.publishNow();
  }

  /** Forgets the batches in flight and sends every pending punch again (see OutboxDrain.resync). */
  resync(options: { includeRejected?: boolean } = {}): Promise<{ pending: number; requeued: number }> {
    return this.drain.resync(options);
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  health(): UplinkHealth {
    return { enabled: true, ...this.connection.health(), ...this.drain.health() };
  }

  private register(channel: Exclude<InboundChannel, 'acks'>, handler: MessageHandler): () => void {
    this.handlers[channel].add(handler);
    return () => this.handlers[channel].delete(handler);
  }

  private dispatch(channel: Exclude<InboundChannel, 'acks'>, payload: Buffer): void {
    const handlers = [...this.handlers[channel]];
    if (handlers.length === 0) {
      this.logger.debug({ channel }, 'no handler for this message');
      return;
    }
    this.queues[channel] = this.queues[channel].then(async () => {
      for (const handler of handlers) {
        try {
          await handler(payload);
        } catch (error) {
          this.logger.error({ err: error, channel }, 'message handler failed');
        }
      }
    });
  }
}
