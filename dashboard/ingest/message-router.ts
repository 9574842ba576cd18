import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { parseDeviceTopic } from '../../core/topics.js';

export type DeviceMessageHandler = (deviceId: string, payload: Buffer, topic: string) => Promise<void>;

/**
 * Routes device messages to their handler one at a time, and acknowledges each to the broker only
 * after its handler has finished: mqtt.js's handleMessage gives that backpressure.
 */
export function routeDeviceMessages(client: MqttClient, handlers: Record<string, DeviceMessageHandler>, logger: Logger): void {
  client.handleMessage = (packet, callback) => {
    const parsed = parseDeviceTopic(packet.topic.replace(/^\$share\/[^/]+\//, ''));
    const handler = parsed ? handlers[parsed.channel] : undefined;
    if (!parsed || !handler) {
      logger.warn({ topic: packet.topic }, 'message on a topic nobody handles');
      callback();
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    handler(parsed.deviceId, payload, packet.topic).then(
      () => callback(),
      (error: unknown) => {
        // A handler failure must never stop ingest for every other device.
        logger.error({ err: error, topic: packet.topic }, 'message handler failed');
        callback();
      },
    );
  };
}
