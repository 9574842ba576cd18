import { createRequire } from 'node:module';
import type HolidaysClass from 'date-holidays';
import { z } from 'zod';
import { LocalDate } from './local-time.js';

type HolidaysConstructor = typeof HolidaysClass;
let holidaysModule: HolidaysConstructor | undefined;

/**
 * date-holidays, loaded on first use: it holds every country's rules and costs about 25 MB of
 * memory to load (40 MB once used), which a gateway without pushed schedules should not pay.
 */
function holidaysLibrary(): HolidaysConstructor {
  holidaysModule ??= createRequire(import.meta.url)('date-holidays') as HolidaysConstructor;
  return holidaysModule;
}

/**
 * Public holidays (date-holidays, Hong Kong by default) and which of them are statutory holidays
 * under the Employment Ordinance. Hong Kong has 17 general holidays; the statutory ones, which
 * every employee is entitled to, were 12 and grow to 17 by 2030 (Employment (Amendment)
 * Ordinance 2021): the Birthday of the Buddha from 2022, Easter Monday from 2024, Good Friday from
 * 2026, the day following Good Friday from 2028, the first weekday after Christmas from 2030.
 * Which set an employee gets off is the schedule's `holidays` setting ('general' for office
 * staff, 'statutory' for most shop staff).
 */
export const HolidayEntitlement = z.enum(['general', 'statutory']);
export type HolidayEntitlement = z.infer<typeof HolidayEntitlement>;

export const CompanyHoliday = z
  .object({
    date: LocalDate,
    name: z.string().trim().min(1).max(120),
    nameZh: z.string().trim().min(1).max(120).optional(),
    /** Only these departments get the day off; absent: everyone. */
    departments: z.array(z.string().min(1).max(64)).min(1).optional(),
    /** Counts as a statutory holiday (e.g. the Winter Solstice chosen instead of Christmas Day). */
    statutory: z.boolean().default(false),
  })
  .strict();
export type CompanyHoliday = z.output<typeof CompanyHoliday>;

export const HolidaySettings = z
  .object({
    /** A date-holidays country (and optional state), e.g. "HK". */
    region: z
      .string()
      .regex(/^[A-Z]{2}(?:-[A-Z0-9]{1,3})?$/, 'must be a country code such as HK (optionally with a region, e.g. CN-GD)')
      .refine((region) => region === 'HK' || new (holidaysLibrary())().getCountries()[region.split('-')[0] ?? ''] !== undefined, 'is not a country the holiday calendar knows')
      .default('HK'),
    /** An employer may give the Chinese Winter Solstice as a statutory holiday instead of Christmas Day (add it as a company holiday). */
    christmasIsStatutory: z.boolean().default(true),
    companyHolidays: z.array(CompanyHoliday).max(500).default([]),
  })
  .strict();
export type HolidaySettings = z.output<typeof HolidaySettings>;

export interface Holiday {
  date: string;
  name: string;
  nameZh: string;
  statutory: boolean;
  source: 'public' | 'company';
}

type StatutoryKind = { test: RegExp; from?: number; christmas?: true };

/** Statutory holidays by their English name in date-holidays (substitute days carry the name too). */
const HK_STATUTORY: StatutoryKind[] = [
  { test: /first day of January/i },
  { test: /Lunar New Year/i },
  { test: /Ching Ming/i },
  { test: /day following Good Friday/i, from: 2028 },
  { test: /^(?!.*day following).*Good Friday/i, from: 2026 },
  { test: /Easter Monday/i, from: 2024 },
  { test: /Labour Day/i },
  { test: /Buddha/i, from: 2022 },
  { test: /Tuen Ng/i },
  { test: /Establishment Day/i },
  { test: /Mid-Autumn/i },
  { test: /National Day/i },
  { test: /Chung Yeung/i },
  { test: /first weekday after Christmas/i, from: 2030 },
  { test: /^Christmas Day$/i, christmas: true },
];

function isHongKongStatutory(nameEn: string, year: number, christmasIsStatutory: boolean): boolean {
  const kind = HK_STATUTORY.find((candidate) => candidate.test.test(nameEn));
  if (!kind) return false;
  if (kind.christmas) return christmasIsStatutory;
  return kind.from === undefined || year >= kind.from;
}

/** Holidays by date for the years asked, built once per year. */
export class HolidayCalendar {
  private readonly years = new Map<number, Map<string, Holiday>>();
  private readonly company = new Map<string, CompanyHoliday[]>();
  private calendarInstance: HolidaysClass | undefined;

  constructor(private readonly settings: HolidaySettings) {
    for (const holiday of settings.companyHolidays) {
      const list = this.company.get(holiday.date) ?? [];
      list.push(holiday);
      this.company.set(holiday.date, list);
    }
  }

  /** The public holiday on a date, if any, whoever it applies to. */
  publicHoliday(date: string): Holiday | undefined {
    return this.year(Number(date.slice(0, 4))).get(date);
  }

  /**
   * The holiday that gives this person the day off: a company holiday for their department, or a
   * public holiday their entitlement covers (all of them for 'general', statutory ones for
   * 'statutory'). Undefined: an ordinary day for them.
   */
  dayOff(date: string, who: { department?: string | null; entitlement: HolidayEntitlement }): Holiday | undefined {
    const company = this.company.get(date)?.find((holiday) => !holiday.departments || (who.department != null && holiday.departments.includes(who.department)));
    if (company) return { date, name: company.name, nameZh: company.nameZh ?? company.name, statutory: company.statutory, source: 'company' };
    const holiday = this.publicHoliday(date);
    if (!holiday) return undefined;
    return who.entitlement === 'general' || holiday.statutory ? holiday : undefined;
  }

  private get calendar(): HolidaysClass {
    if (!this.calendarInstance) {
      const Holidays = holidaysLibrary();
      const [country, state] = this.settings.region.split('-');
      this.calendarInstance = state ? new Holidays(country ?? 'HK', state) : new Holidays(country ?? 'HK');
    }
    return this.calendarInstance;
  }

  private year(year: number): Map<string, Holiday> {
    let byDate = this.years.get(year);
    if (byDate) return byDate;
    byDate = new Map();
    const chinese = new Map(this.calendar.getHolidays(year, 'zh').map((holiday) => [holiday.date.slice(0, 10), holiday.name]));
    const hongKong = this.settings.region === 'HK';
    for (const holiday of this.calendar.getHolidays(year, 'en')) {
      if (holiday.type !== 'public') continue;
      const date = holiday.date.slice(0, 10);
      byDate.set(date, {
        date,
        name: holiday.name,
        nameZh: chinese.get(date) ?? holiday.name,
        // Outside Hong Kong every public holiday counts as statutory: the distinction is Hong Kong's.
        statutory: hongKong ? isHongKongStatutory(holiday.name, year, this.settings.christmasIsStatutory) : true,
        source: 'public',
      });
    }
    this.years.set(year, byDate);
    return byDate;
  }
}
