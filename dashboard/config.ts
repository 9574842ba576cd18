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
     * Bearer token for /api/v1. When absent, one is generated at first start and kept in
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
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();
export type DashboardConfig = z.infer<typeof DashboardConfig>;
