/**
 * Working days: Monday to Friday, except the organisation's configured holidays (civil dates, see ORG_HOLIDAYS).
 * The weekend is Saturday and Sunday for every regime the portal knows (EU, UK, US).
 */
import { type Day, parseIsoDay, weekdayOf } from "./civil-date.ts";

export type Holidays = ReadonlySet<Day>;

export const noHolidays: Holidays = new Set();

export function isWeekend(day: Day) {
  const w = weekdayOf(day);
  return w === 0 || w === 6;
}

export function isWorkingDay(day: Day, holidays: Holidays = noHolidays) {
  return !isWeekend(day) && !holidays.has(day);
}

/** `day` itself when it is a working day, else the next one. */
export function nextWorkingDay(day: Day, holidays: Holidays = noHolidays): Day {
  let d = day;
  while (!isWorkingDay(d, holidays)) d += 1;
  return d;
}

/**
 * The day on which `count` working days have passed after `day` (the day itself does not count, whether or not
 * it is a working day): Friday + 1 = Monday; Saturday + 1 = Monday; Monday + 10 = the Monday two weeks later.
 */
export function addWorkingDays(day: Day, count: number, holidays: Holidays = noHolidays): Day {
  if (!Number.isInteger(count) || count < 0) throw new RangeError("count must be a whole number ≥ 0");
  let d = day;
  for (let left = count; left > 0; ) {
    d += 1;
    if (isWorkingDay(d, holidays)) left -= 1;
  }
  return d;
}

/** Working days in (from, to]: how many `addWorkingDays` steps lie between two days. */
export function workingDaysBetween(from: Day, to: Day, holidays: Holidays = noHolidays) {
  let n = 0;
  for (let d = from + 1; d <= to; d++) if (isWorkingDay(d, holidays)) n += 1;
  return n;
}

export class HolidayListError extends RangeError {
  constructor(public readonly entry: string) {
    super(`"${entry}" is not a real date of the form YYYY-MM-DD`);
    this.name = "HolidayListError";
  }
}

/**
 * Holidays from `2026-12-25,2026-12-26` (spaces and empty entries ignored) or from a list of such strings.
 * Throws HolidayListError naming the first entry that is not a real YYYY-MM-DD date.
 */
export function parseHolidays(input: string | Iterable<string>): Holidays {
  const entries = typeof input === "string" ? input.split(",") : [...input];
  const days = new Set<Day>();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === "") continue;
    const day = parseIsoDay(entry);
    if (day === null) throw new HolidayListError(entry);
    days.add(day);
  }
  return days;
}
