import { z } from 'zod';

/*
 * The beacon frames punchgate reads and advertises, as one discriminated union on `kind`, and the
 * result every BLE parser returns. Wire layouts: ../shared/HARDWARE.md "BLE advertisements",
 * Apple's iBeacon, AltBeacon/spec, google/eddystone (each frame's README).
 *
 * The schemas describe decoded frames (hex lower-case, uuid canonical) and validate the input of
 * the builders; inputs may use either hex case and a uuid with or without dashes.
 */

const int8 = z.number().int().min(-128).max(127);
const uint8 = z.number().int().min(0).max(0xff);
const uint16 = z.number().int().min(0).max(0xffff);
const uint32 = z.number().int().min(0).max(0xffffffff);

function hexBytes(bytes: number) {
  return z
    .string()
    .regex(new RegExp(`^[0-9A-Fa-f]{${bytes * 2}}$`), `must be ${bytes} bytes of hex (${bytes * 2} hex digits)`)
    .transform((value) => value.toLowerCase());
}

/** A 128-bit UUID, canonical on output: lower-case, dashed 8-4-4-4-12. */
export const BeaconUuid = z
  .string()
  .regex(/^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$/, 'must be a UUID (32 hex digits, dashed 8-4-4-4-12 or not)')
  .transform((value) => {
    const digits = value.replaceAll('-', '').toLowerCase();
    return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`;
  });

export const IBeaconFrame = z.object({
  kind: z.literal('ibeacon'),
  uuid: BeaconUuid,
  major: uint16,
  minor: uint16,
  /** Received power at 1 m, dBm (int8). */
  measuredPower: int8,
});

export const AltBeaconFrame = z.object({
  kind: z.literal('altbeacon'),
  /** Bluetooth SIG company identifier (little-endian on the air). */
  manufacturerId: uint16,
  /** 20 bytes, hex. */
  beaconId: hexBytes(20),
  /** Average received power at 1 m, dBm (int8). */
  referenceRssi: int8,
  /** The manufacturer's reserved byte. */
  reserved: uint8,
});

export const EddystoneUidFrame = z.object({
  kind: z.literal('eddystone-uid'),
  /** Calibrated power at 0 m, dBm (int8). */
  txPower: int8,
  namespace: hexBytes(10),
  instance: hexBytes(6),
});

export const EddystoneUrlFrame = z.object({
  kind: z.literal('eddystone-url'),
  txPower: int8,
  /** The expanded URL. Whether it can be encoded (scheme, characters, 17 bytes) is the encoder's call. */
  url: z.string().min(1),
});

/** The 8.8 fixed-point value 0x8000 (-128 °C) means "no sensor": decoded as null. */
export const TLM_TEMPERATURE_NOT_SUPPORTED = 0x8000;

export const EddystoneTlmFrame = z.object({
  kind: z.literal('eddystone-tlm'),
  /** Only version 0 (unencrypted TLM) is read and written. */
  version: z.literal(0),
  /** 1 mV per bit; 0 when the beacon does not measure it. */
  batteryMillivolts: uint16,
  /** Signed 8.8 fixed point on the air (1/256 °C steps); null when not supported (0x8000). */
  temperatureCelsius: z
    .number()
    .nullable()
    .refine((value) => value === null || (Number.isFinite(value) && Math.round(value * 256) > -32768 && Math.round(value * 256) <= 32767), {
      message: 'must be between -127.996 and 127.996 °C (-128 is the "not supported" marker: use null)',
    }),
  /** Advertising PDUs sent since power-on (u32). */
  advertisingCount: uint32,
  /** Time since power-on: SEC_CNT (u32, 0.1 s units) / 10. */
  uptimeSeconds: z
    .number()
    .refine((value) => Number.isFinite(value) && value >= 0 && Math.round(value * 10) <= 0xffffffff, {
      message: 'must be between 0 and 429496729.5 seconds',
    }),
});

export const EddystoneEidFrame = z.object({
  kind: z.literal('eddystone-eid'),
  txPower: int8,
  /** The 8-byte ephemeral identifier, hex. */
  eid: hexBytes(8),
});

export const BeaconFrame = z.discriminatedUnion('kind', [IBeaconFrame, AltBeaconFrame, EddystoneUidFrame, EddystoneUrlFrame, EddystoneTlmFrame, EddystoneEidFrame]);

export type IBeaconFrame = z.output<typeof IBeaconFrame>;
export type AltBeaconFrame = z.output<typeof AltBeaconFrame>;
export type EddystoneUidFrame = z.output<typeof EddystoneUidFrame>;
export type EddystoneUrlFrame = z.output<typeof EddystoneUrlFrame>;
export type EddystoneTlmFrame = z.output<typeof EddystoneTlmFrame>;
export type EddystoneEidFrame = z.output<typeof EddystoneEidFrame>;
/** A decoded beacon frame. */
export type BeaconFrame = z.output<typeof BeaconFrame>;
/** What the builders accept (either hex case, uuid with or without dashes). */
export type BeaconFrameInput = z.input<typeof BeaconFrame>;
export type BeaconKind = BeaconFrame['kind'];
export type EddystoneFrame = EddystoneUidFrame | EddystoneUrlFrame | EddystoneTlmFrame | EddystoneEidFrame;

/**
 * Why an advertisement gave no frame:
 * - `not-a-beacon`: well-formed, but carries none of the frames above (most adverts in a shop);
 * - `malformed`: broken AD structures, or a structure that claims a known frame but has the wrong
 *   length or an invalid field (it is refused rather than guessed at);
 * - `unsupported`: a known family in a variant not read here (encrypted TLM, a new Eddystone type).
 */
export type RefusalCode = 'not-a-beacon' | 'malformed' | 'unsupported';

export type BeaconRefusal = { ok: false; code: RefusalCode; reason: string };
export type BeaconParse = { ok: true; frame: BeaconFrame } | BeaconRefusal;

export function refuse(code: RefusalCode, reason: string): BeaconRefusal {
  return { ok: false, code, reason };
}

export function malformed(reason: string): BeaconRefusal {
  return { ok: false, code: 'malformed', reason };
}

export function accept(frame: BeaconFrame): BeaconParse {
  return { ok: true, frame };
}

/** Validates builder input: the parsed frame, or a RangeError naming every wrong field. */
export function checkFrame<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'frame'} ${issue.message}`);
  throw new RangeError(`cannot build a beacon frame: ${problems.join('; ')}`);
}

/** Two upper-case hex digits, for reasons. */
export function hexByte(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}
