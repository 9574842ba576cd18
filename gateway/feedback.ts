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

/** What the reader at the door shows and sounds for an outcome. */
export function feedbackFor(outcome: TapOutcome, timeZone: string): Feedback {
  switch (outcome.result) {
    case 'accepted': {
      const punch = outcome.punch;
      const direction = punch?.direction === 'out' ? 'OUT' : punch?.direction === 'in' ? 'IN' : 'OK';
      const time = punch ? clockTime(punch.at, timeZone) : '';
      return { kind: 'accepted', text: fitText(`${direction} ${time} ${outcome.employee?.name ?? ''}`.trim()) };
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
