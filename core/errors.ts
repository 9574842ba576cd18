import type { z } from 'zod';

/** Turns zod issues into one line per problem: `readers[0].path: Required`. */
export function describeIssues(error: z.ZodError, root = ''): string[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`))
      .join('');
    const where = [root, path].filter(Boolean).join(root && path && !path.startsWith('[') ? '.' : '');
    return `${where || '(top level)'}: ${issue.message}`;
  });
}
