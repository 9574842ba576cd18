import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, in Stripe's scheme: `Punchgate-Signature: t=<unix seconds>,v1=<hex
 * HMAC-SHA256(secret, "<t>.<raw body>")>`. The time is inside what is signed, so a captured
 * request cannot be replayed later with a fresh `t`, and a receiver refuses one whose `t` is older
 * than its tolerance. Receivers verify with {@link verifyWebhookSignature} (or the snippet in
 * docs/notifications.md); the header may carry several `v1=` values (one per secret, while a
 * secret is being rotated): any one matching is enough.
 */

export const SIGNATURE_HEADER = 'Punchgate-Signature';
/** The notification's key: the same for every attempt and every replay of one event. */
export const EVENT_ID_HEADER = 'Punchgate-Event-Id';
/** The delivery (one notification to one endpoint): the same for each of its attempts. */
export const DELIVERY_ID_HEADER = 'Punchgate-Delivery-Id';

export const DEFAULT_TOLERANCE_SECONDS = 300;

function hmacHex(secret: string, timestamp: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** The `Punchgate-Signature` header value for a body sent at `timestampSeconds`. */
export function signatureHeader(secret: string, rawBody: string | Buffer, timestampSeconds: number): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) throw new RangeError('the timestamp must be whole unix seconds');
  return `t=${timestampSeconds},v1=${hmacHex(secret, timestampSeconds, rawBody)}`;
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'too-old' | 'too-new' | 'mismatch' };

/**
 * Checks a `Punchgate-Signature` header against the raw body bytes as received (before any JSON
 * parsing), at `nowSeconds`: the signature must match and `t` be within `toleranceSeconds` of
 * now, either way. Constant-time comparison.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  rawBody: string | Buffer,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): VerifyResult {
  if (!header || header.length > 2048) return { ok: false, reason: 'malformed' };
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const [name, value, ...rest] = part.trim().split('=');
    if (value === undefined || rest.length > 0) return { ok: false, reason: 'malformed' };
    if (name === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return { ok: false, reason: 'malformed' };
      timestamp = Number(value);
    } else if (name === 'v1') {
      if (!/^[0-9a-f]{64}$/.test(value)) return { ok: false, reason: 'malformed' };
      signatures.push(Buffer.from(value, 'hex'));
    }
    // Other schemes (v0, a future v2) are ignored, as Stripe's receivers do.
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed' };
  if (nowSeconds - timestamp > toleranceSeconds) return { ok: false, reason: 'too-old' };
  if (timestamp - nowSeconds > toleranceSeconds) return { ok: false, reason: 'too-new' };
  const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), 'hex');
  // Every candidate is compared (no early exit), each in constant time.
  let matched = false;
  for (const signature of signatures) matched = timingSafeEqual(signature, expected) || matched;
  return matched ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' };
}
