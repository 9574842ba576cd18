import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { NobleLike } from './noble-types.js';

/**
 * Lazy loaders for noble (BLE central: scanning) and bleno (BLE peripheral: advertising).
 *
 * Both libraries open a Bluetooth HCI socket while they are being required (bleno's Mgmt and Hci,
 * noble's default bindings), so `require()` itself throws on a box without Bluetooth sockets
 * (EAFNOSUPPORT), without the rights to open them (EPERM) or without the native binding built.
 * A gateway without a radio must still run the rest (ARCHITECTURE.md principle 5): these loaders
 * never throw; they return the module or a human reason for the status.
 *
 * A failed require leaves nothing of the failing module in the require cache, so a later call
 * tries again (e.g. after the adapter was plugged in or the capability granted). A successful one
 * returns the library's process-wide singleton every time.
 *
 * Types: both packages ship an index.d.ts, but for their singletons (noble's is a module of
 * functions, bleno's an `export =` object), not for `noble/with-bindings`, and they claim fields
 * that are often absent. We declare the parts punchgate uses, structurally, so the parts take the
 * real objects or ones built on a faked lowest layer: `BlenoLike` here, `NobleLike` in
 * noble-types.ts (the scanner's).
 */

export type { NobleLike };

/** The adapter states noble and bleno report in `stateChange`. */
export type BleAdapterState = 'unknown' | 'resetting' | 'unsupported' | 'unauthorized' | 'poweredOff' | 'poweredOn';

/** Any listener: removeListener() takes back whatever on() was given. */
type Listener = (...args: any[]) => void;

/** The part of bleno (a BLE peripheral) the advertiser uses. */
export interface BlenoLike {
  /** A {@link BleAdapterState}; a plain string because bleno types it loosely. */
  readonly state: string;
  /**
   * The first `stateChange` listener makes bleno open and bind its HCI socket (`bindings.init()`),
   * synchronously inside `on()`; a failure there throws out of `on()`.
   */
  on(event: 'stateChange', listener: (state: string) => void): unknown;
  /** Advertising was enabled (bleno emits it only without an error). */
  on(event: 'advertisingStart', listener: (error?: Error | null) => void): unknown;
  /** Enabling advertising failed: an HCI status, or data over 31 bytes. */
  on(event: 'advertisingStartError', listener: (error: Error) => void): unknown;
  on(event: 'advertisingStop', listener: () => void): unknown;
  removeListener(event: string, listener: Listener): unknown;
  /**
   * Writes Scan Response Data, Advertising Data, Advertise Enable(1), then both data again.
   * Throws (no callback) or calls back with an error (callback) when the state is not poweredOn.
   * A callback is registered with `once('advertisingStart')` and is never called on an HCI error.
   */
  startAdvertisingWithEIRData(advertisementData: Buffer, scanData?: Buffer | null, callback?: (error?: Error | null) => void): void;
  /** Writes Advertise Enable(0); `advertisingStop` follows its Command Complete. */
  stopAdvertising(callback?: () => void): void;
}

/**
 * What `noble/with-bindings` takes instead of the HCI socket bindings: an EventEmitter with
 * `init()`, `startScanning()`, `stopScanning()` that emits `stateChange` and
 * `discover(uuid, address, addressType, connectable, advertisement, rssi, scannable)`.
 */
export interface NobleBindingsLike extends EventEmitter {
  init(): void;
  startScanning(serviceUuids: string[] | undefined, allowDuplicates: boolean | undefined): void;
  stopScanning(): void;
}

export type BleModuleLoad<T> = { ok: true; module: T } | { ok: false; reason: string; code?: string };

const requireHere = createRequire(import.meta.url);

/** Turns what a BLE library threw while loading into a reason an operator can act on. */
export function describeBleLoadError(name: string, error: unknown): { reason: string; code?: string } {
  const e = error as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = (e instanceof Error ? e.message : String(error)).split('\n')[0]?.trim() ?? '';
  const withCode = (reason: string) => (code ? { reason, code } : { reason });
  switch (code) {
    case 'EAFNOSUPPORT':
      return withCode('no Bluetooth socket support (EAFNOSUPPORT): this kernel or container has no AF_BLUETOOTH sockets');
    case 'EPERM':
    case 'EACCES':
      return withCode(`permission denied: needs root or cap_net_raw (${code})`);
    case 'ENODEV':
      return withCode('no Bluetooth adapter (ENODEV)');
    case 'EBUSY':
      return withCode('Bluetooth adapter busy (EBUSY): stop bluetoothd or choose another adapter with BLENO_HCI_DEVICE_ID / NOBLE_HCI_DEVICE_ID');
    case 'ERR_DLOPEN_FAILED':
      return withCode(`the native Bluetooth binding failed to load: ${message}`);
    case 'MODULE_NOT_FOUND':
    case 'ERR_MODULE_NOT_FOUND':
      if (/\.node['"]?/.test(message)) return withCode(`the native Bluetooth binding is not built: ${message}`);
      if (message.includes(`'${name}'`)) return withCode(`${name} is not installed`);
      return withCode(`${name} is missing a dependency: ${message}`);
    default:
      return withCode(`${name} failed to load: ${message || 'unknown error'}`);
  }
}

/**
 * Requires a CommonJS BLE library inside try/catch. Never throws.
 * `require` is injectable for tests of the reasons; the default resolves from this file.
 */
export function loadBleModule<T>(name: string, require: NodeJS.Require = requireHere): BleModuleLoad<T> {
  try {
    return { ok: true, module: require(name) as T };
  } catch (error) {
    return { ok: false, ...describeBleLoadError(name, error) };
  }
}

/** bleno's singleton, bound to the HCI socket (adapter from `BLENO_HCI_DEVICE_ID`). */
export function loadBleno(): BleModuleLoad<BlenoLike> {
  return loadBleModule<BlenoLike>('@abandonware/bleno');
}

/** noble's singleton with its default bindings (the HCI socket on Linux, `NOBLE_HCI_DEVICE_ID`). */
export function loadNoble(): BleModuleLoad<NobleLike> {
  return loadBleModule<NobleLike>('@abandonware/noble');
}

/**
 * noble's factory over bindings of our choosing (`new Noble(bindings)`): it never loads the HCI
 * socket, so it loads where the radio is missing; the scanner's tests give it a fake binding.
 */
export function loadNobleWithBindings(): BleModuleLoad<(bindings: NobleBindingsLike) => NobleLike> {
  return loadBleModule<(bindings: NobleBindingsLike) => NobleLike>('@abandonware/noble/with-bindings');
}
