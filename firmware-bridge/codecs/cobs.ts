/**
 * Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999): removes every 0x00 from a frame so
 * that 0x00 can delimit frames on a byte stream. Encoding adds at most one byte per 254 bytes.
 * The delimiter itself is not added or expected here; the frame layer owns it.
 */

/** Largest COBS output for `length` input bytes. */
export function cobsMaxEncodedLength(length: number): number {
  return length + Math.max(1, Math.ceil(length / 254));
}

export function cobsEncode(data: Uint8Array): Buffer {
  const out = Buffer.alloc(cobsMaxEncodedLength(data.length));
  let codeAt = 0;
  let code = 1;
  let at = 1;
  for (let i = 0; i < data.length; i += 1) {
    const byte = data[i] as number;
    if (byte === 0) {
      out[codeAt] = code;
      codeAt = at++;
      code = 1;
      continue;
    }
    out[at++] = byte;
    code += 1;
    // A full block of 254 data bytes carries no implied zero; open the next block only if data
    // follows, so the canonical encoding of a 254-byte run has no trailing 0x01.
    if (code === 0xff && i + 1 < data.length) {
      out[codeAt] = code;
      codeAt = at++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.subarray(0, at);
}

export type CobsResult = { ok: true; data: Buffer } | { ok: false; reason: string };

/** Decodes one frame (without its delimiter). Accepts the trailing 0x01 some encoders add. */
export function cobsDecode(encoded: Uint8Array): CobsResult {
  const out = Buffer.alloc(encoded.length);
  let length = 0;
  let at = 0;
  while (at < encoded.length) {
    const code = encoded[at] as number;
    if (code === 0) return { ok: false, reason: `COBS: zero code byte at offset ${at}` };
    const end = at + code;
    if (end > encoded.length) return { ok: false, reason: `COBS: block at offset ${at} runs past the end of the frame` };
    for (let i = at + 1; i < end; i += 1) {
      const byte = encoded[i] as number;
      if (byte === 0) return { ok: false, reason: `COBS: zero data byte at offset ${i}` };
      out[length++] = byte;
    }
    at = end;
    if (code !== 0xff && at < encoded.length) out[length++] = 0;
  }
  return { ok: true, data: out.subarray(0, length) };
}
