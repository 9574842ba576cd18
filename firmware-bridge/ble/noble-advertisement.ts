import { AdType } from './ad-structures.js';
import { decodeManufacturerData, NOT_A_BEACON } from './advertisement.js';
import { asBuffer } from './bytes.js';
import { decodeEddystone } from './eddystone.js';
import { malformed, type BeaconParse } from './frames.js';

/*
 * noble (@abandonware/noble) hands `discover` listeners an advertisement object, not the bytes:
 * `manufacturerData` is the whole payload of the (last) 0xFF structure, company id included;
 * `serviceData` lists {uuid, data} with the UUID as noble prints it ('feaa') and the data after
 * it. These are read with the same decoders as raw bytes, so both give the same frames.
 *
 * The structure order is lost in the object, so when an advertisement carries both,
 * manufacturer data (iBeacon, AltBeacon) is read before Eddystone service data.
 */

export interface NobleServiceData {
  uuid: string;
  data: Buffer;
}

/** The fields of noble's advertisement object that matter here (noble sets absent ones to undefined). */
export interface NobleAdvertisement {
  localName?: string | undefined;
  txPowerLevel?: number | undefined;
  manufacturerData?: Buffer | undefined;
  serviceData?: NobleServiceData[] | undefined;
  serviceUuids?: string[] | undefined;
  serviceSolicitationUuids?: string[] | undefined;
}

/**
 * Whether a service-data UUID, as noble writes it, is Eddystone's 16-bit 0xFEAA ('feaa'; any
 * case). Eddystone is 16-bit service data by specification, so 32- and 128-bit service data (which
 * noble prints with 8 and 32 digits) is not read, as in raw bytes.
 */
export function isEddystoneUuid(uuid: unknown): boolean {
  if (uuid === 'feaa') return true; // noble's own form: the fast path
  return typeof uuid === 'string' && uuid.length === 4 && uuid.toLowerCase() === 'feaa';
}

/** Decodes noble's advertisement object into the same frames (and refusals) as `parseAdvertisement`. */
export function parseNobleAdvertisement(advertisement: NobleAdvertisement): BeaconParse {
  if (typeof advertisement !== 'object' || advertisement === null) return malformed('the advertisement is not an object');
  const manufacturerData: unknown = advertisement.manufacturerData;
  if (manufacturerData !== undefined && manufacturerData !== null) {
    if (!(manufacturerData instanceof Uint8Array)) return malformed('manufacturerData is not a Buffer');
    if (manufacturerData.length < 2) return malformed(`manufacturer data of ${manufacturerData.length} bytes (too short for its company id)`);
    const buffer = asBuffer(manufacturerData);
    const result = decodeManufacturerData(buffer, 0, buffer.length);
    if (result !== NOT_A_BEACON) return result;
  }
  const serviceData: unknown = advertisement.serviceData;
  if (serviceData !== undefined && serviceData !== null) {
    if (!Array.isArray(serviceData)) return malformed('serviceData is not an array');
    for (const entry of serviceData as unknown[]) {
      if (typeof entry !== 'object' || entry === null || !isEddystoneUuid((entry as { uuid?: unknown }).uuid)) continue;
      const data: unknown = (entry as { data?: unknown }).data;
      if (!(data instanceof Uint8Array)) return malformed('Eddystone service data is not a Buffer');
      const buffer = asBuffer(data);
      return decodeEddystone(buffer, 0, buffer.length);
    }
  }
  return NOT_A_BEACON;
}

/** A UUID noble's way: the little-endian bytes reversed into hex. */
function reversedHex(bytes: Buffer): string {
  return Buffer.from(bytes).reverse().toString('hex');
}

/**
 * The advertisement object noble's HCI binding makes of these bytes on a first discovery
 * (lib/hci-socket/gap.js `parseServices`), quirks included: 16-bit UUIDs in service lists are
 * printed without leading zeros ('af0'), the last manufacturer data wins, and a broken structure
 * silently ends the walk. For tests that feed a fake noble binding what a real radio would.
 * (noble throws on an empty TX power structure; here it is skipped.)
 */
export function nobleAdvertisementFromBytes(bytes: Uint8Array): NobleAdvertisement & { serviceData: NobleServiceData[]; serviceUuids: string[]; serviceSolicitationUuids: string[] } {
  const eir = Buffer.from(bytes);
  const advertisement = {
    localName: undefined as string | undefined,
    txPowerLevel: undefined as number | undefined,
    manufacturerData: undefined as Buffer | undefined,
    serviceData: [] as NobleServiceData[],
    serviceUuids: [] as string[],
    serviceSolicitationUuids: [] as string[],
  };
  const addUnique = (list: string[], uuid: string): void => {
    if (!list.includes(uuid)) list.push(uuid);
  };
  let i = 0;
  while (i + 1 < eir.length) {
    const length = eir[i] as number;
    if (length < 1 || i + length + 1 > eir.length) break;
    const type = eir[i + 1] as number;
    const data = eir.subarray(i + 2, i + 1 + length);
    switch (type) {
      case AdType.incompleteUuids16:
      case AdType.completeUuids16:
        for (let j = 0; j < data.length - 1; j += 2) addUnique(advertisement.serviceUuids, data.readUInt16LE(j).toString(16));
        break;
      case AdType.incompleteUuids128:
      case AdType.completeUuids128:
        for (let j = 0; j < data.length - 15; j += 16) addUnique(advertisement.serviceUuids, reversedHex(data.subarray(j, j + 16)));
        break;
      case AdType.shortenedLocalName:
      case AdType.completeLocalName:
        advertisement.localName = data.toString('utf8');
        break;
      case AdType.txPowerLevel:
        if (data.length > 0) advertisement.txPowerLevel = data.readInt8(0);
        break;
      case 0x14: // 16-bit service solicitation UUIDs
        for (let j = 0; j < data.length - 1; j += 2) addUnique(advertisement.serviceSolicitationUuids, data.readUInt16LE(j).toString(16));
        break;
      case 0x15: // 128-bit service solicitation UUIDs
        for (let j = 0; j < data.length - 15; j += 16) addUnique(advertisement.serviceSolicitationUuids, reversedHex(data.subarray(j, j + 16)));
        break;
      case 0x1f: // 32-bit service solicitation UUIDs
        for (let j = 0; j < data.length - 3; j += 4) addUnique(advertisement.serviceSolicitationUuids, data.readUInt32LE(j).toString(16));
        break;
      case AdType.serviceData16:
        advertisement.serviceData.push({ uuid: reversedHex(data.subarray(0, 2)), data: data.subarray(2) });
        break;
      case AdType.serviceData32:
        advertisement.serviceData.push({ uuid: reversedHex(data.subarray(0, 4)), data: data.subarray(4) });
        break;
      case AdType.serviceData128:
        advertisement.serviceData.push({ uuid: reversedHex(data.subarray(0, 16)), data: data.subarray(16) });
        break;
      case AdType.manufacturerData:
        advertisement.manufacturerData = data;
        break;
      default:
        break;
    }
    i += length + 1;
  }
  return advertisement;
}
