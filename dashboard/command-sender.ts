import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { describeIssues } from '../core/errors.js';
import { CommandReply, type DeviceCommand } from '../core/messages.js';
import { deviceTopic } from '../core/topics.js';

interface Waiting {
  deviceId: string;
  resolve: (reply: CommandReply | undefined) => void;
  timer: NodeJS.Timeout;
}

/**
 * Sends a command to one gateway and waits for its reply (matched by requestId) on
 * `devices/{id}/replies`. A gateway that is offline gets the command when it is back only if the
 * broker kept it (QoS 1, persistent session); the caller is told "no reply yet" after the wait.
 */
export class CommandSender {
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly client: MqttClient,
    private readonly logger: Logger,
  ) {}

  async send(deviceId: string, command: Omit<DeviceCommand, 'requestId'>, waitMs: number): Promise<{ requestId: string; reply: CommandReply | undefined }> {
    const requestId = randomUUID();
    const replied = new Promise<CommandReply | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        resolve(undefined);
      }, waitMs);
      this.waiting.set(requestId, { deviceId, resolve, timer });
    });
    await this.client.publishAsync(deviceTopic(deviceId, 'commands'), JSON.stringify({ ...command, requestId }), { qos: 1 });
    return { requestId, reply: await replied };
  }

  /** Handles a message from `devices/{deviceId}/replies`. */
  async handle(deviceId: string, payload: Buffer): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.logger.warn({ device: deviceId }, 'refused a command reply: not JSON');
      return;
    }
    const reply = CommandReply.safeParse(json);
    if (!reply.success) {
      this.logger.warn({ device: deviceId, reason: describeIssues(reply.error).join('; ') }, 'refused a command reply');
      return;
    }
    const waiting = this.waiting.get(reply.data.requestId);
    // A reply from another device for this request id is not an answer to it.
    if (!waiting || waiting.deviceId !== deviceId) return;
    this.waiting.delete(reply.data.requestId);
    clearTimeout(waiting.timer);
    waiting.resolve(reply.data);
  }

  stop(): void {
    for (const [requestId, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.resolve(undefined);
      this.waiting.delete(requestId);
    }
  }
}
