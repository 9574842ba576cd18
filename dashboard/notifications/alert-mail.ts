import type { AlertEvent, AlertKind } from './alert-event.js';

/**
 * The e-mail of an alert, in English and Traditional Chinese (Hong Kong): one subject carrying
 * both, one plain-text body with the English part first. Times are shown in the site's time zone.
 */

export interface AlertMail {
  subject: string;
  text: string;
}

const kindNames: Readonly<Record<AlertKind, { en: string; zh: string }>> = {
  late: { en: 'Late arrival', zh: '遲到' },
  'serious-late': { en: 'Serious late arrival', zh: '嚴重遲到' },
  'early-leave': { en: 'Early leave', zh: '早退' },
  'missed-punch': { en: 'Missed punch', zh: '缺卡' },
  absence: { en: 'Absence', zh: '曠工' },
  'shift-reminder': { en: 'Shift reminder', zh: '上班提醒' },
  'punch-on-leave': { en: 'Punch while on leave', zh: '假期內打卡' },
};

const sentences: Readonly<Record<AlertKind, { en: (who: string) => string; zh: (who: string) => string }>> = {
  late: { en: (who) => `${who} arrived late.`, zh: (who) => `${who}遲到。` },
  'serious-late': { en: (who) => `${who} arrived seriously late.`, zh: (who) => `${who}嚴重遲到。` },
  'early-leave': { en: (who) => `${who} left before the end of the shift.`, zh: (who) => `${who}在更表結束前離開。` },
  'missed-punch': { en: (who) => `${who} has a missing punch.`, zh: (who) => `${who}有一次缺卡。` },
  absence: { en: (who) => `${who} did not come to work.`, zh: (who) => `${who}曠工（沒有上班打卡）。` },
  'shift-reminder': { en: (who) => `Reminder for ${who}: your shift starts soon.`, zh: (who) => `${who}，你的更期即將開始。` },
  'punch-on-leave': { en: (who) => `${who} punched on a day of leave.`, zh: (who) => `${who}在休假日打卡。` },
};

export function kindName(kind: AlertKind): { en: string; zh: string } {
  return kindNames[kind];
}

function localTime(iso: string, timeZone: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).format(new Date(iso));
}

export function renderAlertMail(event: AlertEvent, timeZone: string): AlertMail {
  const { employee } = event;
  const names = kindNames[event.kind];
  const whoEn = `${employee.name} (${employee.employeeNumber})`;
  const whoZh = `${employee.nameZh ?? employee.name}（${employee.employeeNumber}）`;
  const day = event.workDate ? ` ${event.workDate}` : '';
  const subject = `[punchgate] ${names.en} ${names.zh}: ${employee.name}${employee.nameZh ? ` ${employee.nameZh}` : ''} (${employee.employeeNumber})${day}`;
  const details = Object.entries(event.details).map(([name, value]) => `  ${name}: ${value === null ? '-' : String(value)}`);
  const site = event.siteId ? [`Site: ${event.siteId}`] : [];
  const siteZh = event.siteId ? [`地點：${event.siteId}`] : [];
  const text = [
    sentences[event.kind].en(whoEn),
    '',
    `Time: ${localTime(event.occurredAt, timeZone, 'en-GB')}`,
    ...(event.workDate ? [`Work day: ${event.workDate}`] : []),
    ...site,
    ...(details.length ? ['Details:', ...details] : []),
    '',
    '---',
    '',
    sentences[event.kind].zh(whoZh),
    '',
    `時間：${localTime(event.occurredAt, timeZone, 'zh-HK')}`,
    ...(event.workDate ? [`工作日：${event.workDate}`] : []),
    ...siteZh,
    ...(details.length ? ['詳情：', ...details] : []),
    '',
    '-- ',
    `punchgate · ${event.key}`,
    '',
  ].join('\n');
  return { subject, text };
}
