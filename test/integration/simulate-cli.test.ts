import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeEm4100Frame } from '../../firmware-bridge/codecs/em4100.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { runCli } from '../support/cli.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';

describe('punchgate simulate reader', () => {
  let pair: PtyPair;
  let gatewaySide: SerialLink;
  let received: Buffer[];

  beforeEach(async () => {
    pair = await PtyPair.create();
    gatewaySide = new SerialLink({ path: pair.a, baudRate: 9600, logger: testLogger() });
    received = [];
    gatewaySide.on('data', (chunk) => received.push(chunk));
    await gatewaySide.start();
  });

  afterEach(async () => {
    await gatewaySide.stop();
    await pair.close();
  });

  it('writes the exact RDM6300 frames of the cards it is given, in order', async () => {
    const result = await runCli(['simulate', 'reader', '--protocol', 'rdm6300', '--port', pair.b, '--card', '62E3086CED', '--card', '3808980205', '--interval', '20', '--linger', '50']);
    expect(result.code).toBe(0);
    // The printed decimal number is the same card with version byte 00.
    expect(Buffer.concat(received)).toEqual(Buffer.concat([encodeEm4100Frame('62E3086CED', 'stx-etx'), encodeEm4100Frame('00E3086CED', 'stx-etx')]));
    expect(result.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ event: 'tap', kind: 'em4100', uid: '62E3086CED' }),
      expect.objectContaining({ event: 'tap', kind: 'em4100', uid: '00E3086CED' }),
    ]);
  });

  it('taps cards read from stdin, one per line, and reports a bad line without stopping', async () => {
    const result = await runCli(['simulate', 'reader', '--protocol', 'wiegand', '--port', pair.b, '--linger', '50'], { input: '90:324\nnot-a-card\n1:2\n' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not-a-card/);
    expect(Buffer.concat(received).toString()).toBe('00101101000000001010001000\r\n10000000100000000000000100\r\n');
  });

  it('refuses a card the protocol cannot carry, a missing port and an unknown protocol', async () => {
    const badCard = await runCli(['simulate', 'reader', '--protocol', 'rdm6300', '--port', pair.b, '--card', 'XYZ']);
    expect(badCard.code).toBe(2);
    expect(badCard.stderr).toMatch(/XYZ/);
    expect(received).toEqual([]);
    const noPort = await runCli(['simulate', 'reader', '--protocol', 'rdm6300', '--port', `${pair.dir}/nothing`, '--card', '62E3086CED']);
    expect(noPort.code).toBe(1);
    expect(noPort.stderr).toMatch(/cannot open .*nothing/);
    const badProtocol = await runCli(['simulate', 'reader', '--protocol', 'hid', '--port', pair.b]);
    expect(badProtocol.code).toBe(2);
    expect(badProtocol.stderr).toMatch(/--protocol must be one of/);
  });
});
