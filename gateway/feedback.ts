import { verdictText, type KioskVerdict } from '../core/attendance/index.js';
import type { Feedback } from '../core/feedback.js';
import { cachedFormat } from '../core/time.js';
import type { TapOutcome } from './punch-desk.js';

const MAX_TEXT_BYTES = 32;

/** Cuts text to what a reader's one-line display takes, on a character boundary. */
export function fitText(text: string): string {
  let out = '';
  for (const char of text) {
    if (Buffer.byteLength(out + char) > MAX_TEXT_BYTES) break;
    out += char;
  }
  return out;
}

function clockTime(at: string, timeZone: string): string {
  return cachedFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(at));
}

/**
 * What the reader at the door shows and sounds for an outcome; with the pushed schedules, an
 * accepted punch also says whether it is on time ("IN 09:04 late 4m Chan Tai Man").
 */
export function feedbackFor(outcome: TapOutcome, timeZone: string, verdict?: KioskVerdict): Feedback {
  switch (outcome.result) {
    case 'accepted': {
      const punch = outcome.punch;
      const direction = punch?.direction === 'out' ? 'OUT' : punch?.direction === 'in' ? 'IN' : 'OK';
      const time = punch ? clockTime(punch.at, timeZone) : '';
      const said = verdictText(verdict, 'en');
      return {
        kind: 'accepted',
        text: fitText([direction, time, said, outcome.employee?.name ?? ''].filter(Boolean).join(' ')),
        ...(verdict ? { verdict: verdict.kind === 'late' || verdict.kind === 'early' ? { kind: verdict.kind, minutes: verdict.minutes } : { kind: verdict.kind } } : {}),
      };
    }
    case 'unknown':
      return { kind: 'unknown', text: 'Unknown badge - recorded' };
    case 'revoked':
      return { kind: 'revoked', text: 'Badge not valid' };
    case 'duplicate':
      return { kind: 'duplicate', text: 'Already recorded' };
    case 'error':
      return { kind: 'error', text: 'Error - not recorded' };
  }
}
