import { readFile } from 'node:fs/promises';
import type { GatewayConfig } from '../config.js';

export type MqttSettings = NonNullable<GatewayConfig['mqtt']>;

/** What a connection attempt needs from files: read again at every attempt (rotated certs, passwords). */
export interface MqttAuth {
  username: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** A file named in the `mqtt` settings could not be read; the message names the setting and the file. */
export class MqttAuthError extends Error {
  override name = 'MqttAuthError';
}

async function readSetting(setting: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new MqttAuthError(`cannot read mqtt.${setting} ${file}: ${(error as Error).message}`);
  }
}

/**
 * Reads the credentials and TLS files of the `mqtt` settings. The username defaults to the device
 * id (the broker's ACL is written per device); a password file's trailing newline is not part of
 * the password.
 */
export async function loadMqttAuth(settings: MqttSettings, deviceId: string): Promise<MqttAuth> {
  const auth: MqttAuth = { username: settings.username ?? deviceId };
  if (settings.password) auth.password = settings.password;
  if (settings.passwordFile) auth.password = (await readSetting('passwordFile', settings.passwordFile)).toString('utf8').replace(/\r?\n$/, '');
  if (settings.ca) auth.ca = await readSetting('ca', settings.ca);
  if (settings.cert) auth.cert = await readSetting('cert', settings.cert);
  if (settings.key) auth.key = await readSetting('key', settings.key);
  return auth;
}

/** The broker URL without user info, for logs and health. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1');
}
