import { parseDeviceTopic } from '../../core/topics.js';

/** What a gateway may publish, and subscribe to, under its own `devices/{deviceId}/`. */
const devicePublishes = new Set(['punches', 'status', 'telemetry', 'replies']);
const deviceSubscribes = new Set(['acks', 'config', 'commands']);

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

/**
 * The same rule as a Mosquitto ACL file section, for production brokers: `%u` is the username,
 * which provisioning sets to the device id (and clients must use it as client id too).
 */
export function mosquittoDeviceAcl(prefix = 'punchgate/v1'): string {
  return [
    '# punchgate devices: each may use only its own devices/{id}/ topics',
    ...[...devicePublishes].map((channel) => `pattern write ${prefix}/devices/%u/${channel}`),
    ...[...deviceSubscribes].map((channel) => `pattern read ${prefix}/devices/%u/${channel}`),
    '',
  ].join('\n');
}
