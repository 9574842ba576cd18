import { z } from 'zod';
import { decideFix } from './geofence.js';
import { beaconKey, type BeaconObservation, type MobileEvidence } from './mobile-evidence.js';
import {
  factorsOf,
  isPlaceholderBssid,
  LocationFactor,
  locationFactors,
  type FactorRule,
  type SiteLocationPolicy,
} from './site-location-policy.js';

/**
 * Verifies a mobile punch's location evidence against its site's policy. Pure: beacon resolution
 * and the replay memory are injected.
 *
 * A factor is *presented* when the phone sent something for it (a GPS fix; a connected or scanned
 * BSSID; at least one beacon sighting), and *passes* when that evidence proves the site. Only the
 * factors the site's rule names are looked at; anything else the phone sent is ignored. Every
 * presented factor that fails gets its reasons in the verdict, even when other factors carried the
 * punch, so HR can see why (say) GPS keeps failing inside a building.
 */

export const reasonCodes = [
  'outside-fence',
  'accuracy-too-poor',
  'gps-stale',
  'unknown-bssid',
  'beacon-unknown',
  'beacon-expired-or-replayed',
  'beacon-other-site',
  'beacon-ambiguous',
  'beacon-too-weak',
  'too-few-factors',
  'no-evidence',
] as const;
export const ReasonCode = z.enum(reasonCodes);
export type ReasonCode = z.infer<typeof ReasonCode>;

/**
 * One reason a factor failed or a punch was refused, in English and Traditional Chinese (Hong
 * Kong). The texts carry distances and counts but never coordinates, BSSIDs or beacon ids, so they
 * may be stored with the punch.
 */
export const VerdictReason = z
  .object({
    code: ReasonCode,
    /** The factor this reason is about; absent for the verdict-level `too-few-factors` and `no-evidence`. */
    factor: LocationFactor.optional(),
    en: z.string().min(1).max(300),
    zhHK: z.string().min(1).max(300),
  })
  .strict();
export type VerdictReason = z.infer<typeof VerdictReason>;

export interface Verdict {
  accepted: boolean;
  /** The factors that passed, in the order gps, wifi, ble. */
  factorsPassed: LocationFactor[];
  reasons: VerdictReason[];
  /**
   * The beacon keys (see {@link beaconKey}) that passed. After the punch is committed, the caller
   * records each with the employee key so that {@link SeenBefore} answers true for them; they are
   * not part of the stored evidence summary. Empty when the punch is refused.
   */
  replayKeys: string[];
}

/** What the beacon resolver (`core/beacon/`) says about one sighting at a given time. */
export type BeaconResolution =
  | { ok: true; siteId: string; offset: -1 | 0 | 1 }
  | { ok: false; reason: 'unknown' | 'expired' | 'ambiguous' };

/**
 * Resolves a beacon sighting to its site. `offset` tells which rotation window the id belongs to
 * relative to `atUnixSeconds` (previous, current, next: room for clock skew); an id from any other
 * window is `expired`.
 */
export type ResolveBeacon = (observation: BeaconObservation, atUnixSeconds: number) => BeaconResolution;

/**
 * The replay memory: true when the employee identified by `employeeKey` has already had a punch
 * accepted with this exact beacon key.
 *
 * Replay, precisely. A rotating beacon id is valid only in its rotation window (±1 window for clock
 * skew); the resolver refuses any older id as `expired`. Within its validity an id is a replay when
 * the *same employee* presents it in a second punch: the same evidence submitted twice (a re-sent
 * or copied request, a recorded id played back). The *same id from different employees* is not a
 * replay: every phone in the shop hears the same beacon in the same window. Both cases give the
 * reason `beacon-expired-or-replayed`.
 *
 * Keys are {@link beaconKey} strings, which do not include the RSSI, so a replay with a doctored
 * signal strength is still caught. A retry of the *same punch* (same punch id, e.g. after a lost
 * response) is not a new punch: callers deduplicate by punch id before verifying. The memory needs
 * to hold an entry only as long as the resolver would still accept the id (until the end of the
 * next rotation window); after that the resolver refuses it as `expired`, so entries can, and under
 * PDPO should, be pruned.
 */
export type SeenBefore = (beaconKey: string, employeeKey: string) => boolean;

export interface VerifyEvidenceInput {
  policy: SiteLocationPolicy;
  /** Evidence already parsed with the `MobileEvidence` schema. */
  evidence: MobileEvidence;
  /** The punch time (a Date, or ISO-8601 as in `Punch.at`). */
  at: Date | string;
  /** Who is punching, as the replay memory keys them (an employee id, or a credential key). */
  employeeKey: string;
  resolveBeacon: ResolveBeacon;
  seenBefore: SeenBefore;
}

const factorNames: Record<LocationFactor, { en: string; zhHK: string }> = {
  gps: { en: 'GPS', zhHK: 'GPS 定位' },
  wifi: { en: 'Wi-Fi', zhHK: 'Wi-Fi' },
  ble: { en: 'Bluetooth beacon', zhHK: '藍牙信標' },
};

function metres(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function reason(code: ReasonCode, factor: LocationFactor | undefined, en: string, zhHK: string): VerdictReason {
  return factor === undefined ? { code, en, zhHK } : { code, factor, en, zhHK };
}

function toMillis(at: Date | string): number {
  const millis = at instanceof Date ? at.getTime() : Date.parse(at);
  if (!Number.isFinite(millis)) throw new RangeError(`punch time is not a valid date: ${String(at)}`);
  return millis;
}

interface FactorResult {
  presented: boolean;
  passed: boolean;
  reasons: VerdictReason[];
}

const notPresented: FactorResult = { presented: false, passed: false, reasons: [] };

function checkGps(policy: SiteLocationPolicy, evidence: MobileEvidence, atMillis: number): FactorResult {
  const gps = evidence.gps;
  if (!gps) return notPresented;
  const fail = (r: VerdictReason): FactorResult => ({ presented: true, passed: false, reasons: [r] });
  if (gps.at !== undefined) {
    const ageSeconds = Math.round((atMillis - Date.parse(gps.at)) / 1000);
    if (Math.abs(ageSeconds) > policy.maxFixAgeSeconds) {
      const limit = policy.maxFixAgeSeconds;
      return fail(
        ageSeconds > 0
          ? reason('gps-stale', 'gps', `the location fix was taken ${ageSeconds} s before the punch (limit ${limit} s)`, `定位資料於打卡前 ${ageSeconds} 秒取得（上限 ${limit} 秒）`)
          : reason('gps-stale', 'gps', `the location fix is timed ${-ageSeconds} s after the punch (limit ${limit} s)`, `定位時間比打卡時間遲 ${-ageSeconds} 秒（上限 ${limit} 秒）`),
      );
    }
  }
  const fence = policy.geofence;
  if (!fence) return fail(reason('outside-fence', 'gps', 'the site has no geofence', '此工作地點未設定範圍'));
  const judgement = decideFix(gps, fence, { toleranceMetres: policy.gpsToleranceMetres, maxAccuracyMetres: policy.maxAccuracyMetres });
  switch (judgement.decision) {
    case 'inside':
      return { presented: true, passed: true, reasons: [] };
    case 'accuracy-too-poor': {
      const accuracy = Math.ceil(gps.accuracyMetres);
      const limit = metres(policy.maxAccuracyMetres);
      return fail(
        reason('accuracy-too-poor', 'gps', `location accuracy ${accuracy} m is worse than the ${limit} m allowed`, `定位精確度為 ${accuracy} 米，超出容許的 ${limit} 米`),
      );
    }
    case 'outside': {
      const distance = Math.ceil(judgement.distanceMetres);
      const tolerance = metres(policy.gpsToleranceMetres);
      return fail(
        reason('outside-fence', 'gps', `outside the site's area by ${distance} m (allowed ${tolerance} m)`, `距離工作地點範圍 ${distance} 米（容許 ${tolerance} 米）`),
      );
    }
  }
}

function checkWifi(policy: SiteLocationPolicy, evidence: MobileEvidence): FactorResult {
  const connected = evidence.wifi?.connectedBssid;
  const scanned = evidence.wifi?.scannedBssids ?? [];
  if (connected === undefined && scanned.length === 0) return notPresented;
  const allowed = new Set(policy.allowedBssids);
  const passed =
    (connected !== undefined && allowed.has(connected)) || (policy.acceptScannedBssids && scanned.some((bssid) => allowed.has(bssid)));
  if (passed) return { presented: true, passed: true, reasons: [] };
  const fail = (en: string, zhHK: string): FactorResult => ({ presented: true, passed: false, reasons: [reason('unknown-bssid', 'wifi', en, zhHK)] });
  if (connected !== undefined && isPlaceholderBssid(connected)) {
    return fail(
      'the phone hid which Wi-Fi it is connected to; allow the app to use location',
      '手機隱藏了已連接的 Wi-Fi 資料，請允許應用程式使用位置資料',
    );
  }
  if (connected !== undefined) {
    return policy.acceptScannedBssids && scanned.length > 0
      ? fail(
          "neither the connected Wi-Fi nor any Wi-Fi seen nearby is one of the site's networks",
          '已連接及附近的 Wi-Fi 網絡均不屬於此工作地點',
        )
      : fail("the connected Wi-Fi is not one of the site's networks", '已連接的 Wi-Fi 不屬於此工作地點');
  }
  return policy.acceptScannedBssids
    ? fail("none of the Wi-Fi networks seen nearby is one of the site's networks", '附近的 Wi-Fi 網絡均不屬於此工作地點')
    : fail(
        "the phone is not connected to the site's Wi-Fi (networks only seen nearby do not count here)",
        '手機未連接此工作地點的 Wi-Fi（只在附近偵測到的網絡不獲接受）',
      );
}

type BeaconFailure = 'too-weak' | 'unknown' | 'expired' | 'replayed' | 'other-site' | 'ambiguous';

function beaconReason(failure: BeaconFailure, count: number, policy: SiteLocationPolicy, strongestWeak: number): VerdictReason {
  const en = count > 1 ? ` (${count} beacons)` : '';
  const zh = count > 1 ? `（${count} 個信標）` : '';
  switch (failure) {
    case 'too-weak':
      return reason(
        'beacon-too-weak',
        'ble',
        `beacon signal too weak: ${strongestWeak} dBm, needs ${policy.minBeaconRssi} dBm or stronger${en}`,
        `藍牙信標訊號太弱：${strongestWeak} dBm，需要 ${policy.minBeaconRssi} dBm 或以上${zh}`,
      );
    case 'unknown':
      return reason('beacon-unknown', 'ble', `beacon not recognised${en}`, `無法識別藍牙信標${zh}`);
    case 'expired':
      return reason('beacon-expired-or-replayed', 'ble', `beacon code has expired${en}`, `藍牙信標代碼已過期${zh}`);
    case 'replayed':
      return reason('beacon-expired-or-replayed', 'ble', `beacon code was already used in an earlier punch${en}`, `藍牙信標代碼已在較早的打卡中使用${zh}`);
    case 'other-site':
      return reason('beacon-other-site', 'ble', `beacon belongs to another site${en}`, `藍牙信標屬於另一個工作地點${zh}`);
    case 'ambiguous':
      return reason('beacon-ambiguous', 'ble', `beacon code matches more than one beacon${en}`, `藍牙信標代碼對應多於一個信標${zh}`);
  }
}

const beaconFailureOrder: BeaconFailure[] = ['other-site', 'replayed', 'expired', 'ambiguous', 'unknown', 'too-weak'];

function checkBeacons(input: VerifyEvidenceInput, atMillis: number): { result: FactorResult; replayKeys: string[] } {
  const { policy, evidence } = input;
  const sightings = evidence.beacons ?? [];
  if (sightings.length === 0) return { result: notPresented, replayKeys: [] };

  // The same transmission heard twice counts once, at its strongest.
  const strongest = new Map<string, BeaconObservation>();
  for (const sighting of sightings) {
    const key = beaconKey(sighting);
    const known = strongest.get(key);
    if (!known || sighting.rssi > known.rssi) strongest.set(key, sighting);
  }

  const atUnixSeconds = Math.floor(atMillis / 1000);
  const failures = new Map<BeaconFailure, number>();
  const replayKeys: string[] = [];
  let strongestWeak = -Infinity;
  for (const [key, sighting] of strongest) {
    let failure: BeaconFailure | null = null;
    if (sighting.rssi < policy.minBeaconRssi) {
      failure = 'too-weak';
      strongestWeak = Math.max(strongestWeak, sighting.rssi);
    } else {
      const resolution = input.resolveBeacon(sighting, atUnixSeconds);
      if (!resolution.ok) failure = resolution.reason;
      else if (resolution.siteId !== policy.siteId) failure = 'other-site';
      else if (input.seenBefore(key, input.employeeKey)) failure = 'replayed';
    }
    if (failure === null) replayKeys.push(key);
    else failures.set(failure, (failures.get(failure) ?? 0) + 1);
  }

  if (replayKeys.length > 0) return { result: { presented: true, passed: true, reasons: [] }, replayKeys };
  const reasons = beaconFailureOrder
    .filter((failure) => failures.has(failure))
    .map((failure) => beaconReason(failure, failures.get(failure)!, policy, strongestWeak));
  return { result: { presented: true, passed: false, reasons }, replayKeys: [] };
}

function tooFewFactors(rule: FactorRule, passed: readonly LocationFactor[]): VerdictReason {
  if ('required' in rule) {
    const missing = rule.required.filter((factor) => !passed.includes(factor));
    return reason(
      'too-few-factors',
      undefined,
      `needs ${rule.required.map((f) => factorNames[f].en).join(' and ')} to pass; not passed: ${missing.map((f) => factorNames[f].en).join(', ')}`,
      `必須通過${rule.required.map((f) => factorNames[f].zhHK).join('及')}；未通過：${missing.map((f) => factorNames[f].zhHK).join('、')}`,
    );
  }
  const passedEn = passed.length > 0 ? passed.map((f) => factorNames[f].en).join(', ') : 'none';
  const passedZh = passed.length > 0 ? passed.map((f) => factorNames[f].zhHK).join('、') : '無';
  return reason(
    'too-few-factors',
    undefined,
    `needs ${rule.anyOf} of ${rule.factors.map((f) => factorNames[f].en).join(', ')} to pass; passed: ${passedEn}`,
    `需要${rule.factors.map((f) => factorNames[f].zhHK).join('、')}其中 ${rule.anyOf} 項通過；已通過：${passedZh}`,
  );
}

/**
 * The verdict on one mobile punch's evidence:
 *
 * - each factor the site's rule names is checked on its own (GPS: fix time within
 *   `maxFixAgeSeconds` of the punch, then {@link decideFix} against the geofence; Wi-Fi: the
 *   connected BSSID, or also a scanned one when `acceptScannedBssids`, is one of the site's; BLE: at
 *   least one sighting at or above `minBeaconRssi` resolves to this site and is not a replay, see
 *   {@link SeenBefore});
 * - the punch is accepted when the passed factors satisfy the rule (`anyOf` n of the listed, or all
 *   `required`);
 * - reasons list every presented factor that failed (in the order gps, wifi, ble), then
 *   `too-few-factors` when refused; a phone that presented none of the rule's factors gets only
 *   `no-evidence`.
 */
export function verifyEvidence(input: VerifyEvidenceInput): Verdict {
  const { policy, evidence } = input;
  const atMillis = toMillis(input.at);
  const used = factorsOf(policy.accept);

  const results = new Map<LocationFactor, FactorResult>();
  let replayKeys: string[] = [];
  if (used.includes('gps')) results.set('gps', checkGps(policy, evidence, atMillis));
  if (used.includes('wifi')) results.set('wifi', checkWifi(policy, evidence));
  if (used.includes('ble')) {
    const beacons = checkBeacons(input, atMillis);
    results.set('ble', beacons.result);
    replayKeys = beacons.replayKeys;
  }

  const ordered = locationFactors.filter((factor) => results.has(factor));
  if (!ordered.some((factor) => results.get(factor)!.presented)) {
    const names = used.map((f) => factorNames[f]);
    return {
      accepted: false,
      factorsPassed: [],
      reasons: [
        reason(
          'no-evidence',
          undefined,
          `the phone sent none of the location evidence this site uses (${names.map((n) => n.en).join(', ')})`,
          `手機沒有提供此工作地點使用的位置證明（${names.map((n) => n.zhHK).join('、')}）`,
        ),
      ],
      replayKeys: [],
    };
  }

  const factorsPassed = ordered.filter((factor) => results.get(factor)!.passed);
  const rule = policy.accept;
  const accepted = 'required' in rule ? rule.required.every((f) => factorsPassed.includes(f)) : factorsPassed.length >= rule.anyOf;
  const reasons = ordered.flatMap((factor) => results.get(factor)!.reasons);
  if (!accepted) reasons.push(tooFewFactors(rule, factorsPassed));
  return { accepted, factorsPassed, reasons, replayKeys: accepted ? replayKeys : [] };
}
