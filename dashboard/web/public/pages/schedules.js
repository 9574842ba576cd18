// @ts-check
/**
 * Shifts, schedules and the company's attendance settings. Everyone with attendance:read sees
 * them; schedules:write adds the editors: a fixed shift (working periods and unpaid breaks) or a
 * flexible one (a start window and the hours required), a weekly schedule (a shift or rest for
 * each weekday) or a rotation (a cycle from an anchor date) for everyone, a department, a rank or
 * one person, and the tolerances (grace, serious late, absent, overtime, make-up review). The
 * server's field errors show under their fields; a shift still in use cannot be deleted (409).
 */
import { ApiError, api, enc, get } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { language, siteName, t } from '../lib/i18n.js';
import { busy, button, confirmDialog, errorText, field, fill, formErrorBox, input, notice, pill, row, section, select, table, toast } from '../lib/ui.js';
import { loadSites } from './devices.js';

/** @typedef {import('../app.js').PageContext} PageContext */

const ENTITY_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const DAYS = /** @type {const} */ (['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

/** @returns {Record<string, string>} */
const dayNames = () => ({
  mon: t('schedules.day.mon'),
  tue: t('schedules.day.tue'),
  wed: t('schedules.day.wed'),
  thu: t('schedules.day.thu'),
  fri: t('schedules.day.fri'),
  sat: t('schedules.day.sat'),
  sun: t('schedules.day.sun'),
});

/** The shift's name in the current language. @param {any} shift */
export const shiftLabel = (shift) => (language() === 'zh-HK' && shift.nameZh ? shift.nameZh : shift.name);

/** @param {any} shift */
function shiftTimes(shift) {
  if (shift.kind === 'flexible') {
    return t('schedules.flexibleSummary', { earliest: shift.earliestStart, latest: shift.latestStart, hours: Math.round((shift.requiredMinutes / 60) * 100) / 100, breakMinutes: shift.breakMinutes ?? 0 });
  }
  const periods = shift.segments.map((/** @type {any} */ segment) => `${segment.start}–${segment.end}`).join(', ');
  const breaks = (shift.breaks ?? []).map((/** @type {any} */ period) => `${period.start}–${period.end}`).join(', ');
  return breaks ? t('schedules.fixedSummaryBreaks', { periods, breaks }) : periods;
}

/** @param {any} target */
function targetText(target) {
  if ('employeeNumber' in target) return t('schedules.target.employeeOf', { value: target.employeeNumber });
  if ('rank' in target) return t('schedules.target.rankOf', { value: target.rank });
  if ('department' in target) return t('schedules.target.departmentOf', { value: target.department });
  return t('schedules.target.everyone');
}

/** @param {any} pattern @param {Map<string, any>} shifts */
function patternText(pattern, shifts) {
  const name = (/** @type {string | null} */ id) => (id === null ? t('schedules.rest') : shifts.has(id) ? shiftLabel(shifts.get(id)) : id);
  if (pattern.kind === 'weekly') {
    const names = dayNames();
    return DAYS.map((day) => `${names[day]} ${name(pattern.days[day])}`).join(' · ');
  }
  return t('schedules.rotationSummary', { anchor: pattern.anchorDate, days: pattern.cycle.length, cycle: pattern.cycle.map(name).join(', ') });
}

/** @param {PageContext} context */
export async function mount(context) {
  const { main } = context;
  const canWrite = context.can('schedules:write');
  const sites = await loadSites();
  const editorBox = h('div', { class: 'editor-box' });
  const shiftsBox = h('div');
  const schedulesBox = h('div');
  const settingsBox = h('div');
  const shiftError = h('div', { class: 'card-notice', dataset: { test: 'shift-error' } });
  const scheduleError = h('div', { class: 'card-notice', dataset: { test: 'schedule-error' } });
  /** @type {any[]} */
  let shifts = [];

  const newButtons = canWrite
    ? h(
        'div',
        { class: 'card-actions' },
        button(t('schedules.newFixed'), { kind: 'primary', test: 'new-fixed-shift', onClick: () => openShift(null, 'fixed') }),
        button(t('schedules.newFlexible'), { test: 'new-flexible-shift', onClick: () => openShift(null, 'flexible') }),
        button(t('schedules.newSchedule'), { kind: 'primary', test: 'new-schedule', onClick: () => openSchedule(null) }),
      )
    : null;
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: t('nav.schedules') }), newButtons),
    canWrite ? null : notice('info', t('schedules.readOnly')),
    editorBox,
    section(t('schedules.shifts'), [shiftError, shiftsBox], { test: 'shifts' }),
    section(t('schedules.schedules'), [scheduleError, schedulesBox], { test: 'schedules' }),
    section(t('schedules.settings'), settingsBox, { test: 'settings' }),
  );

  const closeEditor = () => replace(editorBox);

  const render = async () => {
    await fill(shiftsBox, async () => {
      shifts = (await get('/shifts')).shifts;
      return table(
        [t('schedules.id'), t('schedules.name'), t('schedules.kind'), t('schedules.times'), ''],
        shifts.map((shift) =>
          row(
            [
              h('code', { text: shift.id }),
              h('span', {}, shift.name, shift.nameZh ? h('span', { class: 'hint', lang: 'zh-HK', text: ` ${shift.nameZh}` }) : null),
              shift.kind === 'fixed' ? pill(t('schedules.fixed'), 'info') : pill(t('schedules.flexible'), 'muted'),
              shiftTimes(shift),
              canWrite
                ? h(
                    'div',
                    { class: 'row-actions' },
                    button(t('common.edit'), { kind: 'link', test: 'edit-shift', onClick: () => openShift(shift, shift.kind) }),
                    h('button', { type: 'button', class: 'btn btn-danger', dataset: { test: 'delete-shift', id: shift.id }, text: t('schedules.delete'), on: { click: (/** @type {MouseEvent} */ event) => void removeShift(/** @type {HTMLButtonElement} */ (event.currentTarget), shift) } }),
                  )
                : '',
            ],
            { shift: shift.id },
          ),
        ),
        { empty: t('schedules.noShifts'), test: 'shifts-table' },
      );
    });
    await fill(schedulesBox, async () => {
      const { schedules } = await get('/schedules');
      const byId = new Map(shifts.map((shift) => [shift.id, shift]));
      return table(
        [t('schedules.id'), t('schedules.appliesTo'), t('schedules.pattern'), t('schedules.valid'), t('schedules.site'), t('schedules.holidays'), ''],
        schedules.map((/** @type {any} */ schedule) =>
          row(
            [
              h('code', { text: schedule.id }),
              targetText(schedule.appliesTo),
              h('span', { class: 'pattern' }, patternText(schedule.pattern, byId)),
              schedule.validTo ? t('schedules.validRange', { from: schedule.validFrom, to: schedule.validTo }) : t('schedules.validFromOnly', { from: schedule.validFrom }),
              schedule.siteId ? siteName(sites.find((site) => site.id === schedule.siteId), schedule.siteId) : t('schedules.homeSite'),
              schedule.holidays === 'general' ? t('schedules.holidays.general') : t('schedules.holidays.statutory'),
              canWrite
                ? h(
                    'div',
                    { class: 'row-actions' },
                    button(t('common.edit'), { kind: 'link', test: 'edit-schedule', onClick: () => openSchedule(schedule) }),
                    h('button', { type: 'button', class: 'btn btn-danger', dataset: { test: 'delete-schedule', id: schedule.id }, text: t('schedules.delete'), on: { click: (/** @type {MouseEvent} */ event) => void removeSchedule(/** @type {HTMLButtonElement} */ (event.currentTarget), schedule) } }),
                  )
                : '',
            ],
            { schedule: schedule.id },
          ),
        ),
        { empty: t('schedules.noSchedules'), test: 'schedules-table' },
      );
    });
  };

  /** @param {HTMLButtonElement} trigger @param {any} shift */
  const removeShift = async (trigger, shift) => {
    replace(shiftError);
    if (!(await confirmDialog(t('schedules.deleteShiftConfirm', { name: shiftLabel(shift), id: shift.id }), t('schedules.delete')))) return;
    await busy(trigger, async () => {
      try {
        await api('DELETE', `/shifts/${enc(shift.id)}`);
        toast(t('schedules.shiftDeleted', { id: shift.id }));
        await render();
      } catch (error) {
        const text = error instanceof ApiError && error.status === 409 ? t('schedules.shiftInUse', { detail: error.message }) : errorText(error);
        replace(shiftError, notice('error', text));
      }
    });
  };

  /** @param {HTMLButtonElement} trigger @param {any} schedule */
  const removeSchedule = async (trigger, schedule) => {
    replace(scheduleError);
    if (!(await confirmDialog(t('schedules.deleteScheduleConfirm', { id: schedule.id }), t('schedules.delete')))) return;
    await busy(trigger, async () => {
      try {
        await api('DELETE', `/schedules/${enc(schedule.id)}`);
        toast(t('schedules.scheduleDeleted', { id: schedule.id }));
        await render();
      } catch (error) {
        replace(scheduleError, notice('error', errorText(error)));
      }
    });
  };

  /** @param {any | null} shift @param {'fixed' | 'flexible'} kind */
  const openShift = (shift, kind) => {
    replace(editorBox, shiftEditor(shift, kind, closeEditor, async () => {
      closeEditor();
      await render();
    }));
    editorBox.scrollIntoView({ block: 'start' });
    /** @type {HTMLInputElement | null} */ (editorBox.querySelector('input:not([readonly])'))?.focus();
  };

  /** @param {any | null} schedule */
  const openSchedule = (schedule) => {
    replace(editorBox, scheduleEditor(schedule, shifts, sites, closeEditor, async () => {
      closeEditor();
      await render();
    }));
    editorBox.scrollIntoView({ block: 'start' });
    /** @type {HTMLInputElement | null} */ (editorBox.querySelector('input:not([readonly])'))?.focus();
  };

  await render();
  await fill(settingsBox, async () => settingsForm((await get('/attendance/settings')).settings, canWrite));
}

/**
 * A list of time periods (start–end), at most `max`, each row named `${name}.${index}` so that
 * the server's issues (`segments.1.end`) land under their inputs.
 * @param {string} name
 * @param {Array<{start: string, end: string}>} initial
 * @param {{max: number, min: number, legend: string, add: string, hint?: string}} options
 */
function periodList(name, initial, options) {
  const rows = h('div', { class: 'periods' });
  const add = button(options.add, { test: `add-${name}`, onClick: () => addRow({ start: '', end: '' }) });
  const renumber = () => {
    Array.from(rows.children).forEach((element, index) => {
      const rowElement = /** @type {HTMLElement} */ (element);
      rowElement.dataset.field = `${name}.${index}`;
      const [startField, endField] = Array.from(rowElement.querySelectorAll('.field'));
      if (startField instanceof HTMLElement) startField.dataset.field = `${name}.${index}.start`;
      if (endField instanceof HTMLElement) endField.dataset.field = `${name}.${index}.end`;
    });
    add.hidden = rows.children.length >= options.max;
    for (const remove of Array.from(rows.querySelectorAll('[data-test="remove-period"]'))) /** @type {HTMLButtonElement} */ (remove).disabled = rows.children.length <= options.min;
  };
  /** @param {{start: string, end: string}} period */
  const addRow = (period) => {
    const start = input('start', { type: 'time', value: period.start, required: true });
    start.dataset.test = `${name}-start`;
    const end = input('end', { type: 'time', value: period.end, required: true });
    end.dataset.test = `${name}-end`;
    // The row's own error first (an issue about the whole period, `breaks.0`, lands there), shown below the inputs.
    const rowElement = h(
      'div',
      { class: 'period-row' },
      h('div', { class: 'field-error', role: 'alert' }),
      field(t('schedules.start'), start),
      field(t('schedules.end'), end),
      button(t('common.remove'), {
        kind: 'link',
        test: 'remove-period',
        onClick: () => {
          rowElement.remove();
          renumber();
        },
      }),
    );
    rows.append(rowElement);
    renumber();
  };
  for (const period of initial) addRow(period);
  const element = h('fieldset', { dataset: { field: name, test: `${name}-list` } }, h('legend', { text: options.legend }), options.hint ? h('p', { class: 'hint', text: options.hint }) : null, rows, add, h('div', { class: 'field-error', role: 'alert' }));
  renumber();
  return {
    element,
    /** @returns {Array<{start: string, end: string}>} */
    values: () =>
      Array.from(rows.children).map((rowElement) => {
        const [start, end] = Array.from(rowElement.querySelectorAll('input'));
        return { start: start?.value ?? '', end: end?.value ?? '' };
      }),
  };
}

/** A number from a form value: empty stays empty (null), so the server names the field. @param {unknown} value */
const numberOrNull = (value) => (String(value ?? '').trim() === '' ? null : Number(value));

/**
 * The shift editor: create (shift null) or edit.
 * @param {any | null} shift
 * @param {'fixed' | 'flexible'} kind
 * @param {() => void} close
 * @param {() => Promise<void>} saved
 */
function shiftEditor(shift, kind, close, saved) {
  const id = input('id', { value: shift?.id ?? '', readonly: Boolean(shift), required: true, autocomplete: 'off', placeholder: kind === 'fixed' ? 'day' : 'office-flex', spellcheck: 'false' });
  id.dataset.test = 'shift-id';
  const name = input('name', { value: shift?.name ?? '', required: true, placeholder: kind === 'fixed' ? 'Day' : 'Office flexi' });
  name.dataset.test = 'shift-name';
  const nameZh = input('nameZh', { value: shift?.nameZh ?? '', lang: 'zh-HK', placeholder: kind === 'fixed' ? '日更' : '彈性上班' });
  nameZh.dataset.test = 'shift-name-zh';
  const segments = periodList('segments', shift?.segments ?? [{ start: '09:00', end: '18:00' }], { min: 1, max: 4, legend: t('schedules.segments'), add: t('schedules.addSegment'), hint: t('schedules.segmentsHint') });
  const breaks = periodList('breaks', shift?.breaks ?? [], { min: 0, max: 4, legend: t('schedules.breaks'), add: t('schedules.addBreak'), hint: t('schedules.breaksHint') });
  const earliest = input('earliestStart', { type: 'time', value: shift?.earliestStart ?? '08:00', required: true });
  const latest = input('latestStart', { type: 'time', value: shift?.latestStart ?? '10:00', required: true });
  const required = input('requiredMinutes', { type: 'number', min: 1, max: 1440, step: '1', inputmode: 'numeric', value: shift?.requiredMinutes ?? 480 });
  const breakMinutes = input('breakMinutes', { type: 'number', min: 0, max: 480, step: '1', inputmode: 'numeric', value: shift?.breakMinutes ?? 60 });
  const form = h(
    'form',
    { class: 'form', dataset: { test: 'shift-form', kind }, novalidate: '' },
    formErrorBox(),
    h(
      'div',
      { class: 'grid-3' },
      field(t('schedules.id'), id, { name: 'id', hint: t('schedules.idHint') }),
      field(t('schedules.nameEn'), name, { name: 'name' }),
      field(t('schedules.nameZh'), nameZh, { name: 'nameZh' }),
    ),
    kind === 'fixed'
      ? h('div', { class: 'columns' }, segments.element, breaks.element)
      : h(
          'div',
          { class: 'grid-2' },
          field(t('schedules.earliestStart'), earliest, { name: 'earliestStart', hint: t('schedules.earliestHint') }),
          field(t('schedules.latestStart'), latest, { name: 'latestStart', hint: t('schedules.latestHint') }),
          field(t('schedules.requiredMinutes'), required, { name: 'requiredMinutes', hint: t('schedules.requiredHint') }),
          field(t('schedules.breakMinutes'), breakMinutes, { name: 'breakMinutes' }),
        ),
    h('div', { class: 'form-actions' }, button(t('common.save'), { kind: 'primary', type: 'submit', test: 'save-shift' }), button(t('common.cancel'), { onClick: close })),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        const shiftId = id.value.trim();
        if (!ENTITY_ID.test(shiftId)) throw new ApiError(400, { error: t('schedules.checkFields'), issues: [{ in: 'params', field: 'id', message: t('schedules.idHint') }] });
        const names = { name: name.value.trim(), ...(nameZh.value.trim() ? { nameZh: nameZh.value.trim() } : {}) };
        const body =
          kind === 'fixed'
            ? { ...names, kind, segments: segments.values(), breaks: breaks.values() }
            : { ...names, kind, earliestStart: earliest.value, latestStart: latest.value, requiredMinutes: numberOrNull(required.value), breakMinutes: numberOrNull(breakMinutes.value) ?? 0 };
        await api('PUT', `/shifts/${enc(shiftId)}`, body);
        toast(t('schedules.shiftSaved', { id: shiftId }));
        await saved();
      },
      form,
    );
  });
  return section(shift ? t('schedules.editShift', { id: shift.id }) : kind === 'fixed' ? t('schedules.newFixed') : t('schedules.newFlexible'), form, { test: 'shift-editor' });
}

/**
 * The schedule editor: who, which pattern (weekly or rotation), from when, where, which holidays.
 * @param {any | null} schedule
 * @param {any[]} shifts
 * @param {any[]} sites
 * @param {() => void} close
 * @param {() => Promise<void>} saved
 */
function scheduleEditor(schedule, shifts, sites, close, saved) {
  /** @type {Array<[string, string]>} */
  const shiftChoices = [['', t('schedules.rest')], ...shifts.map((shift) => /** @type {[string, string]} */ ([shift.id, `${shiftLabel(shift)} (${shiftTimes(shift)})`]))];
  const target = schedule?.appliesTo ?? { everyone: true };
  const targetKind = 'employeeNumber' in target ? 'employeeNumber' : 'rank' in target ? 'rank' : 'department' in target ? 'department' : 'everyone';
  const id = input('id', { value: schedule?.id ?? '', readonly: Boolean(schedule), required: true, autocomplete: 'off', placeholder: 'retail-weekly', spellcheck: 'false' });
  id.dataset.test = 'schedule-id';
  const targetSelect = select(
    'targetKind',
    [
      ['everyone', t('schedules.target.everyone')],
      ['department', t('schedules.target.department')],
      ['rank', t('schedules.target.rank')],
      ['employeeNumber', t('schedules.target.employee')],
    ],
    targetKind,
  );
  targetSelect.dataset.test = 'schedule-target';
  const targetValue = input('targetValue', { value: targetKind === 'everyone' ? '' : target[targetKind], autocomplete: 'off' });
  targetValue.dataset.test = 'schedule-target-value';
  const targetValueField = field(t('schedules.targetValue'), targetValue, { name: 'appliesTo' });
  const showTarget = () => {
    targetValueField.hidden = targetSelect.value === 'everyone';
    const label = targetValueField.querySelector('label');
    if (label) label.textContent = targetSelect.value === 'department' ? t('schedules.target.department') : targetSelect.value === 'rank' ? t('schedules.target.rank') : t('schedules.target.employee');
  };
  targetSelect.addEventListener('change', showTarget);

  const pattern = schedule?.pattern ?? { kind: 'weekly', days: { mon: null, tue: null, wed: null, thu: null, fri: null, sat: null, sun: null } };
  const patternSelect = select(
    'patternKind',
    [
      ['weekly', t('schedules.weekly')],
      ['rotation', t('schedules.rotation')],
    ],
    pattern.kind,
  );
  patternSelect.dataset.test = 'schedule-pattern';
  const names = dayNames();
  const weekly = h(
    'fieldset',
    { dataset: { field: 'pattern.days', test: 'weekly-days' } },
    h('legend', { text: t('schedules.weeklyLegend') }),
    h(
      'div',
      { class: 'week-grid' },
      DAYS.map((day) => {
        const control = select(`day-${day}`, shiftChoices, pattern.kind === 'weekly' ? (pattern.days[day] ?? '') : '');
        control.dataset.test = `day-${day}`;
        return field(names[day] ?? day, control, { name: `pattern.days.${day}` });
      }),
    ),
    h('div', { class: 'field-error', role: 'alert' }),
  );
  const anchor = input('anchorDate', { type: 'date', value: pattern.kind === 'rotation' ? pattern.anchorDate : '' });
  anchor.dataset.test = 'rotation-anchor';
  const cycleRows = h('ol', { class: 'cycle' });
  const renumberCycle = () => {
    Array.from(cycleRows.children).forEach((element, index) => {
      const item = /** @type {HTMLElement} */ (element);
      item.dataset.field = `pattern.cycle.${index}`;
      const label = item.querySelector('label');
      if (label) label.textContent = t('schedules.cycleDay', { n: index + 1 });
    });
  };
  /** @param {string | null} shiftId */
  const addCycleDay = (shiftId) => {
    const control = select('cycle', shiftChoices, shiftId ?? '');
    control.dataset.test = 'cycle-day';
    const item = h('li', { class: 'field cycle-day' }, h('label', {}), h('div', { class: 'cycle-row' }, control, button(t('common.remove'), { kind: 'link', test: 'remove-cycle-day', onClick: () => (item.remove(), renumberCycle()) })), h('div', { class: 'field-error', role: 'alert' }));
    const label = item.querySelector('label');
    control.id = `cycle-${Math.random().toString(36).slice(2, 9)}`;
    label?.setAttribute('for', control.id);
    cycleRows.append(item);
    renumberCycle();
  };
  for (const shiftId of pattern.kind === 'rotation' ? pattern.cycle : [shifts[0]?.id ?? null, null]) addCycleDay(shiftId);
  const rotation = h(
    'fieldset',
    { dataset: { field: 'pattern.cycle', test: 'rotation' } },
    h('legend', { text: t('schedules.rotationLegend') }),
    h('p', { class: 'hint', text: t('schedules.rotationHint') }),
    field(t('schedules.anchorDate'), anchor, { name: 'pattern.anchorDate' }),
    cycleRows,
    button(t('schedules.addCycleDay'), { test: 'add-cycle-day', onClick: () => addCycleDay(null) }),
    h('div', { class: 'field-error', role: 'alert' }),
  );
  const showPattern = () => {
    weekly.hidden = patternSelect.value !== 'weekly';
    rotation.hidden = patternSelect.value !== 'rotation';
  };
  patternSelect.addEventListener('change', showPattern);

  const validFrom = input('validFrom', { type: 'date', value: schedule?.validFrom ?? '', required: true });
  validFrom.dataset.test = 'schedule-valid-from';
  const validTo = input('validTo', { type: 'date', value: schedule?.validTo ?? '' });
  const siteSelect = select('siteId', [['', t('schedules.homeSite')], ...sites.map((site) => /** @type {[string, string]} */ ([site.id, siteName(site)]))], schedule?.siteId ?? '');
  const holidays = select(
    'holidays',
    [
      ['statutory', t('schedules.holidays.statutory')],
      ['general', t('schedules.holidays.general')],
    ],
    schedule?.holidays ?? 'statutory',
  );
  holidays.dataset.test = 'schedule-holidays';

  const form = h(
    'form',
    { class: 'form', dataset: { test: 'schedule-form' }, novalidate: '' },
    formErrorBox(),
    h('div', { class: 'grid-3' }, field(t('schedules.id'), id, { name: 'id', hint: t('schedules.idHint') }), field(t('schedules.appliesTo'), targetSelect, { name: 'appliesTo' }), targetValueField),
    h('div', { class: 'grid-3' }, field(t('schedules.pattern'), patternSelect, { name: 'pattern' }), field(t('schedules.validFrom'), validFrom, { name: 'validFrom' }), field(t('schedules.validTo'), validTo, { name: 'validTo', hint: t('schedules.validToHint') })),
    weekly,
    rotation,
    h('div', { class: 'grid-2' }, field(t('schedules.site'), siteSelect, { name: 'siteId', hint: t('schedules.siteHint') }), field(t('schedules.holidays'), holidays, { name: 'holidays', hint: t('schedules.holidaysHint') })),
    h('div', { class: 'form-actions' }, button(t('common.save'), { kind: 'primary', type: 'submit', test: 'save-schedule' }), button(t('common.cancel'), { onClick: close })),
  );
  showTarget();
  showPattern();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        const scheduleId = id.value.trim();
        const values = /** @type {Record<string, string>} */ (formValues(form));
        const issues = [];
        if (!ENTITY_ID.test(scheduleId)) issues.push({ in: 'params', field: 'id', message: t('schedules.idHint') });
        if (targetSelect.value !== 'everyone' && !targetValue.value.trim()) issues.push({ in: 'body', field: 'appliesTo', message: t('schedules.targetNeeded') });
        if (issues.length > 0) throw new ApiError(400, { error: t('schedules.checkFields'), issues });
        const appliesTo = targetSelect.value === 'everyone' ? { everyone: true } : { [targetSelect.value]: targetValue.value.trim() };
        const body = {
          appliesTo,
          pattern:
            patternSelect.value === 'weekly'
              ? { kind: 'weekly', days: Object.fromEntries(DAYS.map((day) => [day, values[`day-${day}`] || null])) }
              : { kind: 'rotation', anchorDate: anchor.value, cycle: Array.from(cycleRows.querySelectorAll('select')).map((control) => control.value || null) },
          validFrom: validFrom.value,
          validTo: validTo.value || null,
          siteId: siteSelect.value || null,
          holidays: holidays.value,
        };
        await api('PUT', `/schedules/${enc(scheduleId)}`, body);
        toast(t('schedules.scheduleSaved', { id: scheduleId }));
        await saved();
      },
      form,
    );
  });
  return section(schedule ? t('schedules.editSchedule', { id: schedule.id }) : t('schedules.newSchedule'), form, { test: 'schedule-editor' });
}

/**
 * The company's tolerances: the ones HR changes most, the rest of the document kept as it is.
 * @param {any} settings
 * @param {boolean} canWrite
 */
function settingsForm(settings, canWrite) {
  /** @param {string} name @param {number | null} value @param {{min: number, max: number}} range */
  const numberInput = (name, value, range) => {
    const control = input(name, { type: 'number', value, min: range.min, max: range.max, step: '1', inputmode: 'numeric' });
    control.dataset.test = `setting-${name}`;
    return control;
  };
  const rules = settings.rules ?? {};
  const makeup = settings.makeup ?? {};
  const form = h(
    'form',
    { class: 'form', dataset: { test: 'settings-form' }, novalidate: '' },
    formErrorBox(),
    h(
      'fieldset',
      { disabled: !canWrite },
      h('legend', { text: t('schedules.settings.rules') }),
      h(
        'div',
        { class: 'grid-3' },
        field(t('schedules.settings.grace'), numberInput('rules.lateGraceMinutes', rules.lateGraceMinutes ?? 0, { min: 0, max: 240 }), { name: 'rules.lateGraceMinutes', hint: t('schedules.settings.graceHint') }),
        field(t('schedules.settings.earlyGrace'), numberInput('rules.earlyLeaveGraceMinutes', rules.earlyLeaveGraceMinutes ?? 0, { min: 0, max: 240 }), { name: 'rules.earlyLeaveGraceMinutes' }),
        field(t('schedules.settings.seriousLate'), numberInput('rules.seriousLateMinutes', rules.seriousLateMinutes ?? 30, { min: 1, max: 1440 }), { name: 'rules.seriousLateMinutes', hint: t('schedules.settings.seriousLateHint') }),
        field(t('schedules.settings.absentIfLate'), numberInput('rules.absentIfLateMinutes', rules.absentIfLateMinutes ?? null, { min: 1, max: 1440 }), { name: 'rules.absentIfLateMinutes', hint: t('schedules.settings.absentIfLateHint') }),
        field(t('schedules.settings.overtimeMinimum'), numberInput('rules.overtime.minimumMinutes', rules.overtime?.minimumMinutes ?? 30, { min: 0, max: 600 }), { name: 'rules.overtime.minimumMinutes', hint: t('schedules.settings.overtimeHint') }),
      ),
    ),
    h(
      'fieldset',
      { disabled: !canWrite },
      h('legend', { text: t('schedules.settings.makeup') }),
      h(
        'div',
        { class: 'grid-2' },
        field(t('schedules.settings.perMonth'), numberInput('makeup.hrReviewAfterPerMonth', makeup.hrReviewAfterPerMonth ?? 2, { min: 0, max: 31 }), { name: 'makeup.hrReviewAfterPerMonth', hint: t('schedules.settings.perMonthHint') }),
        field(t('schedules.settings.daysBack'), numberInput('makeup.hrReviewAfterDays', makeup.hrReviewAfterDays ?? 7, { min: 0, max: 366 }), { name: 'makeup.hrReviewAfterDays', hint: t('schedules.settings.daysBackHint') }),
      ),
    ),
    canWrite ? h('div', { class: 'form-actions' }, button(t('common.save'), { kind: 'primary', type: 'submit', test: 'save-settings' })) : null,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(
      /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')),
      async () => {
        const values = formValues(form);
        const number = (/** @type {string} */ name) => numberOrNull(values[name]);
        const rules = settings.rules ?? {};
        const makeup = settings.makeup ?? {};
        const body = {
          ...settings,
          rules: {
            ...rules,
            lateGraceMinutes: number('rules.lateGraceMinutes'),
            earlyLeaveGraceMinutes: number('rules.earlyLeaveGraceMinutes'),
            seriousLateMinutes: number('rules.seriousLateMinutes'),
            absentIfLateMinutes: number('rules.absentIfLateMinutes'),
            overtime: { ...(rules.overtime ?? {}), minimumMinutes: number('rules.overtime.minimumMinutes') },
          },
          makeup: { ...makeup, hrReviewAfterPerMonth: number('makeup.hrReviewAfterPerMonth'), hrReviewAfterDays: number('makeup.hrReviewAfterDays') },
        };
        const answer = await api('PUT', '/attendance/settings', body);
        Object.assign(settings, answer.settings);
        toast(t('schedules.settings.saved'));
      },
      form,
    );
  });
  return form;
}
