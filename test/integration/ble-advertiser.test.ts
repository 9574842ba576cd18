import type { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BleAdvertiser, BleAdvertiserStatusSchema, type AdvertiserTimers, type AdvertisingFrame, type BleAdvertiserOptions, type BleAdvertiserStatus, type FrameSource } from '../../gateway/presence/ble-advertiser.js';
import { loadBleno, type BlenoLike } from '../../gateway/presence/ble-modules.js';
import { HCI_STATUS, installFakeHciSocket, OP } from '../support/fake-hci-socket.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { waitFor } from '../support/wait.js';

/*
 * The advertiser over the real bleno 0.6 (Bleno, its HCI bindings, Gap and Hci), with only the
 * HCI socket faked (test/support/fake-hci-socket.ts): the assertions are on the HCI commands
 * bleno writes to the controller. The fake goes into the require cache before bleno is loaded;
 * this file's fork has its own cache, so one bleno and one controller serve all its tests, in order.
 *
 * bleno keeps its own real timers (it polls the device every second) and the fake answers on
 * setImmediate; the advertiser's own timers and clock are manual.
 */

const hci = installFakeHciSocket();
const loaded = loadBleno();
if (!loaded.ok) throw new Error(`bleno did not load over the fake HCI socket: ${loaded.reason}`);
const bleno: BlenoLike = loaded.module;
const emitter = bleno as unknown as EventEmitter;

/** Timers that fire only when the test moves the manual clock. */
class ManualTimers implements AdvertiserTimers {
  private next = 1;
  private readonly due = new Map<number, { at: number; callback: () => void }>();

  constructor(private readonly clock: ManualClock) {}

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.due.set(id, { at: this.clock.now().getTime() + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  /** Delays (from now) of the timers still set. */
  pending(): number[] {
    const now = this.clock.now().getTime();
    return [...this.due.values()].map((t) => t.at - now).sort((a, b) => a - b);
  }

  /** Moves the clock by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.clock.now().getTime() + ms;
    for (;;) {
      let first: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.due) if (entry[1].at <= target && (!first || entry[1].at < first[1].at)) first = entry;
      if (!first) break;
      this.due.delete(first[0]);
      this.clock.advance(Math.max(0, first[1].at - this.clock.now().getTime()));
      first[1].callback();
    }
    this.clock.advance(target - this.clock.now().getTime());
  }
}

/** Lets the fake controller answer everything written so far (one answer per event-loop turn). */
async function settle(turns = 60): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

const FLAGS = '020106';
/** An Eddystone-EID advert: flags, 16-bit UUID list FEAA, service data FEAA 30 tx EID(8). 21 bytes. */
function eidAdvert(eidHex: string, txPower = -20): Buffer {
  return Buffer.from(`${FLAGS}0303aafe0d16aafe30${(txPower & 0xff).toString(16).padStart(2, '0')}${eidHex}`, 'hex');
}
/** An iBeacon advert (HARDWARE.md): flags, 1A FF 4C00 02 15, UUID, major, minor, power. 30 bytes. */
function iBeaconAdvert(minor: number): Buffer {
  return Buffer.from(`${FLAGS}1aff4c000215e2c56db5dffb48d2b060d0f5a71096e00001${minor.toString(16).padStart(4, '0')}c5`, 'hex');
}
/** The LE Set Advertising Data command bleno must write for `data`: header, length byte, data padded to 31. */
function setAdvertisingDataPacket(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x01, 0x08, 0x20, 0x20, data.length]), data, Buffer.alloc(31 - data.length)]);
}

/** An EID-like frame source: new bytes every `periodMs` of wall time, valid until the period ends. */
function rotatingEid(periodMs: number): FrameSource & { calls: number[] } {
  const calls: number[] = [];
  const source = (nowMs: number): AdvertisingFrame => {
    calls.push(nowMs);
    const counter = Math.floor(nowMs / periodMs);
    return { advertisement: eidAdvert(counter.toString(16).padStart(16, '0').slice(-16)), validUntilMs: (counter + 1) * periodMs, label: 'eddystone-eid' };
  };
  return Object.assign(source, { calls });
}

describe('BLE advertiser over real bleno and a fake HCI socket', () => {
  const logger = testLogger();
  let clock: ManualClock;
  let timers: ManualTimers;
  let advertiser: BleAdvertiser | undefined;
  let statuses: BleAdvertiserStatus[];
  const baseline = { advertisingStart: 0, advertisingStartError: 0, advertisingStop: 0, stateChange: 0 };

  beforeAll(() => {
    for (const event of Object.keys(baseline) as Array<keyof typeof baseline>) baseline[event] = emitter.listenerCount(event);
  });

  function make(options: Partial<BleAdvertiserOptions> & { frameAt: FrameSource }): BleAdvertiser {
    clock = new ManualClock('2026-03-02T01:00:00.000Z');
    timers = new ManualTimers(clock);
    statuses = [];
    advertiser = new BleAdvertiser({ bleno, logger, clock, timers, random: () => 1, ...options });
    advertiser.on('status', (s) => statuses.push(s));
    return advertiser;
  }

  const now = () => clock.now().getTime();
  const states = () => statuses.map((s) => s.state).filter((s, i, all) => i === 0 || all[i - 1] !== s);
  const advertising = (a: BleAdvertiser) => () => a.status().state === 'advertising';

  afterEach(async () => {
    // Leave the controller as the next test expects it, even after a failed test.
    hci.release();
    hci.strictAdvertiseEnable = false;
    if (!hci.isDevUp()) hci.setDevUp(true);
    await advertiser?.stop();
    advertiser = undefined;
    await waitFor('bleno to see the adapter up', () => bleno.state === 'poweredOn', 5_000);
    await waitFor('the controller to stop advertising', () => !hci.advertising.enabled);
  });

  afterAll(() => {
    // bleno cannot be closed; its isDevUp poll keeps running until the worker exits.
    expect(bleno.state).toBe('poweredOn');
  });

  it('waits for bleno to bring the adapter up, then puts exactly the given bytes on the wire', async () => {
    const advert = iBeaconAdvert(200);
    const scan = Buffer.concat([Buffer.from([10, 0x09]), Buffer.from('punchgate')]); // Complete Local Name
    const a = make({ frameAt: (t) => ({ advertisement: advert, scanResponse: scan, validUntilMs: t + 3_600_000, label: 'ibeacon' }) });
    expect(a.status()).toMatchObject({ state: 'stopped', rotations: 0 });
    expect(bleno.state).toBe('unknown');

    a.start();
    // The first stateChange listener made bleno bind its raw socket and initialise the controller.
    expect(hci.sockets.map((s) => s.channel)).toEqual(['control', 'raw']);
    expect(a.status()).toMatchObject({ state: 'waiting-for-adapter', reason: 'the Bluetooth adapter is unknown' });
    await waitFor('advertising', advertising(a));

    const names = hci.commands.map((c) => c.name);
    // bleno's init, then (at poweredOn) our advert.
    expect(names.slice(0, names.indexOf('LE_SET_ADVERTISING_PARAMETERS') + 1)).toEqual([
      'SET_EVENT_MASK',
      'LE_SET_EVENT_MASK',
      'READ_LOCAL_VERSION',
      'WRITE_LE_HOST_SUPPORTED',
      'READ_LE_HOST_SUPPORTED',
      'READ_BD_ADDR',
      'LE_READ_BUFFER_SIZE',
      'LE_SET_ADVERTISE_ENABLE',
      'LE_SET_ADVERTISING_PARAMETERS',
    ]);
    const afterInit = names.indexOf('LE_SET_ADVERTISING_PARAMETERS') + 1;
    expect(names.slice(afterInit)).toEqual(['LE_SET_SCAN_RESPONSE_DATA', 'LE_SET_ADVERTISING_DATA', 'LE_SET_ADVERTISE_ENABLE', 'LE_SET_SCAN_RESPONSE_DATA', 'LE_SET_ADVERTISING_DATA']);
    const dataWrites = hci.since(afterInit, OP.LE_SET_ADVERTISING_DATA);
    expect(dataWrites).toHaveLength(2);
    for (const write of dataWrites) {
      expect(write.ogf).toBe(0x08);
      expect(write.ocf).toBe(0x0008);
      expect(write.packet.toString('hex')).toBe(setAdvertisingDataPacket(advert).toString('hex'));
      expect(write.status).toBe(HCI_STATUS.SUCCESS);
    }
    expect(hci.scanResponseDataSince(afterInit).map((b) => b.toString('hex'))).toEqual([scan.toString('hex'), scan.toString('hex')]);
    expect(hci.advertiseEnablesSince(afterInit)).toEqual([1]);
    await settle();
    expect(hci.advertising).toMatchObject({ enabled: true, data: advert, scanResponse: scan });

    const status = a.status();
    expect(BleAdvertiserStatusSchema.parse(status)).toEqual(status);
    expect(status).toEqual({ state: 'advertising', since: clock.now().toISOString(), rotations: 0, lastFrameHex: advert.toString('hex') });
    expect(states()).toEqual(['waiting-for-adapter', 'advertising']);
  });

  // Every test below starts from a controller bleno has brought up, whether or not the cold start ran.
  describe('with the adapter up', () => {
    beforeAll(async () => {
      if (bleno.state === 'poweredOn') return;
      const init = () => {};
      bleno.on('stateChange', init); // the first stateChange listener initialises bleno
      await waitFor('bleno to bring the adapter up', () => bleno.state === 'poweredOn', 5_000);
      bleno.removeListener('stateChange', init);
    });

    it('rotates: new bytes on the wire when validUntilMs passes, not before', async () => {
      const source = rotatingEid(8_000);
      const a = make({ frameAt: source });
      clock.setWall('2026-03-02T01:00:04.000Z'); // 4 s into a period
      a.start();
      await waitFor('advertising', advertising(a));
      const first = eidAdvert(Math.floor(now() / 8_000).toString(16).padStart(16, '0'));
      expect(hci.advertising.data).toEqual(first);
      expect(source.calls).toEqual([now()]);

      const mark = hci.mark();
      timers.advance(3_999);
      await settle();
      expect(hci.since(mark)).toEqual([]);
      expect(a.status().rotations).toBe(0);

      timers.advance(1);
      await waitFor('the rotated advert on air', () => a.status().rotations === 1 && a.status().lastFrameHex !== first.toString('hex') && a.status().lastFrameHex);
      const second = eidAdvert(Math.floor(now() / 8_000).toString(16).padStart(16, '0'));
      expect(second).not.toEqual(first);
      expect(source.calls.at(-1)).toBe(now());
      // Default rotateBy 'restart': advertising off, new data, advertising on.
      expect(hci.since(mark).map((c) => c.name)).toEqual(['LE_SET_ADVERTISE_ENABLE', 'LE_SET_SCAN_RESPONSE_DATA', 'LE_SET_ADVERTISING_DATA', 'LE_SET_ADVERTISE_ENABLE', 'LE_SET_SCAN_RESPONSE_DATA', 'LE_SET_ADVERTISING_DATA']);
      expect(hci.advertiseEnablesSince(mark)).toEqual([0, 1]);
      expect(hci.since(mark, OP.LE_SET_ADVERTISING_DATA).map((c) => c.packet.toString('hex'))).toEqual([setAdvertisingDataPacket(second).toString('hex'), setAdvertisingDataPacket(second).toString('hex')]);
      await settle();
      expect(hci.advertising).toMatchObject({ enabled: true, data: second });
      expect(a.status()).toMatchObject({ state: 'advertising', rotations: 1, lastFrameHex: second.toString('hex') });
      // The short off/on of a rotation is not a change of state.
      expect(states()).toEqual(['waiting-for-adapter', 'advertising']);

      timers.advance(8_000);
      await waitFor('the second rotation', () => a.status().rotations === 2);
      await settle();
      expect(hci.advertising.data).toEqual(eidAdvert(Math.floor(now() / 8_000).toString(16).padStart(16, '0')));
    });

    it('alternates between the frames of a list every cycleMs (one advertising set, one frame at a time)', async () => {
      const eid = eidAdvert('0102030405060708');
      const ibeacon = iBeaconAdvert(4242);
      const a = make({ cycleMs: 1_000, frameAt: (t) => [{ advertisement: eid, validUntilMs: t + 600_000, label: 'eddystone-eid' }, { advertisement: ibeacon, validUntilMs: t + 600_000, label: 'ibeacon' }] });
      const mark = hci.mark();
      a.start();
      await waitFor('advertising', advertising(a));
      await settle();
      expect(hci.advertising.data).toEqual(eid);

      const onAir: string[] = [];
      for (let i = 0; i < 4; i++) {
        timers.advance(1_000);
        const expected = i % 2 === 0 ? ibeacon : eid;
        await waitFor(`frame ${i + 2} on air`, () => a.status().lastFrameHex === expected.toString('hex'));
        await settle();
        onAir.push(hci.advertising.data.toString('hex'));
      }
      expect(onAir).toEqual([ibeacon, eid, ibeacon, eid].map((b) => b.toString('hex')));
      expect(hci.advertisingDataSince(mark).map((b) => b.toString('hex'))).toEqual([eid, eid, ibeacon, ibeacon, eid, eid, ibeacon, ibeacon, eid, eid].map((b) => b.toString('hex')));
      // Taking turns is not a rotation: the frames did not expire.
      expect(a.status().rotations).toBe(0);
    });

    it("rotateBy 'update' changes the bytes without turning advertising off (Bluetooth 5 controller)", async () => {
      const a = make({ frameAt: rotatingEid(10_000), rotateBy: 'update' });
      a.start();
      await waitFor('advertising', advertising(a));
      const mark = hci.mark();
      timers.advance(10_000);
      await waitFor('the rotation', () => a.status().rotations === 1 && a.status().lastFrameHex === eidAdvert(Math.floor(now() / 10_000).toString(16).padStart(16, '0')).toString('hex'));
      await settle();
      expect(hci.advertiseEnablesSince(mark)).toEqual([1]);
      expect(hci.since(mark).every((c) => c.status === HCI_STATUS.SUCCESS)).toBe(true);
      expect(hci.advertising.enabled).toBe(true);
    });

    it("rotateBy 'update' falls back to restart when a Bluetooth 4.x controller refuses to re-enable advertising", async () => {
      hci.strictAdvertiseEnable = true;
      const a = make({ frameAt: rotatingEid(10_000), rotateBy: 'update' });
      a.start();
      await waitFor('advertising', advertising(a));
      const mark = hci.mark();
      timers.advance(10_000);
      const second = eidAdvert(Math.floor(now() / 10_000).toString(16).padStart(16, '0'));
      await waitFor('the rotation', () => a.status().lastFrameHex === second.toString('hex'));
      await settle();
      const enables = hci.since(mark, OP.LE_SET_ADVERTISE_ENABLE).map((c) => [c.params[0], c.status]);
      expect(enables).toEqual([
        [1, HCI_STATUS.COMMAND_DISALLOWED],
        [0, HCI_STATUS.SUCCESS],
        [1, HCI_STATUS.SUCCESS],
      ]);
      expect(hci.advertising).toMatchObject({ enabled: true, data: second });
      expect(states()).toEqual(['waiting-for-adapter', 'advertising']);

      // From now on it restarts at once: no refused command.
      const mark2 = hci.mark();
      timers.advance(10_000);
      await waitFor('the next rotation', () => a.status().rotations === 2);
      await settle();
      expect(hci.since(mark2, OP.LE_SET_ADVERTISE_ENABLE).map((c) => [c.params[0], c.status])).toEqual([
        [0, HCI_STATUS.SUCCESS],
        [1, HCI_STATUS.SUCCESS],
      ]);
    });

    it('retries a failing Advertise Enable with a doubling back-off, then advertises', async () => {
      hci.failNext(OP.LE_SET_ADVERTISE_ENABLE, HCI_STATUS.HARDWARE_FAILURE, 2, [1]);
      const advert = iBeaconAdvert(7);
      const a = make({ frameAt: (t) => ({ advertisement: advert, validUntilMs: t + 3_600_000 }), retry: { minMs: 1_000, maxMs: 30_000 } });
      const mark = hci.mark();
      a.start();
      await waitFor('the first failure', () => a.status().state === 'error');
      expect(a.status().reason).toBe('advertising failed: Hardware Failure (retrying)');
      expect(timers.pending()).toContain(1_000);

      timers.advance(999);
      await settle();
      expect(hci.advertiseEnablesSince(mark)).toEqual([1]);
      timers.advance(1);
      // The retry turns advertising off first (the controller's state is unknown), then on: refused again.
      await waitFor('the second failure', () => hci.since(mark, OP.LE_SET_ADVERTISE_ENABLE).length === 3 && hci.since(mark, OP.LE_SET_ADVERTISE_ENABLE)[2]?.status !== undefined);
      await settle();
      expect(a.status().state).toBe('error');
      expect(timers.pending()).toContain(2_000);

      timers.advance(1_999);
      await settle();
      expect(hci.advertiseEnablesSince(mark)).toEqual([1, 0, 1]);
      timers.advance(1);
      await waitFor('advertising', advertising(a));
      expect(hci.since(mark, OP.LE_SET_ADVERTISE_ENABLE).map((c) => [c.params[0], c.status])).toEqual([
        [1, HCI_STATUS.HARDWARE_FAILURE],
        [0, HCI_STATUS.SUCCESS],
        [1, HCI_STATUS.HARDWARE_FAILURE],
        [0, HCI_STATUS.SUCCESS],
        [1, HCI_STATUS.SUCCESS],
      ]);
      await settle();
      expect(hci.advertising).toMatchObject({ enabled: true, data: advert });
      expect(states()).toEqual(['waiting-for-adapter', 'error', 'advertising']);
      expect(a.status().reason).toBeUndefined();
    });

    it('a controller that does not answer times out, and the start is retried', async () => {
      const advert = iBeaconAdvert(8);
      const a = make({ frameAt: (t) => ({ advertisement: advert, validUntilMs: t + 3_600_000 }), commandTimeoutMs: 5_000 });
      hci.hold();
      a.start();
      await settle();
      expect(a.status()).toMatchObject({ state: 'waiting-for-adapter', reason: 'starting advertising' });
      timers.advance(5_000);
      expect(a.status()).toMatchObject({ state: 'error', reason: 'the Bluetooth controller did not confirm advertising within 5000 ms (retrying)' });
      hci.release(); // the late answer is not taken for the retry's
      await settle();
      expect(a.status().state).toBe('error');
      const mark = hci.mark();
      timers.advance(1_000);
      await waitFor('advertising', advertising(a));
      expect(hci.advertiseEnablesSince(mark)).toEqual([0, 1]);
    });

    it('refuses an oversize frame without writing anything, and says why', async () => {
      const tooLong = Buffer.concat([iBeaconAdvert(1), Buffer.from([0x00, 0x00])]); // 32 bytes
      const cases: Array<{ frames: FrameSource; reason: RegExp }> = [
        { frames: (t) => ({ advertisement: tooLong, validUntilMs: t + 60_000 }), reason: /^refused to advertise: frame 1: advertisement is 32 bytes, over the 31-byte limit/ },
        { frames: (t) => ({ advertisement: iBeaconAdvert(1), scanResponse: Buffer.alloc(32, 0x41), validUntilMs: t + 60_000 }), reason: /^refused to advertise: frame 1: scan response is 32 bytes/ },
        {
          frames: (t) => [
            { advertisement: eidAdvert('0000000000000001'), validUntilMs: t + 60_000 },
            { advertisement: tooLong, validUntilMs: t + 60_000, label: 'ibeacon' },
          ],
          reason: /^refused to advertise: frame 2 \(ibeacon\): advertisement is 32 bytes/,
        },
      ];
      for (const { frames, reason } of cases) {
        const a = make({ frameAt: frames });
        const mark = hci.mark();
        a.start();
        expect(a.status().state).toBe('error');
        expect(a.status().reason).toMatch(reason);
        await settle();
        timers.advance(1_000); // the retry asks the source again, and refuses again
        await settle();
        expect(hci.since(mark)).toEqual([]);
        expect(a.status()).toMatchObject({ state: 'error', rotations: 0 });
        expect(a.status().lastFrameHex).toBeUndefined();
        await a.stop();
      }
    });

    it('takes stale bytes off air when the next frame is refused, and comes back when the source recovers', async () => {
      let broken = false;
      const good = rotatingEid(10_000);
      const a = make({ frameAt: (t) => (broken ? { advertisement: Buffer.alloc(40, 1), validUntilMs: t + 10_000 } : good(t)) });
      a.start();
      await waitFor('advertising', advertising(a));
      broken = true;
      const mark = hci.mark();
      timers.advance(10_000);
      expect(a.status()).toMatchObject({ state: 'error' });
      await waitFor('advertising off', () => !hci.advertising.enabled);
      await settle();
      // Only Advertise Enable(0): the refused bytes never reach the controller.
      expect(hci.since(mark).map((c) => [c.name, c.params.toString('hex')])).toEqual([['LE_SET_ADVERTISE_ENABLE', '00']]);

      broken = false;
      timers.advance(1_000);
      await waitFor('advertising again', advertising(a));
      await settle();
      expect(hci.advertising.data).toEqual(eidAdvert(Math.floor(now() / 10_000).toString(16).padStart(16, '0')));
      expect(states()).toEqual(['waiting-for-adapter', 'advertising', 'error', 'waiting-for-adapter', 'advertising']);
    });

    it('advertises again after an adapter reset (device down, then up)', async () => {
      const advert = iBeaconAdvert(321);
      const a = make({ frameAt: (t) => ({ advertisement: advert, validUntilMs: t + 3_600_000 }) });
      a.start();
      await waitFor('advertising', advertising(a));
      const mark = hci.mark();

      hci.setDevUp(false);
      await waitFor('bleno to see the adapter down', () => a.status().state === 'waiting-for-adapter', 5_000);
      expect(a.status().reason).toBe('the Bluetooth adapter is poweredOff');
      expect(hci.advertising.enabled).toBe(false);
      expect(timers.pending()).toEqual([]);

      hci.setDevUp(true);
      await waitFor('advertising after the reset', advertising(a), 5_000);
      await settle();
      const after = hci.since(mark);
      // bleno initialised the controller again, then the advertiser wrote its advert anew.
      const params = after.findIndex((c) => c.opcode === OP.LE_SET_ADVERTISING_PARAMETERS);
      expect(params).toBeGreaterThan(0);
      expect(after.slice(params + 1).map((c) => c.name)).toEqual(['LE_SET_SCAN_RESPONSE_DATA', 'LE_SET_ADVERTISING_DATA', 'LE_SET_ADVERTISE_ENABLE', 'LE_SET_SCAN_RESPONSE_DATA', 'LE_SET_ADVERTISING_DATA']);
      expect(after.slice(params + 1).filter((c) => c.opcode === OP.LE_SET_ADVERTISING_DATA).map((c) => c.packet.toString('hex'))).toEqual([setAdvertisingDataPacket(advert).toString('hex'), setAdvertisingDataPacket(advert).toString('hex')]);
      // Nothing was written while the device was down.
      expect(after.filter((c) => c.status === undefined)).toEqual([]);
      expect(hci.advertising).toMatchObject({ enabled: true, data: advert });
      expect(states()).toEqual(['waiting-for-adapter', 'advertising', 'waiting-for-adapter', 'advertising']);
    });

    it('is unavailable while bleno reports the adapter unauthorized (EPERM), and recovers', async () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {}); // bleno's own warning
      try {
        const a = make({ frameAt: (t) => ({ advertisement: iBeaconAdvert(9), validUntilMs: t + 3_600_000 }) });
        a.start();
        await waitFor('advertising', advertising(a));
        hci.socketError('EPERM', 'Operation not permitted');
        expect(a.status()).toMatchObject({ state: 'unavailable', reason: 'permission denied: needs root or cap_net_raw' });
        expect(log).toHaveBeenCalled();
        hci.setDevUp(false);
        await waitFor('poweredOff', () => a.status().state === 'waiting-for-adapter', 5_000);
        hci.setDevUp(true);
        await waitFor('advertising again', advertising(a), 5_000);
      } finally {
        log.mockRestore();
      }
    });

    it('stop() turns advertising off, clears its timers and lets go of bleno; start() resumes', async () => {
      const a = make({ cycleMs: 500, frameAt: (t) => [{ advertisement: eidAdvert('1111111111111111'), validUntilMs: t + 60_000 }, { advertisement: iBeaconAdvert(2), validUntilMs: t + 60_000 }] });
      a.start();
      await waitFor('advertising', advertising(a));
      expect(emitter.listenerCount('advertisingStart')).toBe(baseline.advertisingStart + 1);
      const mark = hci.mark();
      await a.stop();
      expect(hci.advertiseEnablesSince(mark)).toEqual([0]);
      expect(hci.advertising.enabled).toBe(false);
      expect(a.status()).toMatchObject({ state: 'stopped' });
      expect(timers.pending()).toEqual([]);
      for (const event of Object.keys(baseline) as Array<keyof typeof baseline>) expect(emitter.listenerCount(event)).toBe(baseline[event]);
      timers.advance(120_000);
      await settle();
      expect(hci.since(mark)).toHaveLength(1);

      a.start();
      await waitFor('advertising again', advertising(a));
      expect(states()).toEqual(['waiting-for-adapter', 'advertising', 'stopped', 'waiting-for-adapter', 'advertising']);
    });
  });
});
