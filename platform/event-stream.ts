import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const EVENT_STREAM = 'text/event-stream';

/** Whether the client asked for server-sent events (EventSource sends `Accept: text/event-stream`). */
export function asksForEventStream(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').toLowerCase().includes(EVENT_STREAM);
}

/**
 * Takes the response over from Fastify and sends the head of an event stream; undefined when the
 * client has already gone. The gateway's kiosk feed and the dashboard's live feed open theirs here.
 */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): ServerResponse | undefined {
  reply.hijack();
  const response = reply.raw;
  if (response.destroyed || request.raw.destroyed) return undefined;
  response.writeHead(200, {
    'content-type': `${EVENT_STREAM}; charset=utf-8`,
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Reverse proxies (nginx) must pass events on at once, not buffer them.
    'x-accel-buffering': 'no',
  });
  return response;
}
