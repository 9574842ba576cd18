/**
 * The presence bench measures the code as it ships: the tsc build in dist/ (`npm run bench`
 * builds first), not the TypeScript sources transformed on the fly. Typed from the sources.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../support/cli.js';

export const distRoot = path.join(repoRoot, 'dist');

const modules = {
  advertisement: 'firmware-bridge/ble/advertisement',
  nobleAdvertisement: 'firmware-bridge/ble/noble-advertisement',
  tagClassifier: 'gateway/presence/tag-classifier',
  tracker: 'gateway/presence/presence-tracker',
  scanner: 'gateway/presence/ble-scanner',
  handsFree: 'gateway/presence/hands-free',
  rosterIndex: 'gateway/roster-index',
  roster: 'core/roster',
  main: 'gateway/main',
  configFile: 'gateway/config-file',
} as const;

export interface BuiltPresence {
  advertisement: typeof import('../../firmware-bridge/ble/advertisement.js');
  nobleAdvertisement: typeof import('../../firmware-bridge/ble/noble-advertisement.js');
  tagClassifier: typeof import('../../gateway/presence/tag-classifier.js');
  tracker: typeof import('../../gateway/presence/presence-tracker.js');
  scanner: typeof import('../../gateway/presence/ble-scanner.js');
  handsFree: typeof import('../../gateway/presence/hands-free.js');
  rosterIndex: typeof import('../../gateway/roster-index.js');
  roster: typeof import('../../core/roster.js');
  main: typeof import('../../gateway/main.js');
  configFile: typeof import('../../gateway/config-file.js');
  /** Sources newer than their build (the build is stale: run `npm run build`). */
  stale: string[];
}

export async function loadBuiltPresence(): Promise<BuiltPresence> {
  const stale: string[] = [];
  const loaded: Record<string, unknown> = {};
  for (const [key, relative] of Object.entries(modules)) {
    const built = path.join(distRoot, `${relative}.js`);
    if (!existsSync(built)) throw new Error(`${path.relative(repoRoot, built)} is missing: run "npm run build" first (npm run bench does)`);
    const source = path.join(repoRoot, `${relative}.ts`);
    if (existsSync(source) && statSync(source).mtimeMs > statSync(built).mtimeMs) stale.push(`${relative}.ts`);
    loaded[key] = await import(pathToFileURL(built).href);
  }
  return { ...(loaded as Omit<BuiltPresence, 'stale'>), stale };
}
