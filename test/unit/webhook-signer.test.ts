import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifyWebhookSignature } from '../../dashboard/notifications/webhook-signer.js';

const SECRET = 'whsec_unit-test-secret';
const BODY = JSON.stringify({ id: 'late:E001:2026-11-20', type: 'late', employee: { employeeNumber: 'E001', name: 'Chan Tai Man', nameZh: '陳大文' } });
const T = 1_795_000_000;

describe('webhook signatures', () => {
  it('signs "<t>.<raw body>" with HMAC-SHA256, as t=...,v1=<hex>', () => {
    const header = signatureHeader(SECRET, BODY, T);
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`, 'utf8').digest('hex');
    expect(header).toBe(`t=${T},v1=${expected}`);
    // Same bytes as a string or a Buffer.
    expect(signatureHeader(SECRET, Buffer.from(BODY, 'utf8'), T)).toBe(header);
  });

  it('verifies its own signature within the tolerance, either side of now', () => {
    const header = signatureHeader(SECRET, BODY, T);
    expect(verifyWebhookSignature(SECRET, header, BODY, T)).toEqual({ ok: true, timestamp: T });
    expect(verifyWebhookSignature(SECRET, header, Buffer.from(BODY), T + 300)).toEqual({ ok: true, timestamp: T });
    expect(verifyWebhookSignature(SECRET, header, BODY, T - 300)).toEqual({ ok: true, timestamp: T });
  });

  it('refuses a tampered body, a wrong secret, and a signature moved to a fresh timestamp', () => {
    const header = signatureHeader(SECRET, BODY, T);
    expect(verifyWebhookSignature(SECRET, header, BODY.replace('E001', 'E002'), T)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhookSignature(SECRET, header, `${BODY} `, T)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhookSignature('whsec_another', header, BODY, T)).toEqual({ ok: false, reason: 'mismatch' });
    // A replayer who rewrites t to look fresh breaks the HMAC, which covers t.
    const v1 = header.split(',v1=')[1];
    expect(verifyWebhookSignature(SECRET, `t=${T + 3600},v1=${v1}`, BODY, T + 3600)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses an old timestamp (a replayed request) and one from the future, even when the HMAC matches', () => {
    const header = signatureHeader(SECRET, BODY, T);
    expect(verifyWebhookSignature(SECRET, header, BODY, T + 301)).toEqual({ ok: false, reason: 'too-old' });
    expect(verifyWebhookSignature(SECRET, header, BODY, T + 3600, 600)).toEqual({ ok: false, reason: 'too-old' });
    expect(verifyWebhookSignature(SECRET, header, BODY, T - 301)).toEqual({ ok: false, reason: 'too-new' });
  });

  it('accepts any one of several v1 signatures (a secret being rotated) and ignores other schemes', () => {
    const mine = signatureHeader(SECRET, BODY, T).split(',v1=')[1];
    const other = signatureHeader('whsec_old', BODY, T).split(',v1=')[1];
    expect(verifyWebhookSignature(SECRET, `t=${T},v1=${other},v1=${mine}`, BODY, T)).toEqual({ ok: true, timestamp: T });
    expect(verifyWebhookSignature(SECRET, `t=${T},v0=abc,v1=${mine}`, BODY, T)).toEqual({ ok: true, timestamp: T });
    expect(verifyWebhookSignature(SECRET, `t=${T},v1=${other}`, BODY, T)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('calls a malformed header malformed', () => {
    const v1 = signatureHeader(SECRET, BODY, T).split(',v1=')[1] as string;
    for (const header of [
      undefined,
      '',
      `v1=${v1}`,
      `t=${T}`,
      `t=soon,v1=${v1}`,
      `t=${T},t=${T},v1=${v1}`,
      `t=${T},v1=${v1.slice(2)}`,
      `t=${T},v1=${v1.toUpperCase()}`,
      `t=${T},v1=${v1}=x`,
      `t=${T};v1=${v1}`,
      `t=${T},${'v1=0,'.repeat(500)}`,
    ]) {
      expect(verifyWebhookSignature(SECRET, header, BODY, T), String(header)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuses a timestamp that is not whole unix seconds when signing', () => {
    expect(() => signatureHeader(SECRET, BODY, 1.5)).toThrow(RangeError);
    expect(() => signatureHeader(SECRET, BODY, -1)).toThrow(RangeError);
  });
});
