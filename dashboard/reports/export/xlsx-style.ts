import type { Fill, Font } from 'exceljs';
import type { RowEmphasis } from '../report-table.js';

/**
 * Light fills that still print as distinct greys. They only repeat what the row's status text says
 * (a builder puts "Late", "Missing punch" in a cell): colour is never the only sign.
 */
const EMPHASIS_FILL: Record<Exclude<RowEmphasis, 'normal'>, string> = {
  exception: 'FFF4C7C3',
  warning: 'FFFFF2CC',
};

export function emphasisFill(emphasis: RowEmphasis | undefined): Fill | undefined {
  if (emphasis === undefined || emphasis === 'normal') return undefined;
  return { type: 'pattern', pattern: 'solid', fgColor: { argb: EMPHASIS_FILL[emphasis] } };
}

/** An exception row is also bold, so it stands out on a black-and-white print or to a colour-blind reader. */
export function emphasisFont(emphasis: RowEmphasis | undefined): Partial<Font> | undefined {
  return emphasis === 'exception' ? { bold: true } : undefined;
}

export const HEADER_FILL: Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE7E6E6' } };
export const HEADER_FONT: Partial<Font> = { bold: true };
export const TITLE_FONT: Partial<Font> = { bold: true, size: 14 };
