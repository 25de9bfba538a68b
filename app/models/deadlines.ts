/**
 * The legal calendar, as pure functions of the receipt time (the clock is the caller's).
 *
 * One rule row per regime: GDPR / UK GDPR answer within one calendar month of receipt (received 31 January →
 * the last day of February), moved off a weekend to the next working day; CCPA and the VA/CO/CT-style state laws
 * answer within 45 calendar days and CCPA confirms receipt within 10 business days. Time zones, public holidays and
 * per-type rules (opt-outs, extensions' notice windows) are refined by the customer-intake work; the shape stays.
 */
import type { Regime, RequestType } from "#db/schema/requests.ts";

type Span = { months: number } | { days: number } | { businessDays: number };

type Rule = {
  acknowledge: Span | null;
  respond: Span;
  extension: Span | null;
  /** Whether a deadline landing on a Saturday or Sunday moves to the next Monday. */
  rollOffWeekend: boolean;
};

export const deadlineRules: Record<Regime, Rule> = {
  gdpr: { acknowledge: null, respond: { months: 1 }, extension: { months: 2 }, rollOffWeekend: true },
  uk_gdpr: { acknowledge: null, respond: { months: 1 }, extension: { months: 2 }, rollOffWeekend: true },
  ccpa: { acknowledge: { businessDays: 10 }, respond: { days: 45 }, extension: { days: 45 }, rollOffWeekend: false },
  us_state: { acknowledge: null, respond: { days: 45 }, extension: { days: 45 }, rollOffWeekend: false },
};

const DAY = 86_400_000;

function isWeekend(d: Date) {
  const day = d.getUTCDay();
  return day === 0 || day === 6;
}

/** Calendar-month addition clamped to the month's last day (31 Jan + 1 month = 28/29 Feb). */
export function addCalendarMonths(from: Date, months: number): Date {
  const y = from.getUTCFullYear();
  const m = from.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const d = new Date(from);
  d.setUTCDate(1);
  d.setUTCFullYear(y, m, Math.min(from.getUTCDate(), lastDay));
  return d;
}

function addSpan(from: Date, span: Span): Date {
  if ("months" in span) return addCalendarMonths(from, span.months);
  if ("days" in span) return new Date(from.getTime() + span.days * DAY);
  let d = new Date(from);
  let left = span.businessDays;
  while (left > 0) {
    d = new Date(d.getTime() + DAY);
    if (!isWeekend(d)) left -= 1;
  }
  return d;
}

/** End of that UTC day: a deadline is met when the answer goes out on the due day. */
function endOfDay(d: Date) {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 23, 59, 59, 999));
}

function rollForward(d: Date) {
  let out = d;
  while (isWeekend(out)) out = new Date(out.getTime() + DAY);
  return out;
}

export type Deadlines = { acknowledgeBy: Date | null; dueAt: Date; extendedDueAt: Date | null };

export function computeDeadlines(regime: Regime, _type: RequestType, receivedAt: Date): Deadlines {
  const rule = deadlineRules[regime];
  const finish = (d: Date) => endOfDay(rule.rollOffWeekend ? rollForward(d) : d);
  const extendedSpan: Span | null = rule.extension
    ? "months" in rule.extension && "months" in rule.respond
      ? { months: rule.respond.months + rule.extension.months }
      : "days" in rule.extension && "days" in rule.respond
        ? { days: rule.respond.days + rule.extension.days }
        : null
    : null;
  return {
    acknowledgeBy: rule.acknowledge ? endOfDay(addSpan(receivedAt, rule.acknowledge)) : null,
    dueAt: finish(addSpan(receivedAt, rule.respond)),
    extendedDueAt: extendedSpan ? finish(addSpan(receivedAt, extendedSpan)) : null,
  };
}

/** "5 April 2026" — the date shown to requesters and staff. */
export function formatDueDate(d: Date) {
  return new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(d);
}
