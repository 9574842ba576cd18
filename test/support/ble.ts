import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { NobleAdvertisement } from '../../firmware-bridge/ble/noble-advertisement.js';

/** Bytes of hex written with spaces for reading (`'02 01 06'`). */
export function bytes(hexText: string): Buffer {
  return Buffer.from(hexText.replace(/[\s:]/g, ''), 'hex');
}

/** One AD structure, laid out by hand: length (type + data), type, data. */
export function adStructure(type: number, data: Uint8Array | string): Buffer {
  const payload = typeof data === 'string' ? bytes(data) : Buffer.from(data);
  return Buffer.concat([Buffer.of(payload.length + 1, type), payload]);
}

/** Flags 06, as beacons send them. */
export const FLAGS = adStructure(0x01, '06');
/** Complete list of 16-bit service UUIDs: [FEAA]. */
export const EDDYSTONE_UUID_LIST = adStructure(0x03, 'AA FE');

/** A whole Eddystone advertisement around a frame (service data after the UUID), by hand. */
export function eddystoneAdvert(frame: Uint8Array | string): Buffer {
  const data = typeof frame === 'string' ? bytes(frame) : Buffer.from(frame);
  return Buffer.concat([FLAGS, EDDYSTONE_UUID_LIST, adStructure(0x16, Buffer.concat([bytes('AA FE'), data]))]);
}

/** A whole manufacturer-data advertisement (company id included in `payload`), by hand. */
export function manufacturerAdvert(payload: Uint8Array | string): Buffer {
  return Buffer.concat([FLAGS, adStructure(0xff, payload)]);
}

interface GapLike extends EventEmitter {
  parseServices(address: string, eir: Buffer, previouslyDiscovered: boolean, type: number): NobleAdvertisement;
}

const require = createRequire(import.meta.url);
const Gap = require('@abandonware/noble/lib/hci-socket/gap.js') as new (hci: EventEmitter) => GapLike;

/**
 * What noble itself makes of advertising bytes: its own HCI GAP layer (lib/hci-socket/gap.js)
 * over a fake HCI that reports one non-connectable advertisement. Nothing of the Bluetooth socket
 * is loaded. Throws what noble throws (it does on an empty TX power structure).
 */
export function nobleParse(eir: Buffer): NobleAdvertisement {
  const hci = new EventEmitter();
  const gap = new Gap(hci);
  let advertisement: NobleAdvertisement | undefined;
  gap.on('discover', (_status: number, _address: string, _addressType: string, _connectable: boolean, found: NobleAdvertisement) => {
    advertisement = found;
  });
  const ADV_NONCONN_IND = 0x03;
  hci.emit('leAdvertisingReport', 0, ADV_NONCONN_IND, '11:22:33:44:55:66', 'random', eir, -60);
  if (advertisement === undefined) throw new Error('noble reported no discovery');
  return advertisement;
}
