// @ts-check
/**
 * Messages in English and Traditional Chinese (Hong Kong). Every string a person reads comes from
 * `/assets/i18n/<lang>.json` through {@link t}; both catalogues hold the same keys (a test checks).
 * The chosen language is remembered in localStorage; the first visit follows the browser.
 */

/** @typedef {'en' | 'zh-HK'} Lang */

export const LANGUAGES = /** @type {const} */ (['en', 'zh-HK']);
const STORAGE_KEY = 'punchgate.lang';

/** @type {Lang} */
let current = 'en';
/** @type {Record<string, string>} */
let messages = {};

/** @param {unknown} value @returns {value is Lang} */
function isLang(value) {
  return typeof value === 'string' && /** @type {readonly string[]} */ (LANGUAGES).includes(value);
}

/** The remembered language, else the browser's (any Chinese: 繁中), else English. @returns {Lang} */
export function preferredLanguage() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (isLang(stored)) return stored;
  } catch {
    // Storage may be off; the browser's language it is.
  }
  return navigator.languages.some((language) => language.toLowerCase().startsWith('zh')) ? 'zh-HK' : 'en';
}

/** Loads a catalogue and makes it current. @param {Lang} lang */
export async function loadLanguage(lang) {
  const response = await fetch(`/assets/i18n/${lang}.json`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`cannot load the ${lang} messages: HTTP ${response.status}`);
  messages = await response.json();
  current = lang;
  document.documentElement.lang = lang;
}

/** Remembers the language and shows the page again in it. @param {Lang} lang */
export function switchLanguage(lang) {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not remembered, but still switched for this page.
  }
  location.reload();
}

/** @returns {Lang} */
export function language() {
  return current;
}

/** The locale for dates and numbers. */
export function locale() {
  return current === 'zh-HK' ? 'zh-HK' : 'en-HK';
}

/**
 * The message `key` with `{name}` placeholders filled in; the key itself when it is missing
 * (visible, and caught by the catalogue test).
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
export function t(key, params) {
  const message = messages[key] ?? key;
  if (!params) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/**
 * A UTC instant shown in a time zone (the site's; default Hong Kong), in the current language.
 * @param {string | null | undefined} iso
 * @param {string} [timeZone]
 * @param {'datetime' | 'time' | 'date'} [style]
 */
export function formatInstant(iso, timeZone = 'Asia/Hong_Kong', style = 'datetime') {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  /** @type {Intl.DateTimeFormatOptions} */
  const options =
    style === 'time' ? { timeStyle: 'medium', timeZone } : style === 'date' ? { dateStyle: 'medium', timeZone } : { dateStyle: 'medium', timeStyle: 'medium', timeZone };
  try {
    return new Intl.DateTimeFormat(locale(), options).format(date);
  } catch {
    return new Intl.DateTimeFormat(locale(), { ...options, timeZone: 'UTC' }).format(date);
  }
}

/** "3 minutes ago", in the current language. @param {string | null | undefined} iso @param {number} [now] */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return t('common.never');
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Number.isNaN(seconds)) return iso;
  const format = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, 'second');
  if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return format.format(Math.round(seconds / 3600), 'hour');
  return format.format(Math.round(seconds / 86400), 'day');
}

/** @param {number} value @param {number} [digits] */
export function formatNumber(value, digits) {
  return new Intl.NumberFormat(locale(), digits === undefined ? {} : { maximumFractionDigits: digits }).format(value);
}

/** The site's name in the current language (繁中 name when there is one). @param {{id: string, name: string, nameZh?: string | null} | undefined} site @param {string} [fallback] */
export function siteName(site, fallback = '') {
  if (!site) return fallback;
  return current === 'zh-HK' && site.nameZh ? site.nameZh : site.name;
}

/** @param {{name: string, nameZh?: string | null}} person */
export function personName(person) {
  return current === 'zh-HK' && person.nameZh ? `${person.nameZh} (${person.name})` : person.name;
}
