import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/*
 * `punchgate decode --protocol ble`, run as users run it (the built command). Vectors written by
 * hand: the iBeacon of ../shared/HARDWARE.md, Eddystone frames from google/eddystone's frame
 * READMEs (flags 02 01 06, UUID list 03 03 AA FE, service data .. 16 AA FE frame).
 */
const IBEACON = '0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E0000100C8C5';
const EDDYSTONE = '020106 0303AAFE';
const UID = `${EDDYSTONE} 1716AAFE 00EC 8B0CA750095477CB3E77 000000000001 0000`;
const URL = `${EDDYSTONE} 1316AAFE 10EE 03 ${Buffer.from('goo.gl/S6zT6P').toString('hex')}`;
const TLM = `${EDDYSTONE} 1116AAFE 2000 0BB8 8000 000004D2 00003039`;
const EID = `${EDDYSTONE} 0D16AAFE 30F0 0123456789ABCDEF`;
const ALTBEACON = `020106 1BFF 1801 BEAC 2F234454CF6D4A0FADF2F4911BA9FFA600010002 C5 00`;

function lines(text: string): unknown[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
}

describe('punchgate decode --protocol ble', () => {
  it('decodes the worked iBeacon example to one JSON line', async () => {
    const result = await runCli(['decode', '--protocol', 'ble', '--hex', IBEACON]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(lines(result.stdout)).toEqual([{ kind: 'ibeacon', uuid: 'e2c56db5-dffb-48d2-b060-d0f5a71096e0', major: 1, minor: 200, measuredPower: -59 }]);
  });

  it.each([
    ['AltBeacon', ALTBEACON, { kind: 'altbeacon', manufacturerId: 0x0118, beaconId: '2f234454cf6d4a0fadf2f4911ba9ffa600010002', referenceRssi: -59, reserved: 0 }],
    ['Eddystone-UID', UID, { kind: 'eddystone-uid', txPower: -20, namespace: '8b0ca750095477cb3e77', instance: '000000000001' }],
    ['Eddystone-URL', URL, { kind: 'eddystone-url', txPower: -18, url: 'https://goo.gl/S6zT6P' }],
    ['Eddystone-TLM', TLM, { kind: 'eddystone-tlm', version: 0, batteryMillivolts: 3000, temperatureCelsius: null, advertisingCount: 1234, uptimeSeconds: 1234.5 }],
    ['Eddystone-EID', EID, { kind: 'eddystone-eid', txPower: -16, eid: '0123456789abcdef' }],
  ])('decodes %s (hex with spaces)', async (_name, advert, frame) => {
    const result = await runCli(['decode', '--protocol', 'ble', '--hex', advert]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([frame]);
  });

  it.each([
    ['an iBeacon of 24 bytes instead of 25', `020106 19FF ${IBEACON.slice(10, -2)}`, /^bad advertisement: iBeacon manufacturer data is 24 bytes, expected 25 \[02010619FF4C000215/],
    ['a truncated advertisement', IBEACON.slice(0, -2), /^bad advertisement: AD structure at byte 3 claims 26 bytes but only 25 follow/],
    ['an Eddystone-UID frame that is too short', `${EDDYSTONE} 1416AAFE 00EC 8B0CA750095477CB3E77 0000000000`, /Eddystone-UID frame is 17 bytes/],
    ['a TLM frame of version 1', TLM.replace('2000', '2001'), /Eddystone-TLM version 0x01 is not read/],
    ['an Eddystone-URL with an invalid scheme', URL.replace('10EE 03', '10EE 09'), /Eddystone-URL scheme prefix 0x09 is not one of 00-03/],
    ['an advertisement that is not a beacon', `020106 0509${Buffer.from('Pixel').toString('hex').slice(0, 8)}`, /^bad advertisement: no iBeacon, AltBeacon or Eddystone frame in the advertisement/],
  ])('refuses %s on stderr with exit 1, printing nothing on stdout', async (_name, advert, message) => {
    const result = await runCli(['decode', '--protocol', 'ble', '--hex', advert]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reads one advertisement in hex per line on stdin, reporting each bad one by line', async () => {
    const input = `${IBEACON}\r\n\n${IBEACON.slice(0, -2)}\nnot hex\n${EID.replace(/ /g, ':')}`;
    const result = await runCli(['decode', '--protocol', 'ble'], { input });
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toEqual([expect.objectContaining({ kind: 'ibeacon', minor: 200 }), expect.objectContaining({ kind: 'eddystone-eid' })]);
    const errors = result.stderr.trim().split('\n');
    expect(errors).toEqual([expect.stringMatching(/^bad advertisement on line 3: AD structure/), expect.stringMatching(/^bad advertisement on line 4: not pairs of hex digits: "not hex"/)]);
  });

  it('exits 0 when every line on stdin is a beacon', async () => {
    const result = await runCli(['decode', '--protocol', 'ble'], { input: `${IBEACON}\n${UID}\n` });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toHaveLength(2);
    expect(result.stderr).toBe('');
  });

  it('explains wrong usage with exit 2', async () => {
    const badHex = await runCli(['decode', '--protocol', 'ble', '--hex', '0G']);
    expect(badHex.code).toBe(2);
    expect(badHex.stderr).toMatch(/--hex must be pairs of hex digits/);
    const serialOption = await runCli(['decode', '--protocol', 'ble', '--wiegand-bits', '26', '--hex', IBEACON]);
    expect(serialOption.code).toBe(2);
    expect(serialOption.stderr).toMatch(/--wiegand-bits does not apply to --protocol ble/);
    const unknown = await runCli(['decode', '--protocol', 'bluetooth', '--hex', IBEACON]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--protocol must be one of rdm6300, em18, pn532, wiegand, ascii, punchgate, ble \(got "bluetooth"\)/);
    const help = await runCli(['decode', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/protocols: .*\bble\b/);
    expect(help.stdout).toMatch(/one advertisement in hex per line/);
  });
});
