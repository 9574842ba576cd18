export const TOPIC_PREFIX = 'punchgate/v1';

export type DeviceChannel = 'punches' | 'acks' | 'config' | 'status' | 'telemetry' | 'commands' | 'replies';

/**
 * The per-device access rule, the one list both the embedded broker's checks and the Mosquitto ACL
 * written by provisioning derive from: a gateway may publish to, and subscribe to, only these
 * channels under its own `devices/{deviceId}/`.
 */
export const devicePublishChannels: readonly DeviceChannel[] = ['punches', 'status', 'telemetry', 'replies'];
export const deviceSubscribeChannels: readonly DeviceChannel[] = ['acks', 'config', 'commands'];

const deviceIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isValidDeviceId(deviceId: string): boolean {
  return deviceIdPattern.test(deviceId);
}

export function deviceTopic(deviceId: string, channel: DeviceChannel): string {
  if (!isValidDeviceId(deviceId)) throw new Error(`device id "${deviceId}" is not allowed in a topic`);
  return `${TOPIC_PREFIX}/devices/${deviceId}/${channel}`;
}

/** Wildcard for one channel of every device, e.g. the ingest subscription. */
export function allDevicesTopic(channel: DeviceChannel): string {
  return `${TOPIC_PREFIX}/devices/+/${channel}`;
}

/** Splits a device topic into its device id and channel, or null when it is not one. */
export function parseDeviceTopic(topic: string): { deviceId: string; channel: string } | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_PREFIX || parts[2] !== 'devices') return null;
  const deviceId = parts[3] ?? '';
  if (!isValidDeviceId(deviceId)) return null;
  return { deviceId, channel: parts[4] ?? '' };
}
