import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Re-enrolling a Pi that already runs (a new secret after a re-enrolment, or the box moved to
 * another device id): the bundle's gateway.json lists no readers, since readers are wired on site,
 * but this Pi's config has them. punchgate-install keeps them (and a dated copy of the old file).
 *
 *   node dist/provisioning/pi/enrol-config.js NEW_CONFIG PREVIOUS_CONFIG   (rewrites NEW_CONFIG)
 */

type JsonObject = Record<string, unknown>;

export function mergeEnrolmentConfig(next: JsonObject, previous: JsonObject | undefined): { config: JsonObject; notes: string[] } {
  const notes: string[] = [];
  if (!previous) return { config: next, notes };
  const config: JsonObject = { ...next };
  if (typeof previous.deviceId === 'string' && previous.deviceId !== next.deviceId) notes.push(`this Pi was ${previous.deviceId}; it becomes ${String(next.deviceId)}`);
  const nextReaders = Array.isArray(next.readers) ? next.readers : [];
  const previousReaders = Array.isArray(previous.readers) ? (previous.readers as unknown[]) : [];
  if (nextReaders.length === 0 && previousReaders.length > 0) {
    config.readers = previousReaders;
    const ids = previousReaders.map((reader) => (reader && typeof reader === 'object' && 'id' in reader ? String((reader as { id: unknown }).id) : '?'));
    notes.push(`kept the readers of the previous config: ${ids.join(', ')}`);
  }
  return { config, notes };
}

export async function mergeEnrolmentConfigFiles(nextFile: string, previousFile: string): Promise<string[]> {
  const next = JSON.parse(await readFile(nextFile, 'utf8')) as JsonObject;
  let previous: JsonObject | undefined;
  try {
    previous = JSON.parse(await readFile(previousFile, 'utf8')) as JsonObject;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') previous = undefined;
    // A previous file that is not JSON is replaced (its dated copy stays): say so.
    else return [`the previous config ${previousFile} could not be read (${(error as Error).message}): replaced`];
  }
  const { config, notes } = mergeEnrolmentConfig(next, previous);
  await writeFile(nextFile, `${JSON.stringify(config, null, 2)}\n`);
  return notes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [nextFile, previousFile] = process.argv.slice(2);
  if (!nextFile || !previousFile) {
    process.stderr.write('usage: node enrol-config.js NEW_CONFIG PREVIOUS_CONFIG\n');
    process.exitCode = 2;
  } else {
    mergeEnrolmentConfigFiles(nextFile, previousFile).then(
      (notes) => notes.forEach((note) => process.stdout.write(`   ${note}\n`)),
      (error: unknown) => {
        process.stderr.write(`enrol-config: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
