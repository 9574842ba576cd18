import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CardRead } from '../../core/credential.js';
import { freePort } from '../support/ports.js';

export interface GatewaySetup {
  dir: string;
  /** The gateway's local HTTP, on a port picked free beforehand (the log may be too quiet to say it). */
  url: string;
  configFile: string;
  dataDir: string;
  logFile: string;
}

/** Writes a roster (one employee per card) and a gateway config for `readers` into `dir`. */
export async function writeGatewaySetup(options: {
  dir: string;
  dataDir: string;
  cards: readonly CardRead[];
  readers: Array<{ id: string; path: string; protocol: 'punchgate' | 'rdm6300' }>;
  debounceSeconds: number;
  /** The gateway's log level; `info` (the production default) logs every tap. */
  logLevel?: 'info' | 'warn';
}): Promise<GatewaySetup> {
  await mkdir(options.dir, { recursive: true });
  const rosterFile = path.join(options.dir, 'roster.json');
  const roster = options.cards.map((card, index) => ({
    credential: { kind: card.kind, uid: card.uid },
    employeeId: `E${String(index + 1).padStart(5, '0')}`,
    name: `Bench Staff ${index + 1}`,
  }));
  await writeFile(rosterFile, JSON.stringify(roster));
  const port = await freePort();
  const config = {
    deviceId: 'bench-gw',
    siteId: 'bench-site',
    dataDir: options.dataDir,
    rosterFile,
    readers: options.readers,
    http: { host: '127.0.0.1', port },
    punch: { debounceSeconds: options.debounceSeconds, direction: 'alternate' },
    storage: { synchronous: 'full' },
    log: { level: options.logLevel ?? 'info' },
  };
  const configFile = path.join(options.dir, 'gateway.json');
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return { dir: options.dir, url: `http://127.0.0.1:${port}`, configFile, dataDir: options.dataDir, logFile: path.join(options.dir, 'gateway.log') };
}

/** `count` distinct MIFARE cards (4-byte UIDs) starting at `base`. */
export function mifareCards(count: number, base: number): CardRead[] {
  return Array.from({ length: count }, (_, index) => ({ kind: 'mifare', uid: (base + index).toString(16).toUpperCase().padStart(8, '0') }));
}

/** `count` distinct EM4100 cards (version byte 0x42 + 4-byte number) starting at `base`. */
export function em4100Cards(count: number, base: number): CardRead[] {
  return Array.from({ length: count }, (_, index) => ({ kind: 'em4100', uid: `42${(base + index).toString(16).toUpperCase().padStart(8, '0')}` }));
}

