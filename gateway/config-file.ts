import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeIssues } from '../core/errors.js';
import { GatewayConfig } from './config.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Reads and validates a gateway config file; relative paths become relative to its folder. */
export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read the config file: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [`is not valid JSON: ${(error as Error).message}`]);
  }
  const parsed = GatewayConfig.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error));
  return resolvePaths(parsed.data, path.dirname(path.resolve(file)));
}

function resolvePaths(config: GatewayConfig, base: string): GatewayConfig {
  return {
    ...config,
    dataDir: path.resolve(base, config.dataDir),
    ...(config.rosterFile ? { rosterFile: path.resolve(base, config.rosterFile) } : {}),
    readers: config.readers.map((reader) => ({ ...reader, path: path.resolve(base, reader.path) })),
    ...(config.mqtt
      ? {
          mqtt: {
            ...config.mqtt,
            ...(config.mqtt.passwordFile ? { passwordFile: path.resolve(base, config.mqtt.passwordFile) } : {}),
            ...(config.mqtt.ca ? { ca: path.resolve(base, config.mqtt.ca) } : {}),
            ...(config.mqtt.cert ? { cert: path.resolve(base, config.mqtt.cert) } : {}),
            ...(config.mqtt.key ? { key: path.resolve(base, config.mqtt.key) } : {}),
          },
        }
      : {}),
  };
}
