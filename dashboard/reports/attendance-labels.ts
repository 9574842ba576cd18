import type { DayFlag, DayStatus } from '../../core/attendance/index.js';
import type { BilingualText } from './report-table.js';

/** Day statuses as HR reads them, in both languages (DingTalk's terms in Hong Kong usage). */
export const STATUS_TEXT: Record<DayStatus, BilingualText> = {
  Normal: { en: 'Normal', zh: '正常' },
  Late: { en: 'Late', zh: '遲到' },
  SeriousLate: { en: 'Seriously late', zh: '嚴重遲到' },
  Early: { en: 'Left early', zh: '早退' },
  Absenteeism: { en: 'Absent', zh: '曠工' },
  NotSigned: { en: 'Missed punch', zh: '缺卡' },
  OnLeave: { en: 'On leave', zh: '休假' },
  Holiday: { en: 'Holiday', zh: '假期' },
  Rest: { en: 'Rest day', zh: '休息日' },
  Unscheduled: { en: 'Not scheduled', zh: '未排班' },
  Pending: { en: 'In progress', zh: '進行中' },
};

export const FLAG_TEXT: Record<DayFlag, BilingualText> = {
  UnsyncedClock: { en: 'clock not synced', zh: '時鐘未同步' },
  CorrectedClock: { en: 'clock corrected', zh: '時間已校正' },
  ManualPunch: { en: 'make-up punch', zh: '補卡' },
  DuplicatePunch: { en: 'double tap', zh: '重複拍卡' },
  StrayPunch: { en: 'punch outside shift', zh: '班次外打卡' },
  PunchOnLeave: { en: 'punch on leave day', zh: '假期內打卡' },
  WorkedOnRestDay: { en: 'worked on rest day', zh: '休息日上班' },
  WorkedOnHoliday: { en: 'worked on holiday', zh: '假期上班' },
  OutsideLocation: { en: 'outside location', zh: '不在工作地點' },
};

export function textIn(text: BilingualText, language: 'en' | 'zh-HK' | 'both'): string {
  return language === 'en' ? text.en : language === 'zh-HK' ? text.zh : `${text.en} ${text.zh}`;
}
