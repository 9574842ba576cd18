import { z } from 'zod';
import { EntityId } from '../core/punch.js';
import { DEFAULT_TIME_ZONE, TimeZone } from '../core/time.js';
import { AsciiOptions, ReaderProtocol, WiegandOptions } from '../firmware-bridge/reader-protocols.js';

export const ReaderConfig = z
  .object({
    id: EntityId,
    /** Device path, e.g. /dev/serial/by-id/usb-...; relative paths are taken from the config file's folder. */
    path: z.string().min(1),
    protocol: ReaderProtocol,
    baudRate: z.number().int().positive().optional(),
    wiegand: WiegandOptions.optional(),
    ascii: AsciiOptions.optional(),
  })
  .strict();
export type ReaderConfig = z.infer<typeof ReaderConfig>;

export const GatewayConfig = z
  .object({
    deviceId: EntityId,
    siteId: EntityId,
    /** Where the SQLite store lives; created if missing. Relative to the config file. */
    dataDir: z.string().min(1),
    site: z
      .object({
        name: z.string().min(1).max(120).optional(),
        timeZone: TimeZone.default(DEFAULT_TIME_ZONE),
      })
      .strict()
      .default({ timeZone: DEFAULT_TIME_ZONE }),
    readers: z.array(ReaderConfig).default([]),
    /** A local roster file (JSON array of roster entries), until the dashboard pushes rosters. */
    rosterFile: z.string().min(1).optional(),
    http: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8080 }),
    punch: z
      .object({
        /** A second read of the same credential within this window is the same punch. */
        debounceSeconds: z.number().min(0).max(3600).default(60),
        /** `alternate`: in, out, in, ... within the site's day; `auto`: leave it to the server's rules. */
        direction: z.enum(['alternate', 'auto']).default('alternate'),
      })
      .strict()
      .default({ debounceSeconds: 60, direction: 'alternate' }),
    storage: z
      .object({
        /**
         * SQLite's `synchronous`. Anything but `full` can lose punches that were already
         * confirmed to a person when the power goes: it exists for the durability tests' controls.
         */
        synchronous: z.enum(['full', 'normal', 'off']).default('full'),
      })
      .strict()
      .default({ synchronous: 'full' }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.readers.forEach((reader, index) => {
      if (seen.has(reader.id)) ctx.addIssue({ code: 'custom', path: ['readers', index, 'id'], message: `reader id "${reader.id}" is used twice` });
      seen.add(reader.id);
    });
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;
