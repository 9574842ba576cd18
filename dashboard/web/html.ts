import type { FastifyRequest } from 'fastify';

/** Text put into HTML (element content or a quoted attribute) as text, never as markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A browser navigating (it asks for HTML), as opposed to a program that wants the JSON answer. */
export function acceptsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}
