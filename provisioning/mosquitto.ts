import { devicePublishChannels, deviceSubscribeChannels, TOPIC_PREFIX } from '../core/topics.js';

/**
 * The per-device rule as Mosquitto ACL `pattern` lines, for production brokers: `%u` is the
 * username, which provisioning sets to the device id (and gateways use it as client id too).
 * The same channel lists as the embedded broker's checks (core/topics.ts).
 */
export function mosquittoDeviceAcl(prefix = TOPIC_PREFIX): string {
  return [
    '# punchgate devices: each may use only its own devices/{id}/ topics',
    ...devicePublishChannels.map((channel) => `pattern write ${prefix}/devices/%u/${channel}`),
    ...deviceSubscribeChannels.map((channel) => `pattern read ${prefix}/devices/%u/${channel}`),
    '',
  ].join('\n');
}

/**
 * A complete Mosquitto `acl_file` for punchgate: the device patterns, then a `user` block for the
 * dashboard's ingest account, which reads punches/status and writes acks/config/commands of every
 * device. `pattern` lines apply to every user; `user` blocks come last, as Mosquitto requires.
 */
export function mosquittoAclFile(options: { dashboardUsername: string; prefix?: string }): string {
  const prefix = options.prefix ?? TOPIC_PREFIX;
  const username = options.dashboardUsername;
  // A username that is also a valid device id would be matched by the device patterns too; that is
  // harmless, but whitespace or a newline would break the file.
  if (!/^[^\s#+/]+$/.test(username)) throw new Error(`dashboard username "${username}" cannot be written to a Mosquitto ACL`);
  return [mosquittoDeviceAcl(prefix), '# punchgate dashboard: ingest and config for every device', `user ${username}`, `topic readwrite ${prefix}/devices/#`, ''].join('\n');
}
