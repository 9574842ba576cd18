// The kiosk screen at the door (docs/kiosk.md): the gateway's events in, the screen out.
// No framework, no inline script or style, nothing from another origin.

import { LANGUAGES, TEXT, clockText, dateText, linkStatus, tapScreen } from './kiosk-text.js';

/** @typedef {import('./kiosk-text.js').KioskState} KioskState */
/** @typedef {import('./kiosk-text.js').KioskTap} KioskTap */
/** @typedef {import('./kiosk-text.js').Text} Text */
/** @typedef {import('./kiosk-text.js').Language} Language */

const DEFAULT_TIME_ZONE = 'Asia/Hong_Kong';
const DEFAULT_IDLE_MS = 6000;
/** A stream that drops comes back within about a second (`retry:`); only then is the screen told. */
const UNAVAILABLE_AFTER_MS = 2500;

/** @type {KioskState | null} */
let state = null;
let connected = false;
/** @type {KioskTap | null} */
let showing = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let idleTimer;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let unavailableTimer;
let unavailable = false;

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`kiosk.html has no #${id}`);
  return element;
}

/**
 * @param {string} id
 * @returns {SVGSVGElement}
 */
function svgById(id) {
  const element = document.getElementById(id);
  if (!(element instanceof SVGSVGElement)) throw new Error(`kiosk.html has no svg #${id}`);
  return element;
}

const ui = {
  site: byId('site'),
  link: byId('link'),
  linkIcon: svgById('link-icon'),
  linkText: byId('link-text'),
  idle: byId('idle'),
  clock: byId('clock'),
  date: byId('date'),
  prompt: byId('prompt'),
  result: byId('result'),
  resultIcon: svgById('result-icon'),
  title: byId('result-title'),
  name: byId('result-name'),
  time: byId('result-time'),
  verdict: byId('result-verdict'),
  note: byId('result-note'),
};

/** @returns {Language[]} */
function languages() {
  const chosen = state?.site.languages;
  return chosen && chosen.length > 0 ? chosen : LANGUAGES;
}

function timeZone() {
  return state?.site.timeZone ?? DEFAULT_TIME_ZONE;
}

/**
 * One span per language, in the site's order (the first the largest), each with its `lang` so
 * that the browser picks the right glyphs.
 * @param {Text} text
 * @returns {HTMLSpanElement[]}
 */
function spans(text) {
  return languages().map((language, index) => {
    const span = document.createElement('span');
    span.lang = language;
    span.className = index === 0 ? 'l1' : 'l2';
    span.textContent = text[language];
    return span;
  });
}

/**
 * @param {HTMLElement} element
 * @param {Text | null} text
 */
function put(element, text) {
  element.replaceChildren(...(text ? spans(text) : []));
  element.hidden = text === null;
}

/**
 * @param {Text} text
 * @returns {string}
 */
function said(text) {
  return languages()
    .map((language) => text[language])
    .join(' / ');
}

/**
 * @param {SVGSVGElement} svg
 * @param {string} icon
 * @param {Text} label
 */
function setIcon(svg, icon, label) {
  svg.querySelector('use')?.setAttribute('href', `#i-${icon}`);
  svg.dataset.icon = icon;
  svg.setAttribute('aria-label', said(label));
}

function renderStatus() {
  const site = state ? (state.site.name ?? state.site.id) : 'punchgate';
  ui.site.textContent = site;
  document.title = `${site} · punchgate`;
  document.documentElement.lang = languages()[0] ?? 'en';
  const status = linkStatus(state, connected);
  document.body.dataset.link = status.link;
  ui.link.dataset.tone = status.tone;
  setIcon(ui.linkIcon, status.icon, status.text);
  put(ui.linkText, status.text);
}

function renderClock() {
  const now = new Date();
  ui.clock.textContent = clockText(now, timeZone());
  put(ui.date, dateText(now, timeZone()));
}

function renderIdle() {
  showing = null;
  ui.result.hidden = true;
  ui.idle.hidden = false;
  document.body.dataset.screen = 'idle';
  document.body.dataset.tone = 'neutral';
  put(ui.prompt, TEXT.prompt);
  renderClock();
}

function renderUnavailable() {
  showing = null;
  clearTimeout(idleTimer);
  ui.idle.hidden = true;
  ui.result.hidden = false;
  document.body.dataset.screen = 'unavailable';
  document.body.dataset.tone = 'bad';
  setIcon(ui.resultIcon, 'unplugged', TEXT.unavailable);
  put(ui.title, TEXT.unavailable);
  ui.name.textContent = '';
  ui.name.hidden = true;
  put(ui.time, null);
  put(ui.verdict, null);
  ui.note.replaceChildren(...noteLines([TEXT.unavailableNote]));
}

/**
 * @param {Text[]} notes
 * @returns {HTMLDivElement[]}
 */
function noteLines(notes) {
  return notes.map((note) => {
    const line = document.createElement('div');
    line.className = 'note-line';
    line.replaceChildren(...spans(note));
    return line;
  });
}

/** @param {KioskTap} tap */
function renderTap(tap) {
  const screen = tapScreen(tap, state);
  showing = tap;
  ui.idle.hidden = true;
  ui.result.hidden = false;
  document.body.dataset.screen = screen.screen;
  document.body.dataset.tone = screen.tone;
  document.body.dataset.seq = String(tap.seq);
  setIcon(ui.resultIcon, screen.icon, screen.title);
  put(ui.title, screen.title);
  ui.name.textContent = screen.name ?? '';
  ui.name.hidden = screen.name === null;
  ui.time.textContent = clockText(new Date(tap.at), timeZone());
  ui.time.hidden = false;
  put(ui.verdict, screen.verdict);
  ui.note.replaceChildren(...noteLines(screen.notes));
}

/** @param {KioskTap} tap */
function showTap(tap) {
  renderTap(tap);
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (unavailable) renderUnavailable();
    else renderIdle();
  }, state?.idleMs ?? DEFAULT_IDLE_MS);
}

function connect() {
  const events = new EventSource('/kiosk/events');
  events.addEventListener('open', () => {
    connected = true;
    clearTimeout(unavailableTimer);
    unavailableTimer = undefined;
    if (unavailable) {
      unavailable = false;
      renderIdle();
    }
  });
  events.addEventListener('state', (event) => {
    state = /** @type {KioskState} */ (JSON.parse(event.data));
    renderStatus();
    // The backlog or languages changed under the tap on screen: say it again with them.
    if (showing) renderTap(showing);
    else if (!unavailable) renderIdle();
  });
  events.addEventListener('tap', (event) => {
    showTap(/** @type {KioskTap} */ (JSON.parse(event.data)));
  });
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.OPEN) return;
    connected = false;
    renderStatus();
    // Counted from the first failure: the browser's retries (each another error) do not restart it.
    if (unavailableTimer === undefined && !unavailable) {
      unavailableTimer = setTimeout(() => {
        unavailableTimer = undefined;
        if (connected) return;
        unavailable = true;
        if (!showing) renderUnavailable();
      }, UNAVAILABLE_AFTER_MS);
    }
    // A refused stream (e.g. 503) is not retried by the browser: start again.
    if (events.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  });
}

renderStatus();
put(ui.prompt, TEXT.prompt);
renderClock();
document.body.dataset.screen = 'starting';
setInterval(() => {
  if (!ui.idle.hidden) renderClock();
}, 1000);
connect();
