import { devicePublishChannels, deviceSubscribeChannels, parseDeviceTopic } from '../../core/topics.js';

/** What a gateway may publish, and subscribe to, under its own `devices/{deviceId}/`. */
const devicePublishes = new Set<string>(devicePublishChannels);
const deviceSubscribes = new Set<string>(deviceSubscribeChannels);

export function deviceMayPublish(deviceId: string, topic: string): boolean {
  const parsed = parseDeviceTopic(topic);
  return parsed !== null && parsed.deviceId === deviceId && devicePublishes.has(parsed.channel);
}

/** Exact topics only: a wildcard could reach other devices' messages. */
export function deviceMaySubscribe(deviceId: string, topic: string): boolean {
  if (topic.includes('+') || topic.includes('#')) return false;
  const parsed = parseDeviceTopic(topic);
  return parsed !== null && parsed.deviceId === deviceId && deviceSubscribes.has(parsed.channel);
}
