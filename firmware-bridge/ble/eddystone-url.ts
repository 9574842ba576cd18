import { hexByte } from './frames.js';

/*
 * The Eddystone-URL compression (google/eddystone eddystone-url/README.md): one scheme prefix byte
 * (00 http://www.  01 https://www.  02 http://  03 https://), then up to 17 bytes in which
 * 0x00-0x0D stand for ".com/" ... ".gov" and 0x21-0x7E are themselves. 0x0E-0x20 and 0x7F-0xFF
 * are reserved: a URL holding one is refused, not guessed at.
 */

export const URL_SCHEMES = ['http://www.', 'https://www.', 'http://', 'https://'] as const;
export const URL_EXPANSIONS = ['.com/', '.org/', '.edu/', '.net/', '.info/', '.biz/', '.gov/', '.com', '.org', '.edu', '.net', '.info', '.biz', '.gov'] as const;
/** Most encoded URL bytes after the scheme byte. */
export const MAX_ENCODED_URL_BYTES = 17;

export type UrlDecode = { ok: true; url: string } | { ok: false; reason: string };

/** Decodes `bytes[start, end)`: the scheme byte then the encoded URL. */
export function decodeEddystoneUrl(bytes: Uint8Array, start: number, end: number): UrlDecode {
  if (end <= start) return { ok: false, reason: 'Eddystone-URL frame has no URL scheme byte' };
  const scheme = bytes[start] as number;
  const prefix = URL_SCHEMES[scheme];
  if (prefix === undefined) return { ok: false, reason: `Eddystone-URL scheme prefix 0x${hexByte(scheme)} is not one of 00-03` };
  if (end - start - 1 > MAX_ENCODED_URL_BYTES) {
    return { ok: false, reason: `Eddystone-URL encoded URL is ${end - start - 1} bytes, at most ${MAX_ENCODED_URL_BYTES}` };
  }
  let url: string = prefix;
  for (let at = start + 1; at < end; at += 1) {
    const code = bytes[at] as number;
    const expansion = URL_EXPANSIONS[code];
    if (expansion !== undefined) url += expansion;
    else if (code > 0x20 && code < 0x7f) url += String.fromCharCode(code);
    else return { ok: false, reason: `Eddystone-URL byte 0x${hexByte(code)} at URL offset ${at - start - 1} is reserved` };
  }
  return { ok: true, url };
}

/**
 * The scheme byte and encoded URL for `url`, the shortest encoding: the longest scheme prefix,
 * then at each position the longest expansion that matches (the expansions are ".tld" and
 * ".tld/", so taking the longest never costs a later byte). RangeError when the URL has no
 * http(s) scheme, holds a character outside 0x21-0x7E, or needs more than 17 bytes.
 */
export function encodeEddystoneUrl(url: string): Buffer {
  let scheme = -1;
  let prefixLength = 0;
  URL_SCHEMES.forEach((prefix, code) => {
    if (url.startsWith(prefix) && prefix.length > prefixLength) {
      scheme = code;
      prefixLength = prefix.length;
    }
  });
  if (scheme < 0) throw new RangeError(`Eddystone-URL "${url}" must start with http:// or https:// (lower-case)`);
  const out: number[] = [scheme];
  let at = prefixLength;
  while (at < url.length) {
    let code = -1;
    let matched = 0;
    URL_EXPANSIONS.forEach((expansion, index) => {
      if (expansion.length > matched && url.startsWith(expansion, at)) {
        code = index;
        matched = expansion.length;
      }
    });
    if (code >= 0) {
      out.push(code);
      at += matched;
      continue;
    }
    const char = url.charCodeAt(at);
    if (char <= 0x20 || char >= 0x7f) {
      throw new RangeError(`Eddystone-URL "${url}" has character ${JSON.stringify(url[at])} at ${at}: only printable ASCII (0x21-0x7E) can be sent`);
    }
    out.push(char);
    at += 1;
  }
  if (out.length - 1 > MAX_ENCODED_URL_BYTES) {
    throw new RangeError(`Eddystone-URL "${url}" encodes to ${out.length - 1} bytes after the scheme, at most ${MAX_ENCODED_URL_BYTES}`);
  }
  return Buffer.from(out);
}
