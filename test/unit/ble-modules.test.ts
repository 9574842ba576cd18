import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { BleAdvertiser } from '../../gateway/presence/ble-advertiser.js';
import { describeBleLoadError, loadBleModule, loadBleno, loadNoble, loadNobleWithBindings, type NobleBindingsLike } from '../../gateway/presence/ble-modules.js';
import { testLogger } from '../support/logger.js';

/*
 * No fake here: this machine has no Bluetooth sockets, and noble and bleno throw EAFNOSUPPORT
 * while being required. The loaders must turn that into a reason, never a throw.
 */

const EAFNOSUPPORT_REASON = /^no Bluetooth socket support \(EAFNOSUPPORT\)/;
const require = createRequire(import.meta.url);

describe('BLE module loaders on a machine without Bluetooth', () => {
  it('loadBleno() reports EAFNOSUPPORT instead of throwing', () => {
    const result = loadBleno();
    expect(result).toMatchObject({ ok: false, code: 'EAFNOSUPPORT', reason: expect.stringMatching(EAFNOSUPPORT_REASON) });
  });

  it('loadNoble() reports EAFNOSUPPORT instead of throwing', () => {
    const result = loadNoble();
    expect(result).toMatchObject({ ok: false, code: 'EAFNOSUPPORT', reason: expect.stringMatching(EAFNOSUPPORT_REASON) });
  });

  it('a failed load leaves nothing cached: the next call tries again and fails the same way', () => {
    expect(loadBleno()).toMatchObject({ ok: false, code: 'EAFNOSUPPORT' });
    expect(loadBleno()).toMatchObject({ ok: false, code: 'EAFNOSUPPORT' });
    expect(require.cache[require.resolve('@abandonware/bleno')]).toBeUndefined();
    expect(require.cache[require.resolve('@abandonware/noble')]).toBeUndefined();
    expect(loadNoble()).toMatchObject({ ok: false, code: 'EAFNOSUPPORT' });
  });

  it('loadNobleWithBindings() loads (it never opens the HCI socket) and drives the binding it is given', async () => {
    const result = loadNobleWithBindings();
    if (!result.ok) throw new Error(result.reason);
    const calls: string[] = [];
    const binding = Object.assign(new EventEmitter(), {
      init: () => {
        calls.push('init');
        setImmediate(() => binding.emit('stateChange', 'poweredOn'));
      },
      startScanning: (_uuids: string[] | undefined, allowDuplicates: boolean | undefined) => calls.push(`scan ${String(allowDuplicates)}`),
      stopScanning: () => calls.push('stop'),
    }) satisfies NobleBindingsLike;
    const noble = result.module(binding);
    const state = await new Promise<string>((resolve) => noble.on('stateChange', resolve));
    expect(state).toBe('poweredOn');
    noble.startScanning([], true);
    expect(calls).toEqual(['init', 'scan true']);
  });

  it('names a missing package, a missing native binding and other failures plainly', () => {
    expect(loadBleModule('punchgate-no-such-ble-module')).toEqual({ ok: false, code: 'MODULE_NOT_FOUND', reason: 'punchgate-no-such-ble-module is not installed' });
    const missingNode = Object.assign(new Error("Cannot find module '../build/Release/bluetooth_hci_socket.node'"), { code: 'MODULE_NOT_FOUND' });
    expect(describeBleLoadError('@abandonware/bleno', missingNode).reason).toBe("the native Bluetooth binding is not built: Cannot find module '../build/Release/bluetooth_hci_socket.node'");
    expect(describeBleLoadError('@abandonware/bleno', Object.assign(new Error('EPERM, Operation not permitted'), { code: 'EPERM' }))).toEqual({ code: 'EPERM', reason: 'permission denied: needs root or cap_net_raw (EPERM)' });
    expect(describeBleLoadError('@abandonware/bleno', Object.assign(new Error('ENODEV, No such device'), { code: 'ENODEV' })).reason).toBe('no Bluetooth adapter (ENODEV)');
    expect(describeBleLoadError('@abandonware/bleno', Object.assign(new Error('/x.node: undefined symbol: foo'), { code: 'ERR_DLOPEN_FAILED' })).reason).toBe('the native Bluetooth binding failed to load: /x.node: undefined symbol: foo');
    expect(describeBleLoadError('@abandonware/bleno', new Error('Unsupported platform aix\nstack'))).toEqual({ reason: '@abandonware/bleno failed to load: Unsupported platform aix' });
    expect(describeBleLoadError('@abandonware/bleno', 'a string')).toEqual({ reason: '@abandonware/bleno failed to load: a string' });
  });

  it('an advertiser given the failed load is unavailable, says why, and never throws', async () => {
    const advertiser = new BleAdvertiser({
      bleno: loadBleno(),
      frameAt: (t) => ({ advertisement: Buffer.from('020106', 'hex'), validUntilMs: t + 1000 }),
      logger: testLogger(),
    });
    expect(advertiser.status()).toMatchObject({ state: 'unavailable', reason: expect.stringMatching(/^BLE unavailable: no Bluetooth socket support \(EAFNOSUPPORT\)/), rotations: 0 });
    expect(() => advertiser.start()).not.toThrow();
    expect(advertiser.status().state).toBe('unavailable');
    await advertiser.stop();
    expect(advertiser.status().state).toBe('unavailable');
  });
});
