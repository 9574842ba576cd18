import type { Logger } from 'pino';
import type { BilingualText, Language } from '../report-table.js';

/** Which language the headers and labels are in; 'both' puts English then Chinese: "Employee no. 員工編號". */
export type ExportLanguage = Language | 'both';

export interface ExportOptions {
  language: ExportLanguage;
  /** Told when an export finishes or fails; the writers never print. */
  logger?: Logger;
}

/** The text of a bilingual label in the chosen language. */
export function pickText(text: BilingualText, language: ExportLanguage): string {
  if (language === 'en') return text.en;
  if (language === 'zh-HK') return text.zh;
  // A label that is the same in both (a code, "HH:MM") is not said twice.
  return text.en === text.zh ? text.en : `${text.en} ${text.zh}`;
}
