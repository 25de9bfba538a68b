/**
 * Civil dates — a day on the wall calendar, with no time and no zone — as whole day numbers counted from
 * 1970-01-01 (proleptic Gregorian). Arithmetic on them is integer arithmetic; `Date` is used only as a calendar
 * table (UTC fields), never as a clock.
 */

/** Days since 1970-01-01 (day 0, a Thursday). */
export type Day = number;

export const MS_PER_DAY = 86_400_000;

export type DateParts = { year: number; month: number; day: number };

/** The day number of a calendar date; `month` is 1-based. Out-of-range fields roll over like `Date.UTC` does. */
export function dayFromParts(year: number, month: number, day: number): Day {
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  d.setUTCFullYear(year, month - 1, day);
  return Math.round(d.getTime() / MS_PER_DAY);
}

export function partsOfDay(day: Day): DateParts {
  const d = new Date(day * MS_PER_DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** `YYYY-MM-DD` (years 0–9999). */
export function isoOfDay(day: Day): string {
  const p = partsOfDay(day);
  return `${String(p.year).padStart(4, "0")}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

/** Parses a strict `YYYY-MM-DD` that names a real date (no 30 February); anything else → null. */
export function parseIsoDay(text: string): Day | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return dayFromParts(year, month, day);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(day: Day): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function isLeapYear(year: number) {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number) {
  return month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * The same day-of-month `months` calendar months later; when that month is shorter, its last day
 * (31 January + 1 month = 28 or 29 February; 29 February 2024 + 12 months = 28 February 2025).
 */
export function addMonths(day: Day, months: number): Day {
  const p = partsOfDay(day);
  const index = p.year * 12 + (p.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = index - year * 12 + 1;
  return dayFromParts(year, month, Math.min(p.day, daysInMonth(year, month)));
}
