/**
 * The legal calendar: one rule row per (regime, request type), and pure functions of the receipt instant (the clock
 * is the caller's). Every deadline is a civil DATE in the organisation's time zone; as an instant it is the end of
 * that local day (23:59:59.999 there). Sources, choices and consequences: docs/decisions/007-legal-calendar.md.
 *
 * Adding a regime is adding a row to `deadlineRules` (and the enum value to the schema), not writing code.
 * This module is isomorphic (no Node or DB imports): the default zone and holidays are read from
 * `process.env` (ORG_TIMEZONE, ORG_HOLIDAYS — validated at boot by env.server.ts) only when the caller passes none.
 */
import type { AccessScope, Regime, RequestType } from "#db/schema/requests.ts";
import { type Day, addMonths } from "./calendar/civil-date.ts";
import { type Holidays, addWorkingDays, nextWorkingDay, noHolidays, parseHolidays } from "./calendar/working-days.ts";
import { canonicalTimeZone, endOfDay, formatZonedIso, localDay } from "./calendar/zone.ts";

export { formatZonedIso } from "./calendar/zone.ts";

/** A period counted from the day of receipt (the receipt day itself is day 0). */
export type Period =
  /** Same day-of-month that many calendar months later, or that month's last day when it is shorter. */
  | { months: number }
  /** Calendar days. */
  | { days: number }
  /** Working days (Mon–Fri, not a configured holiday) after the day of receipt. */
  | { businessDays: number };

/**
 * How sure the portal must be of the requester: 0 = nothing (act on the request as made), 1 = controls the email
 * address, 2 = email + matching data points to a reasonable degree of certainty, 3 = a reasonably high degree of
 * certainty (more matching data points and a signed declaration).
 */
export type Verification = {
  level: number;
  /** Access requests whose level depends on what is asked (CCPA: categories vs specific pieces). */
  byAccessScope?: Readonly<Record<AccessScope, number>>;
  note: string;
};

export type DeadlineRule = {
  /** False when the regime has no such right: the portal answers it voluntarily on the regime's general timetable. */
  statutory: boolean;
  /** Confirm receipt by …; null when the law sets no acknowledgement deadline. */
  acknowledge: Period | null;
  /** Respond by … */
  respond: Period;
  /**
   * The one extension the law allows: `length` more, i.e. `total` counted from receipt, notified (with reasons)
   * no later than the original due date. Null when there is none.
   */
  extension: { length: Period; total: Period; noticeBy: "dueAt" } | null;
  /** Response and extended deadlines on a weekend or configured holiday move to the next working day. */
  rollToWorkingDay: boolean;
  verification: Verification;
  /** How far back an access answer must reach by default; null = all the personal data held. */
  lookBack: { months: number; note: string } | null;
  sources: readonly string[];
};

// ---------------------------------------------------------------------------------------------------------------
// The table. Shared fragments keep it readable; every cell stays data.

const GDPR_SOURCES = [
  "GDPR Art. 12(3)–(4)",
  "Regulation (EEC, Euratom) No 1182/71 Art. 3 (periods in months; a last day on a Saturday, Sunday or holiday)",
  "ICO guidance on time limits (the receipt day counts; corresponding date or month end; next working day)",
];
const UK_GDPR_SOURCES = [
  "UK GDPR Art. 12(3)–(4)",
  "ICO guidance on time limits (the receipt day counts; corresponding date or month end; next working day)",
];
const CCPA_SOURCES = ["Cal. Civ. Code §1798.130(a)(2)", "Cal. Code Regs. tit. 11 §7021 (10 business days; 45 + 45 calendar days)"];
const US_STATE_SOURCES = [
  "Va. Code §59.1-577", // VCDPA
  "Colo. Rev. Stat. §6-1-1306", // CPA
  "Conn. Gen. Stat. §42-518", // CTDPA: 45 days, one 45-day extension notified within the first 45 days
];

/** GDPR and UK GDPR: one calendar month, two more months with notice inside the first, off weekends and holidays. */
const oneMonth = (sources: readonly string[], verification: Verification, statutory = true): DeadlineRule => ({
  statutory,
  acknowledge: null,
  respond: { months: 1 },
  extension: { length: { months: 2 }, total: { months: 3 }, noticeBy: "dueAt" },
  rollToWorkingDay: true,
  verification,
  lookBack: null,
  sources,
});
const gdprEmail: Verification = { level: 1, note: "A verified email; ask for more only where reasonable doubt remains (Art. 12(6))." };
const gdprNone: Verification = {
  level: 0,
  note: "None: an objection to direct marketing or a withdrawal of consent is acted on as made (Art. 21(2)–(3), Art. 7(3)).",
};

/** CCPA know / delete / correct: confirm in 10 business days, answer in 45 calendar days, one 45-day extension. */
const ccpa45 = (verification: Verification, extra: Partial<DeadlineRule> = {}): DeadlineRule => ({
  statutory: true,
  acknowledge: { businessDays: 10 },
  respond: { days: 45 },
  extension: { length: { days: 45 }, total: { days: 90 }, noticeBy: "dueAt" },
  rollToWorkingDay: false,
  verification,
  lookBack: null,
  sources: CCPA_SOURCES,
  ...extra,
});
/** CCPA opt-out of sale/sharing and limit of sensitive data: act within 15 business days; no confirmation, no extension. */
const ccpa15 = (sources: readonly string[]): DeadlineRule => ({
  statutory: true,
  acknowledge: null,
  respond: { businessDays: 15 },
  extension: null,
  rollToWorkingDay: false,
  verification: { level: 0, note: "None: not a verifiable consumer request (regs §7026(d), §7027(e)); ask only what locates the consumer." },
  lookBack: null,
  sources,
});
const ccpaLookBack = {
  months: 12,
  note:
    "The 12 months before receipt; on request further back, to data collected since 1 January 2022, unless impossible " +
    "or a disproportionate effort (Civ. Code §1798.130(a)(2)(B), regs §7024(h)).",
};
const ccpaLikeDeletion: Verification = { level: 2, note: "Not a CCPA right: answered voluntarily, verified like a deletion." };

/** Virginia / Colorado / Connecticut style: 45 days, one 45-day extension notified inside the first 45; no confirmation rule. */
const state45 = (verification: Verification, statutory = true): DeadlineRule => ({
  statutory,
  acknowledge: null,
  respond: { days: 45 },
  extension: { length: { days: 45 }, total: { days: 90 }, noticeBy: "dueAt" },
  rollToWorkingDay: false,
  verification,
  lookBack: null,
  sources: US_STATE_SOURCES,
});
const stateAuth: Verification = { level: 1, note: "A verified email (commercially reasonable authentication); more where doubt remains." };
const stateNone: Verification = {
  level: 0,
  note: "None: an opt-out need not be authenticated (one reasonably believed fraudulent may be refused).",
};
const stateVoluntary: Verification = { level: 1, note: "Not a right under these laws: answered voluntarily. " + stateAuth.note };

export const deadlineRules: Readonly<Record<Regime, Readonly<Record<RequestType, DeadlineRule>>>> = {
  gdpr: {
    access: oneMonth(GDPR_SOURCES, gdprEmail), // Art. 15
    deletion: oneMonth(GDPR_SOURCES, gdprEmail), // Art. 17
    correction: oneMonth(GDPR_SOURCES, gdprEmail), // Art. 16
    portability: oneMonth(GDPR_SOURCES, gdprEmail), // Art. 20
    opt_out: oneMonth(GDPR_SOURCES, gdprNone), // Art. 21(2)–(3): objection to direct marketing
    limit_sensitive: oneMonth(GDPR_SOURCES, gdprNone), // Art. 7(3), 9: withdrawal of consent
    objection: oneMonth(GDPR_SOURCES, gdprEmail), // Art. 21(1)
    restriction: oneMonth(GDPR_SOURCES, gdprEmail), // Art. 18
  },
  uk_gdpr: {
    access: oneMonth(UK_GDPR_SOURCES, gdprEmail),
    deletion: oneMonth(UK_GDPR_SOURCES, gdprEmail),
    correction: oneMonth(UK_GDPR_SOURCES, gdprEmail),
    portability: oneMonth(UK_GDPR_SOURCES, gdprEmail),
    opt_out: oneMonth(UK_GDPR_SOURCES, gdprNone),
    limit_sensitive: oneMonth(UK_GDPR_SOURCES, gdprNone),
    objection: oneMonth(UK_GDPR_SOURCES, gdprEmail),
    restriction: oneMonth(UK_GDPR_SOURCES, gdprEmail),
  },
  ccpa: {
    access: ccpa45(
      {
        level: 2,
        byAccessScope: { categories: 2, specific: 3 },
        note:
          "Categories: a reasonable degree of certainty (2 matching data points, regs §7062(b)); specific pieces: a " +
          "reasonably high degree (3 matching data points and a signed declaration under penalty of perjury, §7062(c)).",
      },
      { lookBack: ccpaLookBack },
    ),
    deletion: ccpa45({ level: 2, note: "A reasonable degree of certainty (2 matching data points, regs §7062(d))." }),
    correction: ccpa45({ level: 2, note: "As for deletion: a reasonable degree of certainty (regs §7062(d))." }),
    portability: ccpa45(
      { level: 3, note: "A copy of specific pieces: a reasonably high degree of certainty (regs §7062(c))." },
      { lookBack: ccpaLookBack },
    ),
    opt_out: ccpa15(["Cal. Civ. Code §1798.120, §1798.135", "Cal. Code Regs. tit. 11 §7026(f) (15 business days)"]),
    limit_sensitive: ccpa15(["Cal. Civ. Code §1798.121", "Cal. Code Regs. tit. 11 §7027(g) (15 business days)"]),
    objection: ccpa45(ccpaLikeDeletion, { statutory: false }),
    restriction: ccpa45(ccpaLikeDeletion, { statutory: false }),
  },
  us_state: {
    access: state45(stateAuth),
    deletion: state45(stateAuth),
    correction: state45(stateAuth),
    portability: state45(stateAuth),
    opt_out: state45(stateNone), // targeted advertising, sale, profiling
    limit_sensitive: state45(
      { level: 0, note: "None. No direct equivalent: treated as withdrawing consent to sensitive-data processing (check the state)." },
      false,
    ),
    objection: state45(stateVoluntary, false),
    restriction: state45(stateVoluntary, false),
  },
};

export class UnknownRuleError extends RangeError {
  constructor(regime: string, type: string) {
    super(`no deadline rule for regime "${regime}" and request type "${type}"`);
    this.name = "UnknownRuleError";
  }
}

/** The rule row of one (regime, request type); throws UnknownRuleError for a pair the table does not have. */
export function ruleFor(regime: Regime, type: RequestType): DeadlineRule {
  const rows = Object.hasOwn(deadlineRules, regime) ? deadlineRules[regime] : undefined;
  const rule = rows && Object.hasOwn(rows, type) ? rows[type] : undefined;
  if (!rule) throw new UnknownRuleError(String(regime), String(type));
  return rule;
}

/** The verification level a request needs under its rule row (the access scope picks a level where the row has one). */
export function verificationLevelFor(regime: Regime, type: RequestType, accessScope?: AccessScope | null): number {
  const v = ruleFor(regime, type).verification;
  return (accessScope && v.byAccessScope?.[accessScope]) ?? v.level;
}

// ---------------------------------------------------------------------------------------------------------------
// Computation.

/** Where and with which holidays the organisation keeps time. */
export type CalendarOptions = {
  /** IANA zone; default ORG_TIMEZONE, else UTC. */
  timeZone?: string;
  /** `YYYY-MM-DD` dates that are not working days; default ORG_HOLIDAYS, else none. */
  holidays?: Iterable<string> | Holidays;
};

export type Deadlines = {
  acknowledgeBy: Date | null;
  dueAt: Date;
  extendedDueAt: Date | null;
  extensionNoticeBy: Date | null;
};

/** The same deadlines as civil days in the organisation's zone. */
export type DeadlineDays = { [K in keyof Deadlines]: Deadlines[K] extends Date ? Day : Day | null };

function addPeriod(from: Day, period: Period, holidays: Holidays): Day {
  if ("months" in period) return addMonths(from, period.months);
  if ("days" in period) return from + period.days;
  return addWorkingDays(from, period.businessDays, holidays);
}

/** The pure core: deadlines as civil days from the civil day of receipt. */
export function deadlineDays(rule: DeadlineRule, received: Day, holidays: Holidays = noHolidays): DeadlineDays {
  const due = (period: Period) => {
    const d = addPeriod(received, period, holidays);
    return rule.rollToWorkingDay ? nextWorkingDay(d, holidays) : d;
  };
  const dueAt = due(rule.respond);
  return {
    acknowledgeBy: rule.acknowledge ? addPeriod(received, rule.acknowledge, holidays) : null,
    dueAt,
    extendedDueAt: rule.extension ? due(rule.extension.total) : null,
    extensionNoticeBy: rule.extension ? dueAt : null,
  };
}

let envCache: { raw: string; value: { timeZone: string; holidays: Holidays } } | undefined;

/**
 * The organisation's calendar from ORG_TIMEZONE / ORG_HOLIDAYS (UTC and none when unset, or where there is no
 * `process`, e.g. in a browser). Throws RangeError naming the key when a value is malformed.
 */
export function orgCalendar(source: Record<string, string | undefined> | undefined = globalThis.process?.env) {
  const tz = source?.ORG_TIMEZONE || "UTC";
  const list = source?.ORG_HOLIDAYS ?? "";
  const raw = `${tz}\n${list}`;
  if (envCache?.raw !== raw) {
    let timeZone: string;
    let holidays: Holidays;
    try {
      timeZone = canonicalTimeZone(tz);
    } catch (e) {
      throw new RangeError(`ORG_TIMEZONE: ${(e as Error).message}`);
    }
    try {
      holidays = parseHolidays(list);
    } catch (e) {
      throw new RangeError(`ORG_HOLIDAYS: ${(e as Error).message}`);
    }
    envCache = { raw, value: { timeZone, holidays } };
  }
  return envCache.value;
}

function resolveOptions(options: CalendarOptions) {
  const fromEnv = options.timeZone === undefined || options.holidays === undefined ? orgCalendar() : undefined;
  const timeZone = options.timeZone === undefined ? fromEnv!.timeZone : canonicalTimeZone(options.timeZone);
  const holidays =
    options.holidays === undefined
      ? fromEnv!.holidays
      : isDaySet(options.holidays)
        ? options.holidays
        : parseHolidays(options.holidays);
  return { timeZone, holidays };
}

function isDaySet(h: Iterable<string> | Holidays): h is Holidays {
  if (!(h instanceof Set)) return false;
  for (const v of h) return typeof v === "number";
  return true;
}

/**
 * The deadlines of a request received at `receivedAt` (an instant; its calendar day in the organisation's zone is
 * the day of receipt). Each is the end of its local day. Options default to ORG_TIMEZONE / ORG_HOLIDAYS.
 */
export function computeDeadlines(
  regime: Regime,
  type: RequestType,
  receivedAt: Date,
  options: CalendarOptions = {},
): Deadlines {
  if (!(receivedAt instanceof Date) || Number.isNaN(receivedAt.getTime())) throw new RangeError("receivedAt is not a valid date");
  const rule = ruleFor(regime, type);
  const { timeZone, holidays } = resolveOptions(options);
  const days = deadlineDays(rule, localDay(receivedAt, timeZone), holidays);
  const at = (d: Day | null) => (d === null ? null : endOfDay(d, timeZone));
  return {
    acknowledgeBy: at(days.acknowledgeBy),
    dueAt: endOfDay(days.dueAt, timeZone),
    extendedDueAt: at(days.extendedDueAt),
    extensionNoticeBy: at(days.extensionNoticeBy),
  };
}

/** A deadline (or any instant) as ISO-8601 with the organisation zone's offset; null stays null. */
export function formatDeadline(d: Date | null, timeZone: string = orgCalendar().timeZone): string | null {
  return d === null ? null : formatZonedIso(d, timeZone);
}

/** "5 April 2026" — the date shown to requesters and staff, in the organisation's zone (ORG_TIMEZONE, default UTC). */
export function formatDueDate(d: Date, timeZone: string = orgCalendar().timeZone) {
  return new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone }).format(d);
}
