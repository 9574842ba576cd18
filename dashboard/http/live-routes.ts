import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntityId, type Punch } from '../../core/punch.js';
import { principalOf } from '../auth/auth-plugin.js';
import { allows, reachesSite, siteFilter, type Principal } from '../auth/permissions.js';
import type { PunchFeed } from '../live/punch-feed.js';
import { SseStream } from '../live/sse-stream.js';
import { asksForEventStream, EVENT_STREAM, openEventStream } from '../../platform/event-stream.js';
import { ErrorWithIssues, fieldErrorHandler } from './validation.js';

/** How live-feed streams behave; tests make the intervals short. */
export interface LiveStreamSettings {
  /** A comment line this often while the feed is quiet (default 15 s). */
  heartbeatMs: number;
  /** Events waiting for a slow client at most; the oldest are dropped first (default 1000). */
  maxQueued: number;
  /** A client that takes nothing for this long is closed (default 60 s). */
  stallTimeoutMs: number;
  /** A stream ends after this long and the client reconnects with Last-Event-ID (default 10 min). */
  maxLifetimeMs: number;
  /**
   * The stream's credential is checked again this often (default 30 s): signed out, revoked,
   * disabled, or a role or sites that see other punches end the stream (`access-changed`).
   */
  accessCheckMs: number;
  /** The reconnection delay told to clients (default 2 s). */
  retryMs: number;
  /** Streams open at once at most (default 1000); more are answered 503. */
  maxStreams: number;
}

export const defaultLiveStreamSettings: LiveStreamSettings = {
  heartbeatMs: 15_000,
  maxQueued: 1000,
  stallTimeoutMs: 60_000,
  maxLifetimeMs: 10 * 60_000,
  accessCheckMs: 30_000,
  retryMs: 2000,
  maxStreams: 1000,
};

export interface LiveRoutesOptions {
  liveFeed: PunchFeed;
  liveStream?: Partial<LiveStreamSettings>;
}


/**
 * GET /api/v1/punches/live: server-sent events, one `punch` event per punch committed by ingest
 * or the mobile desk, within milliseconds of its commit, for the sites the principal reaches
 * (optionally one site or device). See docs in the route's description; the stream is written
 * with backpressure by {@link SseStream}.
 */
export const liveRoutes: FastifyPluginAsync<LiveRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  const settings: LiveStreamSettings = { ...defaultLiveStreamSettings, ...options.liveStream };
  const feed = options.liveFeed;
  const streams = new Set<SseStream>();

  // Open streams would keep the server from closing: end them first, telling the clients why.
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.end('server-closing', 'the server is shutting down; reconnect with Last-Event-ID');
  });

  app.withTypeProvider<ZodTypeProvider>().get(
    '/punches/live',
    {
      config: { permission: 'punches:read' },
      schema: {
        summary: 'Live feed of punches (server-sent events)',
        description: [
          `Send \`Accept: ${EVENT_STREAM}\` (EventSource does); anything else is answered 406. Events:`,
          '- `ready` once at the start: `{"lastEventId": string|null, "heartbeatSeconds": n}`;',
          '- `punch` with `id: BOOT-SEQ` for each punch committed (by gateways\' batches or the mobile API) at a site you reach: `{"punch": Punch, "committedAt": ISO-8601}`;',
          '- `reset` when a `Last-Event-ID` cannot be replayed (server restarted, or too old): reload with GET /api/v1/punches;',
          '- `dropped` when this client read too slowly and events were dropped: `{"dropped": n}`; reload;',
          '- `close` before the server ends the stream: `{"reason", "message"}`; reasons: `lifetime` (every 10 min), `access-changed` (the credential, checked every 30 s, was revoked or signed out, or its role or sites changed), `stalled`, `server-closing`. EventSource reconnects by itself, sending Last-Event-ID.',
          'A comment line (`: heartbeat ...`) comes every 15 s. Reconnecting with `Last-Event-ID` replays the punches missed, if the server still keeps them.',
        ].join('\n'),
        querystring: z.object({ siteId: EntityId.optional(), deviceId: EntityId.optional() }).strict(),
        response: {
          200: { description: 'The event stream', content: { [EVENT_STREAM]: { schema: z.string() } } },
          400: ErrorWithIssues,
          404: ErrorWithIssues,
          406: ErrorWithIssues,
          503: ErrorWithIssues,
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!asksForEventStream(request)) {
        return reply.code(406).send({ error: `this is a stream of server-sent events: send Accept: ${EVENT_STREAM} (EventSource does), or search with GET /api/v1/punches` });
      }
      const { siteId, deviceId } = request.query;
      if (siteId !== undefined && !reachesSite(principal, siteId)) {
        return reply.code(404).send({ error: `site ${siteId} is not one of the sites this ${principal.kind} reaches` });
      }
      if (streams.size >= settings.maxStreams) return reply.code(503).send({ error: `too many live feeds are open (${settings.maxStreams}); try again later` });
      if (request.method === 'HEAD') return reply.code(200).header('content-type', EVENT_STREAM).send('');

      const scope = siteFilter(principal);
      const filter = (punch: Punch): boolean =>
        (scope === undefined || scope.includes(punch.siteId)) && (siteId === undefined || punch.siteId === siteId) && (deviceId === undefined || punch.deviceId === deviceId);

      const response = openEventStream(request, reply);
      if (!response) return;
      let unsubscribe: () => void = () => undefined;
      const accessCheck = setInterval(() => void checkAccess(), settings.accessCheckMs);
      const stream = new SseStream(response, {
        ...settings,
        onClose: (why) => {
          clearInterval(accessCheck);
          unsubscribe();
          streams.delete(stream);
          request.log.debug({ why, sent: stream.counters.sent, dropped: stream.counters.dropped }, 'live feed closed');
        },
      });
      const scopeKey = (someone: Principal): string => JSON.stringify(siteFilter(someone) ?? 'all');
      const checkAccess = async (): Promise<void> => {
        const now = await app.principalNow(request).catch((error: unknown) => {
          request.log.warn({ err: error }, 'could not check the live feed\'s credential again; checking at the next interval');
          return principal;
        });
        if (stream.isClosed) return;
        if (!now) stream.end('access-changed', 'signed out, or the credential was revoked or disabled: sign in again');
        else if (!allows(now, 'punches:read') || scopeKey(now) !== scopeKey(principal)) stream.end('access-changed', 'your access changed: reconnect for the punches it sees now');
      };
      streams.add(stream);
      stream.open('punchgate live punches');
      stream.send({ event: 'ready', data: JSON.stringify({ lastEventId: feed.lastEventId ?? null, heartbeatSeconds: settings.heartbeatMs / 1000 }) });
      // Replay and subscribe in the same tick: no punch can be published in between.
      const lastEventId = request.headers['last-event-id'];
      if (typeof lastEventId === 'string' && lastEventId.trim() !== '') {
        const replay = feed.replay(lastEventId, filter);
        if (replay.ok) for (const event of replay.events) stream.send({ id: event.id, event: 'punch', data: event.data });
        else stream.send({ event: 'reset', data: JSON.stringify({ reason: replay.reason }) });
      }
      if (stream.isClosed) return;
      unsubscribe = feed.subscribe(filter, (event) => stream.send({ id: event.id, event: 'punch', data: event.data }));
    },
  );
};
