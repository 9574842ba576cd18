/**
 * The part of @abandonware/noble (1.9.2-26, lib/noble.js and lib/peripheral.js) the presence
 * scanner uses, typed as noble really behaves: `@abandonware/noble/with-bindings` ships no typings,
 * and the package's index.d.ts claims fields that are often absent (manufacturerData, localName).
 */

/** Adapter states noble reports through `stateChange`. */
export type NobleAdapterState = 'unknown' | 'resetting' | 'unsupported' | 'unauthorized' | 'poweredOff' | 'poweredOn';

/**
 * A parsed advertisement as noble's HCI layer builds it (lib/hci-socket/gap.js `parseServices`).
 * noble merges successive adverts of one address into the same object ("or"-ing defined fields),
 * so a field seen once may linger in later reports of that address.
 */
export interface NobleAdvertisement {
  localName?: string | undefined;
  txPowerLevel?: number | undefined;
  /** The whole 0xFF AD payload, including the 2-byte company id (e.g. `4c00` for Apple). */
  manufacturerData?: Buffer | undefined;
  /** Service data: `uuid` lower-case hex without dashes (e.g. 'feaa'), `data` without the uuid. */
  serviceData?: Array<{ uuid: string; data: Buffer }>;
  serviceUuids?: string[];
  serviceSolicitationUuids?: string[];
  solicitationServiceUuids?: string[];
}

export type NoblePeripheralState = 'error' | 'connecting' | 'connected' | 'disconnecting' | 'disconnected';

export interface NoblePeripheral {
  /** The address without colons, lower-case (the key of noble's peripheral cache). */
  id: string;
  uuid: string;
  /** 'aa:bb:cc:dd:ee:ff' on Linux HCI. */
  address: string;
  addressType: 'public' | 'random' | string;
  connectable: boolean;
  scannable?: boolean;
  advertisement: NobleAdvertisement;
  rssi: number;
  state: NoblePeripheralState;
}

export interface NobleEvents {
  stateChange: (state: NobleAdapterState) => void;
  discover: (peripheral: NoblePeripheral) => void;
  scanStart: (filterDuplicates?: boolean) => void;
  scanStop: () => void;
  warning: (message: string) => void;
}

/** A noble instance (`require('@abandonware/noble/with-bindings')(bindings)` or the default export). */
export interface NobleLike {
  /** Reading it initialises the bindings if nothing did yet. */
  readonly state: NobleAdapterState;
  on<E extends keyof NobleEvents>(event: E, listener: NobleEvents[E]): unknown;
  removeListener<E extends keyof NobleEvents>(event: E, listener: NobleEvents[E]): unknown;
  /** Throws when the adapter is not poweredOn and no callback is given: always pass one. */
  startScanning(serviceUuids: string[], allowDuplicates: boolean, callback?: (error: Error | null) => void): void;
  stopScanning(callback?: () => void): void;
}

/**
 * noble's internal per-peripheral caches (lib/noble.js). noble never deletes from them, so every
 * random or rotating address ever heard stays in memory: the scanner prunes them (see ble-scanner.ts).
 */
export interface NobleInternals {
  _peripherals?: Record<string, NoblePeripheral | undefined>;
  _services?: Record<string, unknown>;
  _characteristics?: Record<string, unknown>;
  _descriptors?: Record<string, unknown>;
  _discoveredPeripheralUUids?: Record<string, unknown>;
  _bindings?: NobleBindingInternals;
}

/**
 * The same leak one layer down, in the Linux HCI binding (lib/hci-socket/bindings.js keyed by id,
 * lib/hci-socket/gap.js `_discoveries` keyed by colon address).
 */
export interface NobleBindingInternals {
  _addresses?: Record<string, unknown>;
  _addresseTypes?: Record<string, unknown>;
  _connectable?: Record<string, unknown>;
  scannable?: Record<string, unknown>;
  _gap?: { _discoveries?: Record<string, unknown> };
}
