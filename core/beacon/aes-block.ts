import { createCipheriv, type Cipher } from 'node:crypto';

/** AES-128 works on 16-byte blocks with 16-byte keys; both rotating beacons use exactly one block. */
export const AES_BLOCK_BYTES = 16;

/**
 * One AES-128 key ready to encrypt single 16-byte blocks (ECB, no padding). The cipher object is
 * made once per key and reused: ECB carries no state between blocks, so each `update` of one full
 * block returns that block's ciphertext at once, about four times cheaper than a fresh cipher per
 * block. `final()` is never called, so the object stays usable for the key's lifetime.
 */
export class Aes128Block {
  readonly #cipher: Cipher;

  constructor(key: Uint8Array) {
    if (key.length !== AES_BLOCK_BYTES) {
      throw new RangeError(`an AES-128 key is 16 bytes, got ${key.length}`);
    }
    this.#cipher = createCipheriv('aes-128-ecb', key, null);
    this.#cipher.setAutoPadding(false);
  }

  /** AES128-ECB_key(block): the 16-byte ciphertext of one 16-byte block. */
  encrypt(block: Uint8Array): Buffer {
    if (block.length !== AES_BLOCK_BYTES) {
      throw new RangeError(`an AES block is 16 bytes, got ${block.length}`);
    }
    const out = this.#cipher.update(block);
    if (out.length !== AES_BLOCK_BYTES) throw new Error('AES-128-ECB returned a partial block');
    return out;
  }
}

/** A key given as bytes or as an already prepared cipher. */
export type AesKey = Uint8Array | Aes128Block;

export function aes128(key: AesKey): Aes128Block {
  return key instanceof Aes128Block ? key : new Aes128Block(key);
}

/** 32 hex characters (either case) to the 16 key bytes; anything else is refused. */
export function keyFromHex(hex: string): Buffer {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) {
    throw new RangeError(`a 128-bit key is 32 hex characters, got "${hex.length > 40 ? `${hex.slice(0, 40)}...` : hex}"`);
  }
  return Buffer.from(hex, 'hex');
}
