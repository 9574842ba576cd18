import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { roles, rolesTableMarkdown } from '../../dashboard/auth/permissions.js';
import { repoRoot } from '../support/cli.js';

/** docs/roles.md holds the code's role table between its markers (UPDATE_ROLES_DOC=1 rewrites it). */
describe('docs/roles.md', () => {
  const file = path.join(repoRoot, 'docs/roles.md');
  const START = '<!-- roles-table:start -->\n';
  const END = '\n<!-- roles-table:end -->';

  it('shows exactly the permission table of dashboard/auth/permissions.ts', async () => {
    const doc = await readFile(file, 'utf8');
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    expect(start, 'the roles-table markers').toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const expected = rolesTableMarkdown();
    if (process.env.UPDATE_ROLES_DOC === '1') {
      await writeFile(file, doc.slice(0, start + START.length) + expected + doc.slice(end));
      return;
    }
    expect(doc.slice(start + START.length, end), 'docs/roles.md is out of date: UPDATE_ROLES_DOC=1 npx vitest run test/integration/dashboard-roles-doc.test.ts').toBe(expected);
  });

  it('names every role', async () => {
    const doc = await readFile(file, 'utf8');
    for (const role of roles) expect(doc).toContain(`| \`${role}\` |`);
  });
});
