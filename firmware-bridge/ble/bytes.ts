/** Small byte helpers shared by the BLE codecs: they read in place and allocate only their result. */

/** The same memory as a Buffer (no copy when it already is one). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Lower-case hex of `bytes[start, end)`. */
export function hexOf(bytes: Buffer, start: number, end: number): string {
  return bytes.toString('hex', start, end);
}

/** 16 bytes from `start` as a canonical UUID: lower-case, dashed 8-4-4-4-12. */
export function uuidOf(bytes: Buffer, start: number): string {
  const digits = bytes.toString('hex', start, start + 16);
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`;
}

/** The bytes of a canonical (validated) UUID or hex string. */
export function bytesOfHex(hex: string): Buffer {
  return Buffer.from(hex.replaceAll('-', ''), 'hex');
}

/** The signed value of one byte. */
export function int8At(bytes: Uint8Array, offset: number): number {
  const value = bytes[offset] as number;
  return value >= 0x80 ? value - 0x100 : value;
}

/** One byte holding a signed value (-128..127). */
export function int8Byte(value: number): number {
  return value & 0xff;
}
