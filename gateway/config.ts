import { z } from 'zod';
import { SiteLanguages } from '../core/config-snapshot.js';
import { PresenceSettings } from '../core/presence-settings.js';
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
        /** The kiosk screen's languages, in order; absent: English and Traditional Chinese together. A pushed config's win. */
        languages: SiteLanguages.optional(),
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
    /** The kiosk screen on the local HTTP (`/kiosk`, docs/kiosk.md), for a display at the door. */
    kiosk: z
      .object({
        /** Off: no `/kiosk` routes (the event stream names the people who tap to whoever reaches the HTTP port). */
        enabled: z.boolean().default(true),
        /** How long a tap's screen stays before the idle screen comes back. */
        idleSeconds: z.number().min(1).max(120).default(6),
      })
      .strict()
      .default({ enabled: true, idleSeconds: 6 }),
    punch: z
      .object({
        /** A second read of the same credential within this window is the same punch. */
        debounceSeconds: z.number().min(0).max(3600).default(60),
        /** `alternate`: in, out, in, ... within the site's day; `auto`: leave it to the server's rules. */
        direction: z.enum(['alternate', 'auto']).default('alternate'),
      })
      .strict()
      .default({ debounceSeconds: 60, direction: 'alternate' }),
    /** The uplink to the dashboard's broker. Without it the gateway runs offline-only. */
    mqtt: z
      .object({
        url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
        /** Defaults to the device id. */
        username: z.string().min(1).optional(),
        password: z.string().min(1).optional(),
        /** A file holding the password (kept out of the config, e.g. /etc/punchgate/secret). */
        passwordFile: z.string().min(1).optional(),
        /** PEM files for mqtts:// and wss://. */
        ca: z.string().min(1).optional(),
        cert: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
        keepaliveSeconds: z.number().int().min(5).max(3600).default(30),
        /**
         * Sized for draining a backlog after days offline: 2,000 punches (~660 KB) a message, 8 in
         * flight, so the server's commits never wait for the next batch (docs/benchmarks.md). A
         * message stays under 768 KiB, inside EMQX's 1 MB default packet limit; brokers with
         * smaller limits (AWS IoT: 128 KB) need `maxBytes` lowered.
         */
        batch: z
          .object({
            maxPunches: z.number().int().min(1).max(5000).default(2000),
            maxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(768 * 1024),
            /** Batches published and not yet acknowledged by the server, at most. */
            inFlight: z.number().int().min(1).max(64).default(8),
            /** A batch with no ack after this long is sent again. */
            ackTimeoutSeconds: z.number().min(0.1).max(3600).default(30),
          })
          .strict()
          .default({ maxPunches: 2000, maxBytes: 768 * 1024, inFlight: 8, ackTimeoutSeconds: 30 }),
        reconnect: z
          .object({ minSeconds: z.number().min(0.05).default(1), maxSeconds: z.number().min(0.1).default(60) })
          .strict()
          .default({ minSeconds: 1, maxSeconds: 60 }),
      })
      .strict()
      .refine((mqtt) => !(mqtt.password && mqtt.passwordFile), { message: 'give password or passwordFile, not both' })
      .optional(),
    retention: z
      .object({
        /** Acknowledged punches are kept locally this long, then pruned. */
        ackedDays: z.number().min(0).max(3650).default(30),
        /** Above this many unsent punches the gateway raises an alarm (it never drops them). */
        maxPending: z.number().int().min(1).default(1_000_000),
        /** Below this much free space on the data dir's disk the gateway raises an alarm. */
        minFreeMegabytes: z.number().min(0).default(64),
      })
      .strict()
      .default({ ackedDays: 30, maxPending: 1_000_000, minFreeMegabytes: 64 }),
    clock: z
      .object({
        /**
         * A command printing "yes" when the wall clock is synchronised (NTP), or null to trust the
         * clock as it is (a gateway with a real-time clock).
         */
        syncCommand: z.array(z.string().min(1)).min(1).nullable().default(['timedatectl', 'show', '-p', 'NTPSynchronized', '--value']),
        checkIntervalSeconds: z.number().min(0.1).max(3600).default(30),
      })
      .strict()
      .default({ syncCommand: ['timedatectl', 'show', '-p', 'NTPSynchronized', '--value'], checkIntervalSeconds: 30 }),
    /**
     * BLE and Wi-Fi presence. Missing hardware is not an error: each part reports "unavailable"
     * with its reason in status and /health, and the rest of the gateway runs on.
     */
    presence: z
      .object({
        ble: z
          .object({
            /** Scan for staff tags (hands-free punching, when the site turns it on). */
            scan: z.boolean().default(true),
            /** Advertise the rotating beacon, when the settings give its keys. */
            advertise: z.boolean().default(true),
          })
          .strict()
          .default({ scan: true, advertise: true }),
        wifi: z
          .object({
            enabled: z.boolean().default(true),
            /** The interface nmcli scans; null: all of them. */
            iface: z.string().min(1).nullable().default('wlan0'),
            scanIntervalSeconds: z.number().min(5).max(86_400).default(60),
          })
          .strict()
          .default({ enabled: true, iface: 'wlan0', scanIntervalSeconds: 60 }),
        /** The site's presence settings until the dashboard pushes its own (which then win). */
        settings: PresenceSettings.default({}),
      })
      .strict()
      .default({ ble: { scan: true, advertise: true }, wifi: { enabled: true, iface: 'wlan0', scanIntervalSeconds: 60 }, settings: {} }),
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
