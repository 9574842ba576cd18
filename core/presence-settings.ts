import { z } from 'zod';
import { BeaconKeyHex, IBeaconMajorMinor, IBeaconUuid, RotationExponent } from './beacon/beacon-registry.js';
import { AllowedBssid } from './location/site-location-policy.js';

/**
 * A site's presence settings as a gateway runs them: what it advertises (the rotating beacon),
 * which access points prove it is still in its shop, and whether staff tags punch hands-free.
 * Pushed by the dashboard in the config snapshot, or given in the gateway's local config file.
 */
export const PresenceSettings = z
  .object({
    wifi: z
      .object({
        /** The shop's own access points; none: the Wi-Fi check is `not-configured` and never alarms. */
        expectedBssids: z.array(AllowedBssid).max(256).default([]),
      })
      .strict()
      .optional(),
    beacon: z
      .object({
        /** Eddystone-EID: this gateway's identity key, registered at the dashboard (docs/rotating-beacon.md). */
        eid: z
          .object({
            identityKey: BeaconKeyHex,
            rotationExponent: RotationExponent,
            /** The beacon's time counter is seconds since this instant (unix seconds). */
            epochUnixSeconds: z.int(),
            /** Calibrated TX power at 0 m (dBm), advertised in the frame. */
            txPower: z.int().min(-100).max(20).default(-21),
          })
          .strict()
          .optional(),
        /** The rotating iBeacon minor for phones that range only iBeacons (iOS). */
        ibeacon: z
          .object({
            uuid: IBeaconUuid,
            major: IBeaconMajorMinor,
            siteKey: BeaconKeyHex,
            rotationExponent: RotationExponent,
            /** RSSI at 1 m (dBm), advertised in the frame. */
            measuredPower: z.int().min(-127).max(0).default(-59),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    handsFree: z
      .object({
        /** Off unless a site turns it on; even then only for tags whose owner's consent is recorded. */
        enabled: z.boolean().default(false),
        /** A tag unheard this long after it went away punches its owner out (at the time it was last heard). */
        punchOutAfterSeconds: z.number().min(0).max(86_400).default(600),
      })
      .strict()
      .optional(),
  })
  .strict();
export type PresenceSettings = z.output<typeof PresenceSettings>;
