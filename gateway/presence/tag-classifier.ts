import type { RosterEntry } from '../../core/roster.js';
import type { BeaconFrame } from '../../firmware-bridge/ble/frames.js';
import { parseNobleAdvertisement } from '../../firmware-bridge/ble/noble-advertisement.js';
import type { AdvertClassifier } from './ble-scanner.js';
import type { NobleAdvertisement } from './noble-types.js';

/**
 * The `ble-tag` uid a beacon frame identifies, upper-case hex (docs/protocol.md, "BLE tags"):
 * iBeacon uuid+major+minor (20 bytes), Eddystone-UID namespace+instance (16 bytes), AltBeacon
 * beacon id (20 bytes). Rotating and telemetry frames (EID, TLM, URL) identify no tag.
 */
export function tagUidOfFrame(frame: BeaconFrame): string | null {
  switch (frame.kind) {
    case 'ibeacon':
      return (frame.uuid.replaceAll('-', '') + hex16(frame.major) + hex16(frame.minor)).toUpperCase();
    case 'eddystone-uid':
      return (frame.namespace + frame.instance).toUpperCase();
    case 'altbeacon':
      return frame.beaconId.toUpperCase();
    default:
      return null;
  }
}

function hex16(value: number): string {
  return value.toString(16).padStart(4, '0');
}

/** A tag that sends no beacon frame is known by its (static) Bluetooth address: 6 bytes. */
export function tagUidOfAddress(address: string): string {
  return address.replaceAll(':', '').toUpperCase();
}

/**
 * Filters adverts to the staff tags the roster names (`ble-tag` credentials), so the tracker
 * holds only people, never the street's phones and headphones. The roster is read at each call
 * through its fingerprint, so a pushed roster takes effect on the next advert.
 */
export function rosterTagClassifier(tags: () => ReadonlySet<string>): AdvertClassifier {
  // Most adverts are nobody's tag: look their address up as noble writes it (lower-case, with
  // colons) instead of rewriting every address into a uid first (a quarter of the bench's time).
  const byAddressFor = new WeakMap<ReadonlySet<string>, Map<string, string>>();
  const addressIndex = (known: ReadonlySet<string>): Map<string, string> => {
    let index = byAddressFor.get(known);
    if (!index) {
      index = new Map();
      for (const uid of known) if (uid.length === 12) index.set(uid.toLowerCase().replace(/(..)(?!$)/g, '$1:'), uid);
      byAddressFor.set(known, index);
    }
    return index;
  };
  return (address: string, advertisement: NobleAdvertisement) => {
    const known = tags();
    if (known.size === 0) return null;
    const parsed = parseNobleAdvertisement(advertisement);
    if (parsed.ok) {
      const uid = tagUidOfFrame(parsed.frame);
      if (uid !== null && known.has(uid)) return { tagId: uid };
    }
    const index = addressIndex(known);
    if (index.size === 0) return null;
    const byAddress = index.get(address) ?? index.get(address.toLowerCase());
    return byAddress === undefined ? null : { tagId: byAddress };
  };
}

/** The `ble-tag` uids of a roster (active and revoked alike: hands-free checks status itself). */
export function rosterTagUids(entries: Iterable<RosterEntry>): Set<string> {
  const uids = new Set<string>();
  for (const entry of entries) if (entry.credential.kind === 'ble-tag') uids.add(entry.credential.uid);
  return uids;
}
