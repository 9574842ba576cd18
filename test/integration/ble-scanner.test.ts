import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { BleScanner, type AdvertClassifier, type BleScannerOptions } from '../../gateway/presence/ble-scanner.js';
import type { NobleAdapterState, NobleInternals } from '../../gateway/presence/noble-types.js';
import { PresenceTracker, type PresenceTrackerOptions, type PresenceTransition } from '../../gateway/presence/presence-tracker.js';
import {
  AdvEventType,
  mergeRecordings,
  nobleWithFakeBinding,
  randomAddress,
  recordedFrames,
  recordSession,
  type FakeNobleBinding,
  type RecordedAdvert,
} from '../support/fake-noble-binding.js';
import { testLogger } from '../support/logger.js';
import { prng } from '../support/prng.js';

/** The staff iBeacon of recordedFrames.STAFF_IBEACON: uuid + major + minor. */
const STAFF_TAG = 'E2C56DB5DFFB48D2B060D0F5A71096E0000100C8';
/** The Eddystone-UID of recordedFrames.STAFF_EDDYSTONE_UID: namespace + instance. */
const EDDYSTONE_TAG = '8B0CA750E7A74E14BD99000000000042';

/**
 * A simple classifier for the tests (the gateway will use the firmware-bridge codecs): iBeacon
 * uuid/major/minor from manufacturerData, Eddystone-UID namespace/instance from service data
 * 'feaa'; only tags named in `named`.
 */
function namedTagClassifier(named: ReadonlySet<string>): AdvertClassifier {
  return (_address, advertisement) => {
    const mfg = advertisement.manufacturerData;
    if (mfg && mfg.length >= 25 && mfg.readUInt16LE(0) === 0x004c && mfg[2] === 0x02 && mfg[3] === 0x15) {
      const id = mfg.subarray(4, 24).toString('hex').toUpperCase();
      return named.has(id) ? { tagId: id } : null;
    }
    for (const service of advertisement.serviceData ?? []) {
      if (service.uuid === 'feaa' && service.data[0] === 0x00 && service.data.length >= 18) {
        const id = service.data.subarray(2, 18).toString('hex').toUpperCase();
        return named.has(id) ? { tagId: id } : null;
      }
    }
    return null;
  };
}

/** Heap in use after a full collection (gc exposed at run time: vitest's workers run without --expose-gc). */
function retainedHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const T0 = Date.parse('2025-03-03T01:00:00.000Z');
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Rig {
  binding: FakeNobleBinding;
  noble: NobleInternals;
  scanner: BleScanner;
  tracker: PresenceTracker;
  transitions: PresenceTransition[];
  now: () => number;
  /** Moves the clock to `at`, running the scanner's tick every whole second on the way. */
  advanceTo: (at: number) => void;
  replay: (recording: readonly RecordedAdvert[]) => number;
}

const rigs: Rig[] = [];
afterEach(() => {
  for (const rig of rigs.splice(0)) rig.scanner.stop();
});

async function rig(
  options: {
    initialState?: NobleAdapterState;
    classify?: AdvertClassifier;
    tracker?: Partial<PresenceTrackerOptions>;
    scanner?: Partial<BleScannerOptions>;
    start?: boolean;
    /** Keep every transition in `transitions` (off for the memory test, which makes 200,000). */
    recordTransitions?: boolean;
  } = {},
): Promise<Rig> {
  let clock = T0;
  const now = (): number => clock;
  const { noble, binding } = nobleWithFakeBinding(options.initialState ?? 'poweredOn');
  const logger = testLogger();
  const tracker = new PresenceTracker({ logger, now, ...options.tracker });
  const transitions: PresenceTransition[] = [];
  if (options.recordTransitions !== false) tracker.on('transition', (transition) => transitions.push(transition));
  const scanner = new BleScanner({
    noble,
    tracker,
    classify: options.classify ?? namedTagClassifier(new Set([STAFF_TAG, EDDYSTONE_TAG])),
    logger,
    now,
    autoTick: false,
    ...options.scanner,
  });
  let nextTick = T0 + 1_000;
  const advanceTo = (at: number): void => {
    while (nextTick <= at) {
      clock = nextTick;
      scanner.tick(nextTick);
      nextTick += 1_000;
    }
    clock = Math.max(clock, at);
  };
  const created: Rig = { binding, noble: noble as unknown as NobleInternals, scanner, tracker, transitions, now, advanceTo, replay: (recording) => binding.replay(recording, advanceTo) };
  rigs.push(created);
  if (options.start !== false) {
    scanner.start();
    await flush();
  }
  return created;
}

function staffWalk(segments: Parameters<typeof recordSession>[0]['segments'], seed: number, startAt = T0): RecordedAdvert[] {
  return recordSession({ address: 'c4:be:84:12:34:56', eir: recordedFrames.STAFF_IBEACON, segments, seed, startAt, intervalMs: 200 });
}

function phoneNoise(ms: number, seed: number, startAt = T0): RecordedAdvert[] {
  // A phone on the counter: connectable adverts (reported from its second one, no scan response), every 100 ms.
  return recordSession({ address: '5a:11:22:33:44:55', addressType: 'random', eventType: AdvEventType.connectable, eir: recordedFrames.PHONE_NOISE, segments: [{ ms, from: -58, to: -58 }], seed, startAt, intervalMs: 100 });
}

const path = (transitions: PresenceTransition[], tagId: string): string[] => transitions.filter((t) => t.tagId === tagId).map((t) => `${t.from}->${t.to}`);

describe('BLE scanner over noble with a fake binding', () => {
  it('waits for the adapter, then scans with duplicates allowed', async () => {
    const setup = await rig({ start: false });
    setup.scanner.start();
    expect(setup.scanner.status()).toMatchObject({ state: 'waiting-for-adapter', tracked: 0 });
    await flush();
    expect(setup.binding.callsTo('init')).toHaveLength(1);
    expect(setup.binding.callsTo('startScanning').map((call) => call.args)).toEqual([[[], true]]);
    expect(setup.scanner.status()).toMatchObject({ state: 'scanning', adapterState: 'poweredOn', advertsPerSecond: 0, acceptedPerSecond: 0 });
  });

  it('a person walking in becomes present once; walking out goes away after the quiet period', async () => {
    const setup = await rig({ tracker: { absentAfterMs: 30_000 } });
    const recording = mergeRecordings(
      // Walk in over 10 s, stay 3 minutes at the counter, walk out over 6 s, then gone.
      staffWalk(
        [
          { ms: 10_000, from: -95, to: -60 },
          { ms: 180_000, from: -62, to: -62 },
          { ms: 6_000, from: -62, to: -98 },
        ],
        21,
      ),
      // A colleague with an Eddystone tag in the stock room: heard, never present.
      recordSession({ address: 'd0:0d:aa:bb:cc:01', eir: recordedFrames.STAFF_EDDYSTONE_UID, segments: [{ ms: 196_000, from: -88, to: -88 }], seed: 22, startAt: T0, intervalMs: 1_000 }),
      // A beacon nobody named, and a phone: seen, not accepted.
      recordSession({ address: 'c4:be:84:00:00:02', eir: recordedFrames.SECOND_IBEACON, segments: [{ ms: 196_000, from: -55, to: -55 }], seed: 23, startAt: T0, intervalMs: 500 }),
      phoneNoise(196_000, 24),
    );
    setup.replay(recording.filter((advert) => advert.at < T0 + 100_000));
    // Mid-stay: the staff tag (5/s) and the Eddystone (1/s) accepted; all adverts: + 2/s beacon + 10/s phone.
    const status = setup.scanner.status();
    expect(status).toMatchObject({ state: 'scanning', tracked: 2 });
    expect(status.acceptedPerSecond).toBeGreaterThan(5);
    expect(status.acceptedPerSecond).toBeLessThan(7);
    expect(status.advertsPerSecond).toBeGreaterThan(16);
    expect(status.advertsPerSecond).toBeLessThan(19.5);
    expect(path(setup.transitions, STAFF_TAG)).toEqual(['away->near', 'near->present']);

    setup.replay(recording.filter((advert) => advert.at >= T0 + 100_000));
    const lastHeard = recording.filter((advert) => advert.address === 'c4:be:84:12:34:56').at(-1)?.at as number;
    setup.advanceTo(lastHeard + 29_000);
    expect(setup.tracker.stateOf(STAFF_TAG)).not.toBe('away');
    setup.advanceTo(lastHeard + 31_000);
    const staff = setup.transitions.filter((t) => t.tagId === STAFF_TAG);
    expect(staff.filter((t) => t.to === 'present')).toHaveLength(1);
    expect(staff.at(-1)).toMatchObject({ to: 'away', reason: 'quiet', lastSeenAt: lastHeard });
    expect((staff.at(-1) as PresenceTransition).at - lastHeard).toBeGreaterThanOrEqual(30_000);
    expect((staff.at(-1) as PresenceTransition).at - lastHeard).toBeLessThanOrEqual(31_000);
    expect(path(setup.transitions, EDDYSTONE_TAG)).toEqual(['away->near', 'near->away']);
  });

  it('adapter powered off: unavailable (nobody sent away meanwhile), then scans again when powered on', async () => {
    const setup = await rig({ tracker: { absentAfterMs: 30_000 } });
    setup.replay(staffWalk([{ ms: 20_000, from: -60, to: -60 }], 31));
    expect(setup.tracker.stateOf(STAFF_TAG)).toBe('present');

    setup.binding.setAdapterState('poweredOff');
    expect(setup.scanner.status()).toMatchObject({ state: 'unavailable', reason: 'Bluetooth adapter is powered off', adapterState: 'poweredOff' });
    // Ten minutes without a radio: silence is no evidence, and no watchdog fires.
    setup.advanceTo(T0 + 620_000);
    expect(setup.tracker.stateOf(STAFF_TAG)).toBe('present');
    expect(setup.binding.callsTo('startScanning')).toHaveLength(1);

    setup.binding.setAdapterState('poweredOn');
    expect(setup.binding.callsTo('startScanning')).toHaveLength(2);
    expect(setup.scanner.status()).toMatchObject({ state: 'scanning' });
    expect(setup.scanner.status().reason).toBeUndefined();
    // The tag keeps the quiet time it had left at the power-off (about 30 s), counted from now.
    setup.advanceTo(T0 + 645_000);
    expect(setup.tracker.stateOf(STAFF_TAG)).toBe('present');
    const back = staffWalk([{ ms: 20_000, from: -60, to: -60 }], 32, T0 + 645_500);
    setup.replay(back);
    expect(path(setup.transitions, STAFF_TAG)).toEqual(['away->near', 'near->present']);
    // Listening again, so silence counts again.
    setup.advanceTo((back.at(-1)?.at as number) + 31_000);
    expect(path(setup.transitions, STAFF_TAG)).toEqual(['away->near', 'near->present', 'present->away']);
  });

  it('an adapter that is unauthorized or unsupported is reported, not crashed on', async () => {
    const unauthorized = await rig({ initialState: 'unauthorized' });
    expect(unauthorized.scanner.status()).toMatchObject({ state: 'unavailable', adapterState: 'unauthorized' });
    expect(unauthorized.scanner.status().reason).toMatch(/root or cap_net_raw/);
    const unsupported = await rig({ initialState: 'unsupported' });
    expect(unsupported.scanner.status()).toMatchObject({ state: 'unavailable', reason: 'no Bluetooth LE adapter (unsupported)' });
    expect(unsupported.binding.callsTo('startScanning')).toHaveLength(0);
    // 'resetting' is transient: wait for it.
    unsupported.binding.setAdapterState('resetting');
    expect(unsupported.scanner.status()).toMatchObject({ state: 'waiting-for-adapter' });
    unsupported.binding.setAdapterState('poweredOn');
    expect(unsupported.binding.callsTo('startScanning').map((call) => call.args)).toEqual([[[], true]]);
  });

  it('watchdog: an adapter that silently stops reporting gets its scan restarted, before anyone times out', async () => {
    const setup = await rig({ scanner: { watchdogMs: 15_000 }, tracker: { absentAfterMs: 30_000 } });
    const recording = staffWalk([{ ms: 120_000, from: -60, to: -60 }], 41);
    setup.replay(recording.filter((advert) => advert.at < T0 + 30_000));
    expect(setup.tracker.stateOf(STAFF_TAG)).toBe('present');

    setup.binding.goDeaf();
    const deafAt = setup.now();
    setup.replay(recording.filter((advert) => advert.at >= T0 + 30_000 && advert.at < deafAt + 14_000));
    expect(setup.binding.callsTo('startScanning')).toHaveLength(1);
    setup.replay(recording.filter((advert) => advert.at >= deafAt + 14_000));
    // The lowest layer saw the restart: stop, then start again with duplicates.
    const calls = setup.binding.calls.map((call) => call.method).filter((method) => method.endsWith('Scanning'));
    expect(calls).toEqual(['startScanning', 'stopScanning', 'startScanning']);
    expect(setup.binding.callsTo('startScanning')[1]?.args).toEqual([[], true]);
    expect(setup.scanner.status()).toMatchObject({ state: 'scanning', watchdogRestarts: 1 });
    expect(path(setup.transitions, STAFF_TAG)).toEqual(['away->near', 'near->present']);
  });

  it('watchdog backs off while restarts bring nothing (an empty room at night)', async () => {
    const setup = await rig({ scanner: { watchdogMs: 15_000, maxWatchdogMs: 60_000 } });
    setup.advanceTo(T0 + 14_000);
    expect(setup.binding.callsTo('startScanning')).toHaveLength(1);
    const startsBy = (at: number): number => {
      setup.advanceTo(at);
      return setup.binding.callsTo('startScanning').length;
    };
    expect(startsBy(T0 + 15_000)).toBe(2); // quiet 15 s
    expect(startsBy(T0 + 44_000)).toBe(2);
    expect(startsBy(T0 + 45_000)).toBe(3); // then 30 s
    expect(startsBy(T0 + 104_000)).toBe(3);
    expect(startsBy(T0 + 105_000)).toBe(4); // then 60 s (the cap)
    expect(startsBy(T0 + 165_000)).toBe(5);
    // An advert resets the period to 15 s.
    setup.binding.advertise({ address: 'c4:be:84:12:34:56', addressType: 'public', eventType: AdvEventType.nonConnectable, eir: recordedFrames.STAFF_IBEACON, rssi: -60 });
    expect(startsBy(T0 + 180_000)).toBe(6);
  });

  it('restarts a scan another client stopped behind its back', async () => {
    const setup = await rig({ scanner: { restartAfterStopMs: 2_000 } });
    await flush();
    setup.advanceTo(T0 + 5_000);
    setup.binding.stopScanningBehindOurBack();
    setup.advanceTo(T0 + 6_000);
    expect(setup.binding.callsTo('startScanning')).toHaveLength(1);
    setup.advanceTo(T0 + 7_000);
    expect(setup.binding.callsTo('startScanning')).toHaveLength(2);
    expect(setup.binding.isScanning).toBe(true);
    expect(setup.scanner.status().reason).toMatch(/another client/);
  });

  it('ignores adverts without an RSSI and survives a throwing classifier', async () => {
    let throwNext = true;
    const named = namedTagClassifier(new Set([STAFF_TAG]));
    const setup = await rig({
      classify: (address, advertisement, rssi) => {
        if (throwNext) {
          throwNext = false;
          throw new Error('bad advert');
        }
        return named(address, advertisement, rssi);
      },
    });
    const advert = { address: 'c4:be:84:12:34:56', addressType: 'public' as const, eventType: AdvEventType.nonConnectable, eir: recordedFrames.STAFF_IBEACON };
    setup.binding.advertise({ ...advert, rssi: -60 }); // classifier throws
    setup.binding.advertise({ ...advert, rssi: 127 }); // HCI: RSSI not available
    expect(setup.tracker.size).toBe(0);
    setup.binding.advertise({ ...advert, rssi: -60 });
    expect(setup.tracker.stateOf(STAFF_TAG)).toBe('near');
  });

  it('stop() stops the scan and listens no more', async () => {
    const setup = await rig();
    setup.scanner.stop();
    expect(setup.binding.callsTo('stopScanning')).toHaveLength(1);
    expect(setup.scanner.status()).toMatchObject({ state: 'stopped' });
    setup.binding.setAdapterState('poweredOff');
    setup.binding.setAdapterState('poweredOn');
    expect(setup.binding.callsTo('startScanning')).toHaveLength(1);
    expect(setup.scanner.status()).toMatchObject({ state: 'stopped' });
  });

  it('100,000 rotating random addresses: the tracker and the noble caches stay bounded', async () => {
    const random = prng(77);
    const everything: AdvertClassifier = (address) => ({ tagId: address.replaceAll(':', '').toUpperCase() });
    const run = async (pruneLibraryCache: boolean, adverts: number): Promise<{ maxTracked: number; peripherals: number; discoveries: number; addresses: number; heapGrowthMb: number }> => {
      const setup = await rig({ classify: everything, recordTransitions: false, tracker: { maxTags: 500 }, scanner: { pruneLibraryCache, libraryCacheMax: 2_048, libraryCacheMs: 60_000 } });
      const heapBefore = retainedHeap();
      let maxTracked = 0;
      let maxPeripherals = 0;
      for (let i = 0; i < adverts; i += 1) {
        setup.advanceTo(T0 + i * 10);
        setup.binding.advertise({ address: randomAddress(random), addressType: 'random', eventType: AdvEventType.nonConnectable, eir: recordedFrames.PHONE_NOISE, rssi: -60 - Math.floor(random() * 30) });
        if (i % 1_000 === 999) {
          maxTracked = Math.max(maxTracked, setup.tracker.size);
          if (pruneLibraryCache) maxPeripherals = Math.max(maxPeripherals, Object.keys(setup.noble._peripherals ?? {}).length);
        }
      }
      // Measured while the scanner, tracker and noble are still alive: what they retain.
      const heapGrowthMb = (retainedHeap() - heapBefore) / 1e6;
      const result = {
        maxTracked,
        peripherals: Math.max(maxPeripherals, Object.keys(setup.noble._peripherals ?? {}).length),
        discoveries: Object.keys(setup.binding._gap._discoveries).length,
        addresses: Object.keys(setup.binding._addresses).length,
        heapGrowthMb,
      };
      setup.scanner.stop();
      return result;
    };

    const pruned = await run(true, 100_000);
    expect(pruned.maxTracked).toBeLessThanOrEqual(500);
    expect(pruned.peripherals).toBeLessThanOrEqual(2_048);
    expect(pruned.discoveries).toBeLessThanOrEqual(2_048);
    expect(pruned.addresses).toBeLessThanOrEqual(2_048);
    expect(pruned.heapGrowthMb, `heap grew ${pruned.heapGrowthMb.toFixed(1)} MB`).toBeLessThan(10);

    // What the pruning is for: noble and its HCI layer keep every address they ever heard.
    const unpruned = await run(false, 20_000);
    expect(unpruned.maxTracked).toBeLessThanOrEqual(500);
    expect(unpruned.peripherals).toBe(20_000);
    expect(unpruned.discoveries).toBe(20_000);
    // About 1.2 kB per address kept (noble's Peripheral and caches, the HCI layer's discovery
    // record): some 24 MB for these 20,000, against about 3 MB for the pruned 100,000 above.
    expect(unpruned.heapGrowthMb, `heap grew ${unpruned.heapGrowthMb.toFixed(1)} MB for 20,000 addresses`).toBeGreaterThan(15);
  }, 60_000);
});
