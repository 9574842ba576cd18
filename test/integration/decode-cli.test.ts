import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/** Worked examples of ../shared/HARDWARE.md and docs/bridge-protocol.md, computed by hand here. */
const rdm6300Frame = '02 36 32 45 33 30 38 36 43 45 44 30 38 03';
const em4100Example = { kind: 'em4100', uid: '62E3086CED', number: '3808980205', credential: 'em4100:E3086CED' };
const wiegandExample = '00101101000000001010001000';

function pn532Frame(data: number[]): string {
  // Checksums computed here from UM0701's rules, independently of the codec under test.
  const length = data.length + 1;
  const tfi = 0xd5;
  const dcs = (0x100 - ((tfi + data.reduce((sum, byte) => sum + byte, 0)) & 0xff)) & 0xff;
  return Buffer.from([0x00, 0x00, 0xff, length, (0x100 - length) & 0xff, tfi, ...data, dcs, 0x00]).toString('hex');
}

function lines(text: string): unknown[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
}

describe('punchgate decode', () => {
  it('decodes the RDM6300 worked example and prints the printed card number', async () => {
    const result = await runCli(['decode', '--protocol', 'rdm6300', '--hex', rdm6300Frame]);
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([em4100Example]);
    expect(result.stderr).toBe('');
  });

  it('refuses the corrupted twin (checksum 09 instead of 08) on stderr with exit 1, printing no card', async () => {
    const result = await runCli(['decode', '--protocol', 'rdm6300', '--hex', rdm6300Frame.replace('30 38 03', '30 39 03')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/bad frame: .*checksum/i);
  });

  it('decodes the EM-18 form (no STX/ETX) of the same card', async () => {
    const result = await runCli(['decode', '--protocol', 'em18', '--hex', Buffer.from('62E3086CED08').toString('hex')]);
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([em4100Example]);
  });

  it('decodes the Wiegand-26 example FC 90 CN 324 and refuses a twin with one bit flipped', async () => {
    const good = await runCli(['decode', '--protocol', 'wiegand', '--wiegand-bits', '26'], { input: `${wiegandExample}\r\n` });
    expect(good.code).toBe(0);
    expect(lines(good.stdout)).toEqual([{ kind: 'wiegand26', uid: '5A0144', facility: 90, card: 324, credential: 'wiegand26:5A0144' }]);

    const flipped = `${wiegandExample.slice(0, 5)}${wiegandExample[5] === '0' ? '1' : '0'}${wiegandExample.slice(6)}`;
    const bad = await runCli(['decode', '--protocol', 'wiegand'], { input: `${flipped}\r\n` });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/bad frame: .*parity/i);
  });

  it('reads raw bytes from stdin, reports good and bad frames, and exits 1 when any was bad', async () => {
    const good = Buffer.from(rdm6300Frame.replace(/ /g, ''), 'hex');
    const bad = Buffer.from(good);
    bad[3] = 0x46; // one character of the tag changed: the checksum no longer holds
    const result = await runCli(['decode', '--protocol', 'rdm6300'], { input: Buffer.concat([good, bad, good]) });
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toEqual([em4100Example, em4100Example]);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('decodes a decimal ASCII reader line to the same credential as the RDM6300 frame', async () => {
    const result = await runCli(['decode', '--protocol', 'ascii', '--ascii-format', 'dec32'], { input: '3808980205\r\n' });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([expect.objectContaining({ kind: 'em4100', number: '3808980205', credential: 'em4100:E3086CED' })]);
  });

  it('decodes a PN532 InListPassiveTarget answer with a 7-byte UID and refuses it with a bad DCS', async () => {
    const uid = [0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6];
    const frame = pn532Frame([0x4b, 0x01, 0x01, 0x00, 0x44, 0x00, uid.length, ...uid]);
    const ack = '0000ff00ff00';
    const good = await runCli(['decode', '--protocol', 'pn532', '--hex', ack + frame]);
    expect(good.code).toBe(0);
    expect(lines(good.stdout)).toEqual([{ kind: 'mifare', uid: '04A1B2C3D4E5F6', credential: 'mifare:04A1B2C3D4E5F6' }]);

    const corrupted = `${frame.slice(0, -4)}${((Number.parseInt(frame.slice(-4, -2), 16) + 1) & 0xff).toString(16).padStart(2, '0')}00`;
    const bad = await runCli(['decode', '--protocol', 'pn532', '--hex', corrupted]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/bad frame/);
  });

  it('decodes the bridge protocol worked CARD_READ frame and refuses it with a damaged CRC', async () => {
    const frame = '04 01 20 01 0C 02 07 04 A1 B2 C3 D4 E5 F6 39 30 01 05 2C 26 88 E7 00';
    const good = await runCli(['decode', '--protocol', 'punchgate', '--hex', frame]);
    expect(good.code).toBe(0);
    expect(lines(good.stdout)).toEqual([{ kind: 'mifare', uid: '04A1B2C3D4E5F6', credential: 'mifare:04A1B2C3D4E5F6' }]);
    const bad = await runCli(['decode', '--protocol', 'punchgate', '--hex', frame.replace('2C 26', '2D 26')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/bad frame: .*CRC/i);
  });

  it('explains wrong usage with exit 2', async () => {
    const noProtocol = await runCli(['decode', '--hex', '00']);
    expect(noProtocol.code).toBe(2);
    expect(noProtocol.stderr).toMatch(/--protocol must be one of rdm6300, em18, pn532, wiegand, ascii, punchgate/);
    const badHex = await runCli(['decode', '--protocol', 'rdm6300', '--hex', '0G']);
    expect(badHex.code).toBe(2);
    expect(badHex.stderr).toMatch(/--hex must be pairs of hex digits/);
    const badOption = await runCli(['decode', '--protocol', 'wiegand', '--wiegand-bits', '27']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/--wiegand-bits must be 26 or 34/);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
