import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { asksForEventStream, EVENT_STREAM, openEventStream } from '../../platform/event-stream.js';
import { kioskAssetTypes, kioskFontFiles, kioskPublicDir, type KioskAssetName, type KioskFontName } from './kiosk-assets.js';
import { KioskState } from './kiosk-events.js';
import type { KioskHub } from './kiosk-hub.js';
import { KioskStream } from './kiosk-stream.js';

export interface KioskRoutesOptions {
  hub: KioskHub;
  /** Open event streams at most (the door's Chromium, and a technician or two). */
  maxStreams?: number;
  heartbeatMs?: number;
}


/** Only what the gateway serves; no inline script or style, no other origin (fonts included). */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The kiosk screen on the gateway's local HTTP (docs/kiosk.md): `GET /kiosk` (the page),
 * `/kiosk/assets/*` and `/kiosk/fonts/*` (its files), `GET /kiosk/events` (server-sent events:
 * `state`, then `tap` per tap) and `GET /kiosk/state` (the same state as JSON, for technicians).
 */
export const kioskRoutes: FastifyPluginAsync<KioskRoutesOptions> = async (app, options) => {
  const { hub } = options;
  const publicDir = kioskPublicDir();
  const page = await readFile(path.join(publicDir, 'kiosk.html'));
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(kioskAssetTypes)) assets.set(name, await readFile(path.join(publicDir, name)));
  const fonts = kioskFontFiles();
  if ('missing' in fonts) app.log.warn({ reason: fonts.missing }, 'kiosk: no Chinese font to serve; the screen uses the system fonts');
  const streams = new Set<KioskStream>();
  const maxStreams = options.maxStreams ?? 8;

  // Open streams would keep the server from closing.
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.end();
  });

  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get('/kiosk', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').send(page),
  );

  routes.get('/kiosk/assets/:name', { schema: { params: z.object({ name: z.string() }) } }, async (request, reply) => {
    const body = assets.get(request.params.name);
    if (!body) return reply.code(404).send({ error: `no kiosk asset ${request.params.name}` });
    return reply
      .type(kioskAssetTypes[request.params.name as KioskAssetName])
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  });

  routes.get('/kiosk/fonts/:name', { schema: { params: z.object({ name: z.string() }) } }, async (request, reply) => {
    const file = 'files' in fonts ? fonts.files[request.params.name as KioskFontName] : undefined;
    if (!file) return reply.code(404).send({ error: `no kiosk font ${request.params.name}` });
    const { size } = await stat(file);
    // Loaded once per browser start; the file only changes with the package.
    return reply.type('font/ttf').header('content-length', size).header('cache-control', 'public, max-age=604800').send(createReadStream(file));
  });

  routes.get('/kiosk/state', { schema: { response: { 200: KioskState } } }, async () => hub.state());

  routes.get('/kiosk/events', async (request, reply) => {
    if (!asksForEventStream(request)) {
      return reply.code(406).send({ error: `this is a stream of server-sent events: send Accept: ${EVENT_STREAM} (EventSource does)` });
    }
    if (streams.size >= maxStreams) return reply.code(503).send({ error: `too many kiosk screens are open (${maxStreams})` });
    const response = openEventStream(request, reply);
    if (!response) return;
    let unsubscribe: () => void = () => undefined;
    const stream = new KioskStream(response, {
      heartbeatMs: options.heartbeatMs ?? 15_000,
      retryMs: 1000,
      maxBufferedBytes: 256 * 1024,
      onClose: () => {
        unsubscribe();
        streams.delete(stream);
        request.log.debug({ screens: streams.size }, 'kiosk screen disconnected');
      },
    });
    streams.add(stream);
    // The state and the subscription in the same tick: nothing can happen in between.
    stream.send('state', hub.state());
    if (!stream.isClosed) {
      unsubscribe = hub.subscribe((event) => (event.type === 'tap' ? stream.send('tap', event.data, event.data.seq) : stream.send('state', event.data)));
    }
    request.log.debug({ screens: streams.size }, 'kiosk screen connected');
  });
};
