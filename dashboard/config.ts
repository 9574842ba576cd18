import { z } from 'zod';

export const DashboardConfig = z
  .object({
    /** The central SQLite database lives here. Relative to the config file. */
    dataDir: z.string().min(1),
    http: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8000),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8000 }),
    /**
     * The bootstrap bearer token for /api/v1, admin-equivalent (integrations should get their own
     * tokens from /api/v1/tokens). When absent, one is generated at first start and kept in
     * DATADIR/api-token (mode 0600).
     */
    apiToken: z.string().min(16).optional(),
    mqtt: z
      .discriminatedUnion('mode', [
        z
          .object({
            /** The dashboard runs its own broker (Aedes) and checks device secrets itself. */
            mode: z.literal('embedded'),
            host: z.string().min(1).default('127.0.0.1'),
            port: z.number().int().min(0).max(65535).default(1883),
          })
          .strict(),
        z
          .object({
            /** An existing broker (Mosquitto, EMQX, ...) that enforces the per-device ACL itself. */
            mode: z.literal('external'),
            url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
            username: z.string().min(1).optional(),
            password: z.string().min(1).optional(),
            ca: z.string().min(1).optional(),
            /**
             * Share the ingest subscription across several dashboard processes (MQTT v5
             * `$share/GROUP/...`), so that they split the punch load.
             */
            sharedSubscriptionGroup: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
          })
          .strict(),
      ])
      .default({ mode: 'embedded', host: '127.0.0.1', port: 1883 }),
    /**
     * Device enrolment (docs/enrolment.md): what a new gateway's bundle points at. Each setting
     * defaults to what the dashboard itself uses, which is right on one machine only.
     */
    enrolment: z
      .object({
        /**
         * Where gateways reach the broker, e.g. mqtts://dashboard.example.hk:8883. Default: the
         * broker URL the dashboard uses (the embedded broker's is 127.0.0.1, useless to a Pi).
         */
        brokerUrl: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL').optional(),
        /** PEM file of the CA of the broker's certificate, put in bundles for mqtts:// and wss:// brokers. Default: mqtt.ca of an external broker. */
        brokerCa: z.string().min(1).optional(),
        /** The dashboard's address as technicians reach it, for download links and their QR codes. Default: the address each request came to. */
        dashboardUrl: z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'must be an http:// or https:// URL').optional(),
      })
      .strict()
      .prefault({}),
    /** Accounts and access: session cookies, sign-in lockout (see docs/roles.md). */
    auth: z
      .object({
        /**
         * Secure (https-only, `__Host-`) session cookies. Leave on behind https; turn off only for
         * plain http on localhost or in development.
         */
        secureCookies: z.boolean().default(true),
        /** A session ends this long after sign-in, whatever happens. */
        sessionHours: z.number().positive().max(24 * 30).default(12),
        /** ... and after this long without a request. */
        idleMinutes: z.number().positive().max(24 * 60).default(30),
        /** Wrong passwords in a row (per client address and username) before a lockout. */
        loginMaxFailures: z.number().int().min(1).max(100).default(5),
        /** The first lockout; each further failure doubles it, up to an hour. */
        loginLockoutSeconds: z.number().int().min(1).max(3600).default(60),
        /** Sign-in attempts per minute per client address and username, whatever their outcome. */
        loginAttemptsPerMinute: z.number().int().min(1).max(1000).default(20),
      })
      .strict()
      .prefault({}),
    /** The web console (see dashboard/web/). */
    web: z
      .object({
        /**
         * Map tiles behind the geofence editor, as a Leaflet URL template such as
         * `https://tile.openstreetmap.org/{z}/{x}/{y}.png` or a same-origin path such as
         * `/tiles/{z}/{x}/{y}.png` (a tile server behind the same reverse proxy). The console's CSP
         * then allows images from that origin, and nothing else. Null (the default): no tiles; the
         * editor works on a blank map with a coordinate grid, a scale and typed coordinates, so it
         * needs no internet and sends nobody the sites' locations.
         */
        tileUrl: z
          .string()
          .max(500)
          .regex(/^(https?:\/\/[^\s/]+|\/)[^\s]*$/, 'must be an http(s):// URL template or a path starting with /')
          .refine((url) => url.includes('{z}') && url.includes('{x}') && url.includes('{y}'), 'must contain {z}, {x} and {y}')
          .nullable()
          .default(null),
        /** Shown on the map with the tiles (the tile provider's licence usually requires it), as plain text. */
        tileAttribution: z.string().max(300).default(''),
        /** The deepest zoom the tile server has. */
        tileMaxZoom: z.number().int().min(1).max(24).default(19),
        /** Where the map opens for a site without a geofence (default: Hong Kong). */
        mapCenter: z
          .object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) })
          .strict()
          .default({ lat: 22.3193, lon: 114.1694 }),
      })
      .strict()
      .prefault({}),
    /** Alerts to employees and managers: webhooks and optional e-mail (see docs/notifications.md). */
    notifications: z
      .object({
        /** E-mail over SMTP; left out: alerts go to webhooks only. */
        smtp: z
          .object({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535).default(587),
            /** TLS from the first byte (port 465); false: plain, upgraded with STARTTLS when the server offers it. */
            secure: z.boolean().default(false),
            user: z.string().min(1).optional(),
            password: z.string().min(1).optional(),
            /** The sender, e.g. `"punchgate" <alerts@example.com>`. */
            from: z.string().min(3),
          })
          .strict()
          .refine((smtp) => (smtp.user === undefined) === (smtp.password === undefined), { message: 'give both user and password, or neither', path: ['password'] })
          .optional(),
        /** How long a webhook receiver (or the SMTP server) may take to answer one attempt. */
        webhookTimeoutSeconds: z.number().int().min(1).max(120).default(10),
        /** Attempts per delivery (back-off 10 s, 30 s, 90 s, ... up to an hour between them) before it is given up. */
        maxAttempts: z.number().int().min(1).max(20).default(8),
        /** Shift reminders go this long before the shift starts. */
        reminderMinutesBeforeShift: z.number().int().min(1).max(24 * 60).default(15),
        /** How often today's attendance is checked for late, early, missed punches and absences (and reminders are due). */
        scanSeconds: z.number().int().min(5).max(3600).default(60),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();
export type DashboardConfig = z.infer<typeof DashboardConfig>;
