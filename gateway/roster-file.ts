import { readFile } from 'node:fs/promises';
import { describeIssues } from '../core/errors.js';
import { Roster } from '../core/roster.js';

export class RosterFileError extends Error {
  override name = 'RosterFileError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`roster file ${file}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/**
 * Reads a local roster file: a JSON array of `{credential: {kind, uid}, employeeId, name, status?}`.
 * The whole file is refused on the first bad entry, so a typo never half-replaces a roster.
 */
export async function loadRosterFile(file: string): Promise<Roster> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RosterFileError(file, [`cannot read it: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RosterFileError(file, [`is not valid JSON: ${(error as Error).message}`]);
  }
  const parsed = Roster.safeParse(raw);
  if (!parsed.success) throw new RosterFileError(file, describeIssues(parsed.error, 'entry'));
  return parsed.data;
}
