import type { FastifyRequest } from 'fastify';

/** Text put into HTML (element content or a quoted attribute) as text, never as markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A browser navigating (it asks for HTML), as opposed to a program that wants the JSON answer. */
export function acceptsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

/** The lines that open every page the dashboard serves itself, up to and including what `head` adds. */
export function documentStart(page: { title: string; meta?: readonly string[]; head?: readonly string[] }): string[] {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ...(page.meta ?? []),
    `<title>${escapeHtml(page.title)}</title>`,
    '<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">',
    ...(page.head ?? []),
  ];
}
