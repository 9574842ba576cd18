export const TOPIC_PREFIX = 'punchgate/v1';

export type DeviceChannel = 'punches' | 'acks' | 'config' | 'status' | 'telemetry' | 'commands' | 'replies';

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
