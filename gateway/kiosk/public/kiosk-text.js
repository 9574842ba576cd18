// Every word the kiosk screen says, in English and Traditional Chinese (Hong Kong), and what
// each screen is made of. No DOM here: kiosk.js draws it. The gateway's events carry data only
// (gateway/kiosk/kiosk-events.ts).

/** @typedef {'en' | 'zh-HK'} Language */
/** @typedef {Record<Language, string>} Text */
/** @typedef {'online' | 'offline' | 'standalone'} Link */
/** @typedef {{ kind: 'on-time' | 'late' | 'early' | 'off-day', minutes?: number }} Verdict */
/**
 * @typedef {object} KioskState
 * @property {{ id: string, name: string | null, timeZone: string, languages: Language[] }} site
 * @property {Link} link
 * @property {number | null} backlog
 * @property {number} idleMs
 * @property {string} serverTime
 */
/**
 * @typedef {object} KioskTap
 * @property {number} seq
 * @property {'accepted' | 'unknown' | 'revoked' | 'duplicate' | 'error'} result
 * @property {boolean} recorded
 * @property {'in' | 'out' | 'auto' | null} direction
 * @property {string | null} name
 * @property {string} at
 * @property {Verdict | null} verdict
 * @property {Link} link
 */
/** @typedef {'good' | 'info' | 'warn' | 'bad' | 'neutral'} Tone */
/**
 * @typedef {object} Screen
 * @property {string} screen   what `body[data-screen]` says: accepted-in, accepted-out, accepted, unknown, revoked, duplicate, error
 * @property {Tone} tone
 * @property {string} icon     a symbol of kiosk.html, without `i-`
 * @property {Text} title
 * @property {string | null} name
 * @property {Text | null} verdict
 * @property {Text[]} notes
 */

/** @type {Language[]} */
export const LANGUAGES = ['en', 'zh-HK'];

/** @param {number} n */
const count = (n) => n.toLocaleString('en-GB');

export const TEXT = {
  prompt: { en: 'Tap your badge', 'zh-HK': '請拍卡' },
  in: { en: 'Clocked in', 'zh-HK': '上班' },
  out: { en: 'Clocked out', 'zh-HK': '下班' },
  recorded: { en: 'Recorded', 'zh-HK': '已記錄' },
  onTime: { en: 'On time', 'zh-HK': '準時' },
  unknown: { en: 'Unknown badge', 'zh-HK': '未登記的卡' },
  unknownNote: { en: 'Recorded. Please tell your supervisor.', 'zh-HK': '已記錄，請通知主管。' },
  revoked: { en: 'Badge not valid', 'zh-HK': '此卡已停用' },
  revokedNote: { en: 'Not recorded. Please see your supervisor.', 'zh-HK': '未有記錄，請聯絡主管。' },
  duplicate: { en: 'Already recorded', 'zh-HK': '已經記錄' },
  duplicateNote: { en: 'You tapped a moment ago. No need to tap again.', 'zh-HK': '你剛剛已拍卡，毋須再拍。' },
  error: { en: 'Not recorded', 'zh-HK': '未能記錄' },
  errorNote: { en: 'Please tap again. If it fails again, tell your supervisor.', 'zh-HK': '請再拍卡。如仍未成功，請通知主管。' },
  unavailable: { en: 'Please wait', 'zh-HK': '請稍候' },
  unavailableNote: { en: 'The screen has lost the gateway. Taps may not be recorded.', 'zh-HK': '螢幕未能連接拍卡系統，拍卡可能未被記錄。' },
  starting: { en: 'Starting…', 'zh-HK': '啟動中…' },
  online: { en: 'Online', 'zh-HK': '已連線' },
  standalone: { en: 'Stand-alone: taps are recorded here', 'zh-HK': '單機運作：拍卡記錄在本機' },
  noGateway: { en: 'Not connected to the gateway', 'zh-HK': '未連接拍卡系統' },
};

/**
 * "Offline", with what a person needs to know: the tap is kept, and how many wait to be sent.
 * @param {number | null} backlog
 * @returns {Text}
 */
export function offlineText(backlog) {
  if (backlog === null) return { en: 'Offline: taps are recorded and will sync', 'zh-HK': '離線：拍卡已記錄，稍後同步' };
  return { en: `Offline: taps are recorded and will sync · ${count(backlog)} waiting`, 'zh-HK': `離線：拍卡已記錄，稍後同步 · ${count(backlog)} 筆待同步` };
}

/**
 * The note under an offline punch: recorded — will sync, with the backlog count.
 * @param {number | null} backlog
 * @returns {Text}
 */
export function willSyncText(backlog) {
  if (backlog === null) return { en: 'Recorded — will sync', 'zh-HK': '已記錄，稍後同步' };
  return { en: `Recorded — will sync (${count(backlog)} waiting)`, 'zh-HK': `已記錄，稍後同步（${count(backlog)} 筆待同步）` };
}

/**
 * "On time", "Late by 4 min", "Left 12 min early"; null when there is nothing to say (no schedule, a day off).
 * @param {Verdict | null} verdict
 * @returns {Text | null}
 */
export function verdictText(verdict) {
  if (!verdict || verdict.kind === 'off-day') return null;
  if (verdict.kind === 'on-time') return TEXT.onTime;
  const minutes = verdict.minutes ?? 0;
  if (verdict.kind === 'late') return { en: `Late by ${minutes} min`, 'zh-HK': `遲到 ${minutes} 分鐘` };
  return { en: `Left ${minutes} min early`, 'zh-HK': `早退 ${minutes} 分鐘` };
}

/**
 * What the screen shows for a tap. Each screen has its own word, icon and tone: colour is never
 * the only signal.
 * @param {KioskTap} tap
 * @param {KioskState | null} state
 * @returns {Screen}
 */
export function tapScreen(tap, state) {
  const backlog = state?.backlog ?? null;
  /** @type {Text[]} */
  const syncNotes = tap.recorded && tap.link === 'offline' ? [willSyncText(backlog)] : [];
  switch (tap.result) {
    case 'accepted': {
      const direction = tap.direction ?? 'auto';
      return {
        screen: direction === 'auto' ? 'accepted' : `accepted-${direction}`,
        tone: 'good',
        icon: direction === 'auto' ? 'check' : direction,
        title: direction === 'auto' ? TEXT.recorded : TEXT[direction],
        name: tap.name,
        verdict: verdictText(tap.verdict),
        notes: syncNotes,
      };
    }
    case 'unknown':
      return { screen: 'unknown', tone: 'warn', icon: 'question', title: TEXT.unknown, name: null, verdict: null, notes: [TEXT.unknownNote, ...syncNotes] };
    case 'revoked':
      return { screen: 'revoked', tone: 'bad', icon: 'blocked', title: TEXT.revoked, name: tap.name, verdict: null, notes: [TEXT.revokedNote] };
    case 'duplicate':
      // Nothing wrong: the first tap counted. Its own colour, so that it never looks like a refusal.
      return { screen: 'duplicate', tone: 'info', icon: 'repeat', title: TEXT.duplicate, name: tap.name, verdict: null, notes: [TEXT.duplicateNote] };
    default:
      return { screen: 'error', tone: 'bad', icon: 'warning', title: TEXT.error, name: null, verdict: null, notes: [TEXT.errorNote] };
  }
}

/**
 * The status corner: online, offline with the backlog, stand-alone, or no gateway at all.
 * @param {KioskState | null} state
 * @param {boolean} connected  whether the page's event stream is open
 * @returns {{ link: string, icon: string, tone: Tone, text: Text }}
 */
export function linkStatus(state, connected) {
  if (!connected || !state) return { link: 'no-gateway', icon: 'unplugged', tone: 'bad', text: TEXT.noGateway };
  if (state.link === 'online') return { link: 'online', icon: 'online', tone: 'good', text: TEXT.online };
  if (state.link === 'standalone') return { link: 'standalone', icon: 'standalone', tone: 'neutral', text: TEXT.standalone };
  return { link: 'offline', icon: 'offline', tone: 'warn', text: offlineText(state.backlog) };
}

/** @type {Map<string, Intl.DateTimeFormat>} */
const formats = new Map();

/**
 * @param {string} locale
 * @param {Intl.DateTimeFormatOptions} options
 */
function format(locale, options) {
  const key = `${locale}|${JSON.stringify(options)}`;
  let found = formats.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat(locale, options);
    formats.set(key, found);
  }
  return found;
}

/**
 * 24-hour "09:04" in the site's time zone.
 * @param {Date} date
 * @param {string} timeZone
 */
export function clockText(date, timeZone) {
  return format('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
}

/**
 * "Thursday 5 March" / "3月5日星期四" in the site's time zone.
 * @param {Date} date
 * @param {string} timeZone
 * @returns {Text}
 */
export function dateText(date, timeZone) {
  return {
    en: format('en-GB', { timeZone, weekday: 'long', day: 'numeric', month: 'long' }).format(date),
    'zh-HK': format('zh-HK', { timeZone, weekday: 'long', day: 'numeric', month: 'long' }).format(date),
  };
}
