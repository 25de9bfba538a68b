/**
 * The legal calendar (app/models/deadlines.ts and app/models/calendar/*): pure functions, tested exhaustively with
 * hand-checked dates (weekdays checked against `date`), and with properties over random instants, zones and holidays.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { addMonths, dayFromParts, isoOfDay, parseIsoDay, weekdayOf } from "#app/models/calendar/civil-date.ts";
import {
  HolidayListError,
  addWorkingDays,
  isWorkingDay,
  nextWorkingDay,
  parseHolidays,
  workingDaysBetween,
} from "#app/models/calendar/working-days.ts";
import { canonicalTimeZone, endOfDay, formatZonedIso, isTimeZone, localDay, startOfDay, wallClock } from "#app/models/calendar/zone.ts";
import {
  type CalendarOptions,
  UnknownRuleError,
  computeDeadlines,
  deadlineDays,
  deadlineRules,
  formatDeadline,
  formatDueDate,
  orgCalendar,
  ruleFor,
  verificationLevelFor,
} from "#app/models/deadlines.ts";
import { EnvError, parseEnv } from "#app/utils/env.server.ts";
import { regimes, requestTypes, type Regime, type RequestType } from "#db/schema/requests.ts";

const day = (iso: string) => {
  const d = parseIsoDay(iso);
  if (d === null) throw new Error(`bad test date ${iso}`);
  return d;
};
const iso = isoOfDay;

/** All four deadlines as ISO text with the zone's offset (null stays null). */
function deadlines(regime: Regime, type: RequestType, received: string, options: CalendarOptions & { timeZone: string }) {
  const d = computeDeadlines(regime, type, new Date(received), { holidays: [], ...options });
  const f = (x: Date | null) => (x === null ? null : formatZonedIso(x, options.timeZone));
  return { acknowledgeBy: f(d.acknowledgeBy), dueAt: f(d.dueAt), extendedDueAt: f(d.extendedDueAt), extensionNoticeBy: f(d.extensionNoticeBy) };
}
/** Just the local dates (YYYY-MM-DD) of the deadlines. */
function dates(regime: Regime, type: RequestType, received: string, options: CalendarOptions = {}) {
  const timeZone = options.timeZone ?? "UTC";
  const out = deadlines(regime, type, received, { ...options, timeZone });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v === null ? null : v.slice(0, 10)]));
}
const utc = { timeZone: "UTC" } as const;
const berlin = { timeZone: "Europe/Berlin" } as const;
const la = { timeZone: "America/Los_Angeles" } as const;

/**
 * What the deadline properties draw: a receipt moment in 2000–2100, a time zone of `timeZones`, the local day it was
 * received on, and holidays (as ISO dates) some distinct day offsets after that day.
 */
const receipts = (timeZones: string[], offsets: { min: number; max: number; maxLength: number }) =>
  fc
    .tuple(
      fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }),
      fc.constantFrom(...timeZones),
      fc.uniqueArray(fc.integer({ min: offsets.min, max: offsets.max }), { maxLength: offsets.maxLength }),
    )
    .map(([receivedAt, timeZone, holidayOffsets]) => {
      const received = localDay(receivedAt, timeZone);
      return { receivedAt, timeZone, received, holidays: holidayOffsets.map((o) => iso(received + o)) };
    });

describe("civil dates", () => {
  it("numbers days from 1970-01-01 and knows the weekday", () => {
    expect(dayFromParts(1970, 1, 1)).toBe(0);
    expect(weekdayOf(0)).toBe(4); // Thursday
    expect(weekdayOf(day("2026-03-02"))).toBe(1); // Monday
    expect(weekdayOf(day("1969-12-28"))).toBe(0); // Sunday, before day 0
    expect(iso(dayFromParts(2026, 3, 2))).toBe("2026-03-02");
    expect(iso(dayFromParts(2026, 1, 32))).toBe("2026-02-01");
    expect(iso(dayFromParts(99, 1, 1))).toBe("0099-01-01");
  });

  it("parses only real YYYY-MM-DD dates", () => {
    expect(iso(day("2024-02-29"))).toBe("2024-02-29");
    expect(iso(day("2000-02-29"))).toBe("2000-02-29");
    for (const bad of ["2026-02-29", "1900-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-01", "26-01-01", "2026-01-01T00:00", " 2026-01-01", ""]) {
      expect(parseIsoDay(bad), bad).toBeNull();
    }
  });

  it.each([
    // received (last day of each month, 2025 — not a leap year) → same date next month or that month's last day
    ["2025-01-31", "2025-02-28"],
    ["2025-02-28", "2025-03-28"],
    ["2025-03-31", "2025-04-30"],
    ["2025-04-30", "2025-05-30"],
    ["2025-05-31", "2025-06-30"],
    ["2025-06-30", "2025-07-30"],
    ["2025-07-31", "2025-08-31"],
    ["2025-08-31", "2025-09-30"],
    ["2025-09-30", "2025-10-30"],
    ["2025-10-31", "2025-11-30"],
    ["2025-11-30", "2025-12-30"],
    ["2025-12-31", "2026-01-31"],
    // leap years and their neighbours
    ["2024-01-31", "2024-02-29"],
    ["2024-01-30", "2024-02-29"],
    ["2024-01-29", "2024-02-29"],
    ["2024-02-29", "2024-03-29"],
    ["2025-01-29", "2025-02-28"],
    ["2000-01-31", "2000-02-29"],
    ["1900-01-31", "1900-02-28"],
    ["2100-01-31", "2100-02-28"],
  ])("one calendar month after %s is %s", (from, to) => {
    expect(iso(addMonths(day(from), 1))).toBe(to);
  });

  it("adds several months, across years and backwards, clamping to the month's end", () => {
    expect(iso(addMonths(day("2023-11-30"), 3))).toBe("2024-02-29");
    expect(iso(addMonths(day("2024-11-30"), 3))).toBe("2025-02-28");
    expect(iso(addMonths(day("2024-02-29"), 12))).toBe("2025-02-28");
    expect(iso(addMonths(day("2026-01-31"), 3))).toBe("2026-04-30");
    expect(iso(addMonths(day("2026-03-31"), -1))).toBe("2026-02-28");
    expect(iso(addMonths(day("2026-01-15"), -1))).toBe("2025-12-15");
  });
});

describe("working days", () => {
  const xmas = parseHolidays("2026-12-25, 2026-12-28");

  it("skips Saturdays, Sundays and configured holidays", () => {
    expect(isWorkingDay(day("2026-03-06"))).toBe(true); // Friday
    expect(isWorkingDay(day("2026-03-07"))).toBe(false); // Saturday
    expect(isWorkingDay(day("2026-03-08"))).toBe(false); // Sunday
    expect(isWorkingDay(day("2026-12-25"), xmas)).toBe(false);
    expect(isWorkingDay(day("2026-12-25"))).toBe(true);
    expect(iso(nextWorkingDay(day("2026-03-06")))).toBe("2026-03-06");
    expect(iso(nextWorkingDay(day("2026-03-07")))).toBe("2026-03-09");
    expect(iso(nextWorkingDay(day("2026-12-25"), xmas))).toBe("2026-12-29"); // Fri hol, Sat, Sun, Mon hol
  });

  it("counts business days after the given day, whatever that day is", () => {
    expect(iso(addWorkingDays(day("2026-03-06"), 1))).toBe("2026-03-09"); // Fri → Mon
    expect(iso(addWorkingDays(day("2026-03-07"), 1))).toBe("2026-03-09"); // Sat → Mon
    expect(iso(addWorkingDays(day("2026-03-02"), 10))).toBe("2026-03-16"); // Mon → Mon two weeks on
    expect(iso(addWorkingDays(day("2026-03-07"), 0))).toBe("2026-03-07");
    expect(() => addWorkingDays(0, -1)).toThrow(RangeError);
    expect(() => addWorkingDays(0, 1.5)).toThrow(RangeError);
  });

  it("counts across the year end and its holidays", () => {
    const h = parseHolidays(["2026-12-25", "2027-01-01"]);
    // 23 24 | 25 hol, 26–27 weekend | 28 29 30 31 | 1 Jan hol, 2–3 weekend | 4 5 6 7
    expect(iso(addWorkingDays(day("2026-12-22"), 10, h))).toBe("2027-01-07");
    expect(iso(addWorkingDays(day("2026-12-22"), 10))).toBe("2027-01-05");
    expect(workingDaysBetween(day("2026-12-22"), day("2027-01-07"), h)).toBe(10);
    expect(workingDaysBetween(day("2026-12-22"), day("2027-01-06"), h)).toBe(9);
  });

  it("parses holiday lists and names the bad entry", () => {
    expect([...parseHolidays(" 2026-12-25 ,,2026-12-26,2026-12-25, ")].map(iso)).toEqual(["2026-12-25", "2026-12-26"]);
    expect(parseHolidays("").size).toBe(0);
    expect(() => parseHolidays("2026-12-25,2026-02-30")).toThrow(HolidayListError);
    expect(() => parseHolidays("2026-12-25,25/12/2026")).toThrow(/25\/12\/2026/);
  });
});

describe("time zones", () => {
  it("knows IANA zones, refuses others, and spells them canonically", () => {
    for (const z of ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kathmandu"]) expect(isTimeZone(z), z).toBe(true);
    for (const z of ["Mars/Base", "+01:00", "", "Europe/", "CEST+1"]) expect(isTimeZone(z), z).toBe(false);
    expect(isTimeZone(undefined)).toBe(false);
    expect(canonicalTimeZone("europe/berlin")).toBe("Europe/Berlin");
    expect(() => canonicalTimeZone("Mars/Base")).toThrow(/Mars\/Base/);
  });

  it("puts an instant on the zone's calendar day", () => {
    expect(iso(localDay(new Date("2026-06-09T22:30:00Z"), "Europe/Berlin"))).toBe("2026-06-10");
    expect(iso(localDay(new Date("2026-06-09T22:30:00Z"), "UTC"))).toBe("2026-06-09");
    expect(iso(localDay(new Date("2026-07-10T05:00:00Z"), "America/Los_Angeles"))).toBe("2026-07-09");
    // local midnight belongs to the new day, the millisecond before to the old one
    expect(iso(localDay(new Date("2026-03-04T23:00:00.000Z"), "Europe/Berlin"))).toBe("2026-03-05");
    expect(iso(localDay(new Date("2026-03-04T22:59:59.999Z"), "Europe/Berlin"))).toBe("2026-03-04");
  });

  it.each([
    // zone, day, its end with the offset in force then, the same instant in UTC
    ["Europe/Berlin", "2026-03-28", "2026-03-28T23:59:59.999+01:00", "2026-03-28T22:59:59.999Z"],
    ["Europe/Berlin", "2026-03-29", "2026-03-29T23:59:59.999+02:00", "2026-03-29T21:59:59.999Z"], // spring forward
    ["Europe/Berlin", "2026-10-25", "2026-10-25T23:59:59.999+01:00", "2026-10-25T22:59:59.999Z"], // fall back
    ["Europe/Berlin", "2026-10-24", "2026-10-24T23:59:59.999+02:00", "2026-10-24T21:59:59.999Z"],
    ["America/Los_Angeles", "2026-03-07", "2026-03-07T23:59:59.999-08:00", "2026-03-08T07:59:59.999Z"],
    ["America/Los_Angeles", "2026-03-08", "2026-03-08T23:59:59.999-07:00", "2026-03-09T06:59:59.999Z"], // spring forward
    ["America/Los_Angeles", "2026-10-31", "2026-10-31T23:59:59.999-07:00", "2026-11-01T06:59:59.999Z"],
    ["America/Los_Angeles", "2026-11-01", "2026-11-01T23:59:59.999-08:00", "2026-11-02T07:59:59.999Z"], // fall back
    ["UTC", "2026-01-01", "2026-01-01T23:59:59.999+00:00", "2026-01-01T23:59:59.999Z"],
    ["Asia/Kathmandu", "2026-01-01", "2026-01-01T23:59:59.999+05:45", "2026-01-01T18:14:59.999Z"],
    ["Pacific/Kiritimati", "2026-01-01", "2026-01-01T23:59:59.999+14:00", "2026-01-01T09:59:59.999Z"],
    // Chile changes its clocks at midnight: 4 April 2026 has 23:00–24:00 twice (the end is the later one) …
    ["America/Santiago", "2026-04-04", "2026-04-04T23:59:59.999-04:00", "2026-04-05T03:59:59.999Z"],
    // … and 6 September 2026 starts at 01:00, so 5 September ends at the jump
    ["America/Santiago", "2026-09-05", "2026-09-05T23:59:59.999-04:00", "2026-09-06T03:59:59.999Z"],
  ])("in %s, %s ends at %s", (zone, d, local, utcText) => {
    const end = endOfDay(day(d), zone);
    expect(formatZonedIso(end, zone)).toBe(local);
    expect(end.toISOString()).toBe(utcText);
  });

  it("starts a day whose midnight does not exist at the end of the gap", () => {
    expect(formatZonedIso(startOfDay(day("2026-09-06"), "America/Santiago"), "America/Santiago")).toBe("2026-09-06T01:00:00.000-03:00");
    expect(formatZonedIso(startOfDay(day("2026-04-05"), "America/Santiago"), "America/Santiago")).toBe("2026-04-05T00:00:00.000-04:00");
  });

  it("formats instants with the zone's offset, seconds of historical offsets included", () => {
    expect(formatZonedIso(new Date("2026-07-01T12:34:56.789Z"), "Europe/Berlin")).toBe("2026-07-01T14:34:56.789+02:00");
    expect(formatZonedIso(new Date("2026-07-01T02:00:00.000Z"), "America/Los_Angeles")).toBe("2026-06-30T19:00:00.000-07:00");
    expect(formatZonedIso(new Date("1850-01-01T12:00:00Z"), "Europe/Berlin")).toBe("1850-01-01T12:53:28.000+00:53:28");
    // the text parses back to the same instant
    const t = new Date("2026-03-29T21:59:59.999Z");
    expect(new Date(formatZonedIso(t, "Europe/Berlin")).getTime()).toBe(t.getTime());
  });

  const zones = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/Los_Angeles",
    "America/New_York",
    "America/Santiago",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
  ];

  it("property: the end of an instant's local day is 23:59:59.999 that day, and the next millisecond is the next day", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1990-01-01T00:00:00Z"), max: new Date("2080-01-01T00:00:00Z"), noInvalidDate: true }),
        fc.constantFrom(...zones),
        (instant, zone) => {
          const d = localDay(instant, zone);
          const end = endOfDay(d, zone);
          expect(end.getTime()).toBeGreaterThanOrEqual(instant.getTime());
          expect(wallClock(end, zone)).toEqual({ day: d, msOfDay: 86_399_999 });
          expect(localDay(end.getTime() + 1, zone)).toBe(d + 1);
          expect(localDay(startOfDay(d, zone), zone)).toBe(d);
          expect(localDay(startOfDay(d, zone) - 1, zone)).toBe(d - 1);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("the rule table", () => {
  it("has a row for every (regime, request type) of the schema, and nothing else", () => {
    expect(Object.keys(deadlineRules).sort()).toEqual([...regimes].sort());
    for (const regime of regimes) {
      expect(Object.keys(deadlineRules[regime]).sort(), regime).toEqual([...requestTypes].sort());
      for (const type of requestTypes) {
        const rule = ruleFor(regime, type);
        expect(rule, `${regime}/${type}`).toBe(deadlineRules[regime][type]);
        expect(rule.sources.length).toBeGreaterThan(0);
        expect(rule.verification.note.length).toBeGreaterThan(0);
        expect(rule.verification.level).toBeGreaterThanOrEqual(0);
        expect(rule.verification.level).toBeLessThanOrEqual(3);
        if (rule.extension) {
          // the total from receipt is the response period plus the extension
          const { length, total } = rule.extension;
          const sum = (a: object, b: object) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v + (b as Record<string, number>)[k]!]));
          expect(Object.keys(length)).toEqual(Object.keys(rule.respond));
          expect(total).toEqual(sum(rule.respond, length));
          expect(rule.extension.noticeBy).toBe("dueAt");
        }
      }
    }
  });

  it("refuses pairs it does not have", () => {
    expect(() => ruleFor("eu_ai_act" as Regime, "access")).toThrow(UnknownRuleError);
    expect(() => ruleFor("gdpr", "complaint" as RequestType)).toThrow(/complaint/);
    expect(() => ruleFor("gdpr", "toString" as RequestType)).toThrow(UnknownRuleError);
  });

  it("rolls off weekends and holidays only under GDPR and UK GDPR", () => {
    for (const regime of regimes) {
      for (const type of requestTypes) expect(ruleFor(regime, type).rollToWorkingDay, `${regime}/${type}`).toBe(regime === "gdpr" || regime === "uk_gdpr");
    }
  });

  it("states the GDPR, CCPA and US state timetables", () => {
    for (const regime of ["gdpr", "uk_gdpr"] as const) {
      for (const type of requestTypes) {
        const r = ruleFor(regime, type);
        expect(r).toMatchObject({ acknowledge: null, respond: { months: 1 }, extension: { length: { months: 2 }, total: { months: 3 } }, lookBack: null });
      }
    }
    for (const type of ["access", "deletion", "correction", "portability"] as const) {
      expect(ruleFor("ccpa", type)).toMatchObject({ statutory: true, acknowledge: { businessDays: 10 }, respond: { days: 45 }, extension: { total: { days: 90 } } });
    }
    for (const type of ["opt_out", "limit_sensitive"] as const) {
      expect(ruleFor("ccpa", type)).toMatchObject({ acknowledge: null, respond: { businessDays: 15 }, extension: null, verification: { level: 0 } });
    }
    expect(ruleFor("ccpa", "objection").statutory).toBe(false);
    for (const type of requestTypes) {
      expect(ruleFor("us_state", type)).toMatchObject({ acknowledge: null, respond: { days: 45 }, extension: { total: { days: 90 } } });
    }
  });

  it("gives the verification each request needs", () => {
    expect(verificationLevelFor("ccpa", "access", "categories")).toBe(2);
    expect(verificationLevelFor("ccpa", "access", "specific")).toBe(3);
    expect(verificationLevelFor("ccpa", "access")).toBe(2);
    expect(verificationLevelFor("ccpa", "deletion")).toBe(2);
    expect(verificationLevelFor("ccpa", "portability")).toBe(3);
    expect(verificationLevelFor("ccpa", "opt_out")).toBe(0);
    expect(verificationLevelFor("ccpa", "limit_sensitive")).toBe(0);
    expect(verificationLevelFor("gdpr", "access", "specific")).toBe(1);
    expect(verificationLevelFor("uk_gdpr", "deletion")).toBe(1);
    expect(verificationLevelFor("us_state", "access")).toBe(1);
    for (const regime of regimes) expect(verificationLevelFor(regime, "opt_out")).toBe(0);
  });

  it("looks back 12 months for CCPA access answers and sets no limit elsewhere", () => {
    expect(ruleFor("ccpa", "access").lookBack?.months).toBe(12);
    expect(ruleFor("ccpa", "portability").lookBack?.months).toBe(12);
    expect(ruleFor("ccpa", "deletion").lookBack).toBeNull();
    expect(ruleFor("gdpr", "access").lookBack).toBeNull();
    expect(ruleFor("us_state", "access").lookBack).toBeNull();
  });
});

describe("GDPR and UK GDPR", () => {
  it("answers on the same date next month (ICO: received 3 September → 3 October)", () => {
    expect(dates("gdpr", "access", "2025-09-03T09:00:00Z")).toEqual({
      acknowledgeBy: null,
      dueAt: "2025-10-03",
      extendedDueAt: "2025-12-03",
      extensionNoticeBy: "2025-10-03",
    });
    expect(dates("uk_gdpr", "access", "2027-03-05T09:00:00Z").dueAt).toBe("2027-04-05");
  });

  it.each([
    // received on the last day of each month of 2025 → due (rolled off weekends)
    ["2025-01-31", "2025-02-28"], // Fri
    ["2025-02-28", "2025-03-28"], // Fri
    ["2025-03-31", "2025-04-30"], // Wed
    ["2025-04-30", "2025-05-30"], // Fri
    ["2025-05-31", "2025-06-30"], // Mon
    ["2025-06-30", "2025-07-30"], // Wed
    ["2025-07-31", "2025-09-01"], // 31 Aug is a Sunday
    ["2025-08-31", "2025-09-30"], // Tue
    ["2025-09-30", "2025-10-30"], // Thu
    ["2025-10-31", "2025-12-01"], // 30 Nov is a Sunday
    ["2025-11-30", "2025-12-30"], // Tue
    ["2025-12-31", "2026-02-02"], // 31 Jan 2026 is a Saturday
  ])("received %s → due %s", (received, due) => {
    expect(dates("gdpr", "access", `${received}T12:00:00Z`).dueAt).toBe(due);
    expect(dates("uk_gdpr", "deletion", `${received}T12:00:00Z`).dueAt).toBe(due);
  });

  it("handles 29 February in leap and common years", () => {
    expect(dates("gdpr", "access", "2024-01-31T12:00:00Z").dueAt).toBe("2024-02-29"); // Thu
    expect(dates("gdpr", "access", "2025-01-31T12:00:00Z").dueAt).toBe("2025-02-28"); // Fri
    expect(dates("gdpr", "access", "2024-02-29T12:00:00Z")).toMatchObject({ dueAt: "2024-03-29", extendedDueAt: "2024-05-29" });
    expect(dates("gdpr", "access", "2023-11-30T12:00:00Z").extendedDueAt).toBe("2024-02-29");
    expect(dates("gdpr", "access", "2024-11-30T12:00:00Z").extendedDueAt).toBe("2025-02-28");
  });

  it("counts the day of receipt even when it is a weekend or a holiday", () => {
    expect(dates("gdpr", "access", "2026-03-07T12:00:00Z").dueAt).toBe("2026-04-07"); // received Saturday
    expect(dates("gdpr", "access", "2026-12-25T12:00:00Z", { holidays: ["2026-12-25"] }).dueAt).toBe("2027-01-25");
  });

  it("moves a due date off a weekend, a holiday, and consecutive holidays", () => {
    // 31 January 2026 → 28 February (Saturday) → Monday 2 March
    expect(deadlines("gdpr", "access", "2026-01-31T10:00:00Z", utc)).toEqual({
      acknowledgeBy: null,
      dueAt: "2026-03-02T23:59:59.999+00:00",
      extendedDueAt: "2026-04-30T23:59:59.999+00:00",
      extensionNoticeBy: "2026-03-02T23:59:59.999+00:00",
    });
    // 3 April 2026 is Good Friday; 6 April Easter Monday
    const easter = { holidays: ["2026-04-03", "2026-04-06"] };
    expect(dates("gdpr", "access", "2026-03-03T12:00:00Z").dueAt).toBe("2026-04-03");
    expect(dates("gdpr", "access", "2026-03-03T12:00:00Z", easter).dueAt).toBe("2026-04-07");
    // UK Christmas 2026: Friday 25th, substitute Boxing Day Monday 28th
    expect(dates("uk_gdpr", "access", "2026-11-25T12:00:00Z", { holidays: ["2026-12-25", "2026-12-28"] }).dueAt).toBe("2026-12-29");
    // across the year end: 1 January 2027 is a Friday holiday
    expect(dates("uk_gdpr", "access", "2026-12-01T12:00:00Z", { holidays: ["2027-01-01"] }).dueAt).toBe("2027-01-04");
    // a holiday that falls on a weekend changes nothing
    expect(dates("gdpr", "access", "2026-01-31T10:00:00Z", { holidays: ["2026-02-28"] }).dueAt).toBe("2026-03-02");
  });

  it("extends to three months from receipt (not from the rolled due date), rolled the same way", () => {
    expect(dates("gdpr", "access", "2026-01-31T12:00:00Z")).toMatchObject({ dueAt: "2026-03-02", extendedDueAt: "2026-04-30", extensionNoticeBy: "2026-03-02" });
    // 4 April 2026 is a Saturday; Monday 6 April is Easter Monday where configured
    expect(dates("gdpr", "access", "2026-01-04T12:00:00Z").extendedDueAt).toBe("2026-04-06");
    expect(dates("gdpr", "access", "2026-01-04T12:00:00Z", { holidays: ["2026-04-06"] }).extendedDueAt).toBe("2026-04-07");
  });

  it("applies the same month to objections and restrictions", () => {
    for (const type of ["objection", "restriction", "opt_out", "limit_sensitive"] as const) {
      expect(dates("gdpr", type, "2026-01-31T10:00:00Z").dueAt).toBe("2026-03-02");
    }
  });

  it("takes the day of receipt in the organisation's zone", () => {
    // 22:30 UTC on 9 June is already 10 June in Berlin
    expect(dates("gdpr", "access", "2026-06-09T22:30:00Z", berlin).dueAt).toBe("2026-07-10");
    expect(dates("gdpr", "access", "2026-06-09T22:30:00Z", utc).dueAt).toBe("2026-07-09");
    // 23:30 UTC on 30 January is 31 January in Berlin → 28 February (Saturday) → 2 March, at the end of the Berlin day
    expect(deadlines("gdpr", "access", "2026-01-30T23:30:00Z", berlin).dueAt).toBe("2026-03-02T23:59:59.999+01:00");
  });

  it("does not let DST shift a date", () => {
    // 00:30 on 1 March in Berlin (CET) → 1 April, which is in summer time
    const d = computeDeadlines("gdpr", "access", new Date("2026-02-28T23:30:00Z"), { ...berlin, holidays: [] });
    expect(formatZonedIso(d.dueAt, "Europe/Berlin")).toBe("2026-04-01T23:59:59.999+02:00");
    expect(d.dueAt.toISOString()).toBe("2026-04-01T21:59:59.999Z");
    // 25 October 2026 (the night clocks go back) is a Sunday → Monday 26th, in winter time
    expect(deadlines("gdpr", "access", "2026-09-25T10:00:00Z", berlin).dueAt).toBe("2026-10-26T23:59:59.999+01:00");
    // 28 March 2026 (Saturday before spring forward) → Monday 30th in summer time
    expect(deadlines("gdpr", "access", "2026-02-28T10:00:00Z", berlin).dueAt).toBe("2026-03-30T23:59:59.999+02:00");
    // Los Angeles: received 8 February → Monday 9 March (the day after clocks spring forward)
    expect(deadlines("gdpr", "access", "2026-02-08T20:00:00Z", la).dueAt).toBe("2026-03-09T23:59:59.999-07:00");
  });

  it("property: due within 28–31 days of receipt, then the first working day; extension notice = due date", () => {
    fc.assert(
      fc.property(
        receipts(["UTC", "Europe/Berlin", "Europe/London", "America/Los_Angeles", "Asia/Kathmandu", "Pacific/Kiritimati"], { min: 20, max: 110, maxLength: 12 }),
        fc.constantFrom("gdpr" as const, "uk_gdpr" as const),
        fc.constantFrom(...requestTypes),
        ({ receivedAt, timeZone, received, holidays }, regime, type) => {
          const h = parseHolidays(holidays);
          const d = computeDeadlines(regime, type, receivedAt, { timeZone, holidays });
          const due = localDay(d.dueAt, timeZone);
          const raw = addMonths(received, 1);
          expect(raw - received).toBeGreaterThanOrEqual(28);
          expect(raw - received).toBeLessThanOrEqual(31);
          expect(due).toBeGreaterThanOrEqual(raw);
          expect(isWorkingDay(due, h)).toBe(true);
          for (let x = raw; x < due; x++) expect(isWorkingDay(x, h)).toBe(false);
          expect(wallClock(d.dueAt, timeZone).msOfDay).toBe(86_399_999);
          expect(d.dueAt.getTime()).toBeGreaterThan(receivedAt.getTime());
          expect(d.extensionNoticeBy?.getTime()).toBe(d.dueAt.getTime());
          const ext = localDay(d.extendedDueAt!, timeZone);
          expect(ext).toBe(nextWorkingDay(addMonths(received, 3), h));
          expect(d.acknowledgeBy).toBeNull();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("CCPA", () => {
  it("answers 45 calendar days after receipt with no weekend roll, extends to 90, confirms in 10 business days", () => {
    // 15 January 2026 + 45 = Sunday 1 March; + 90 = 15 April; Thursday + 10 business days = Thursday 29 January
    expect(dates("ccpa", "access", "2026-01-15T12:00:00Z")).toEqual({
      acknowledgeBy: "2026-01-29",
      dueAt: "2026-03-01",
      extendedDueAt: "2026-04-15",
      extensionNoticeBy: "2026-03-01",
    });
    for (const type of ["deletion", "correction", "portability"] as const) {
      expect(dates("ccpa", type, "2026-01-15T12:00:00Z").dueAt).toBe("2026-03-01");
    }
  });

  it("counts the acknowledgement in business days, from a weekend receipt and across holidays and the year end", () => {
    expect(dates("ccpa", "access", "2026-03-02T12:00:00Z").acknowledgeBy).toBe("2026-03-16"); // Monday
    expect(dates("ccpa", "access", "2026-03-06T12:00:00Z").acknowledgeBy).toBe("2026-03-20"); // Friday
    expect(dates("ccpa", "access", "2026-03-07T12:00:00Z").acknowledgeBy).toBe("2026-03-20"); // Saturday
    expect(dates("ccpa", "deletion", "2026-12-22T20:00:00Z", { timeZone: "America/Los_Angeles", holidays: ["2026-12-25", "2027-01-01"] })).toEqual({
      acknowledgeBy: "2027-01-07",
      dueAt: "2027-02-05",
      extendedDueAt: "2027-03-22",
      extensionNoticeBy: "2027-02-05",
    });
    // holidays do not move the calendar-day deadlines
    expect(dates("ccpa", "access", "2026-01-15T12:00:00Z", { holidays: ["2026-03-01", "2026-03-02"] }).dueAt).toBe("2026-03-01");
  });

  it("acts on opt-outs and limits within 15 business days, with no acknowledgement and no extension", () => {
    for (const type of ["opt_out", "limit_sensitive"] as const) {
      expect(dates("ccpa", type, "2026-03-05T12:00:00Z")).toEqual({ acknowledgeBy: null, dueAt: "2026-03-26", extendedDueAt: null, extensionNoticeBy: null });
      expect(dates("ccpa", type, "2026-03-05T12:00:00Z", { holidays: ["2026-03-20"] }).dueAt).toBe("2026-03-27");
    }
  });

  it("uses the receipt day in Los Angeles, and DST does not shift the dates", () => {
    // 05:00 UTC on 10 July is 22:00 on 9 July in Los Angeles
    expect(dates("ccpa", "access", "2026-07-10T05:00:00Z", la).dueAt).toBe("2026-08-23");
    expect(dates("ccpa", "access", "2026-07-10T05:00:00Z", utc).dueAt).toBe("2026-08-24");
    // + 45 lands on the spring-forward Sunday and on the fall-back Sunday
    expect(deadlines("ccpa", "access", "2026-01-22T18:00:00Z", la).dueAt).toBe("2026-03-08T23:59:59.999-07:00");
    expect(deadlines("ccpa", "access", "2026-09-17T18:00:00Z", la).dueAt).toBe("2026-11-01T23:59:59.999-08:00");
    expect(deadlines("ccpa", "access", "2026-02-12T12:00:00Z", berlin).dueAt).toBe("2026-03-29T23:59:59.999+02:00");
    expect(deadlines("ccpa", "access", "2026-09-10T12:00:00Z", berlin).dueAt).toBe("2026-10-25T23:59:59.999+01:00");
    // received at the very moment clocks jump (03:00 PDT on 8 March)
    expect(dates("ccpa", "opt_out", "2026-03-08T10:00:00Z", la).dueAt).toBe("2026-03-27");
  });

  it("property: exactly 45 and 90 calendar days; the acknowledgement is the 10th working day after receipt", () => {
    fc.assert(
      fc.property(
        receipts(["UTC", "America/Los_Angeles", "America/New_York", "Europe/Berlin"], { min: 0, max: 30, maxLength: 8 }),
        ({ receivedAt, timeZone, received, holidays }) => {
          const h = parseHolidays(holidays);
          const d = computeDeadlines("ccpa", "access", receivedAt, { timeZone, holidays: h });
          expect(localDay(d.dueAt, timeZone) - received).toBe(45);
          expect(localDay(d.extendedDueAt!, timeZone) - received).toBe(90);
          const ack = localDay(d.acknowledgeBy!, timeZone);
          expect(isWorkingDay(ack, h)).toBe(true);
          expect(workingDaysBetween(received, ack, h)).toBe(10);
          expect(workingDaysBetween(received, ack - 1, h)).toBe(9);
          const optOut = localDay(computeDeadlines("ccpa", "opt_out", receivedAt, { timeZone, holidays: h }).dueAt, timeZone);
          expect(workingDaysBetween(received, optOut, h)).toBe(15);
          expect(isWorkingDay(optOut, h)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("US state laws (VA / CO / CT style)", () => {
  it("answers in 45 days, extends to 90 with notice by the due date, sets no acknowledgement", () => {
    // 5 March 2026 + 45 = Sunday 19 April (no roll); + 90 = 3 June
    for (const type of requestTypes) {
      expect(dates("us_state", type, "2026-03-05T12:00:00Z")).toEqual({
        acknowledgeBy: null,
        dueAt: "2026-04-19",
        extendedDueAt: "2026-06-03",
        extensionNoticeBy: "2026-04-19",
      });
    }
    expect(deadlines("us_state", "access", "2026-03-05T07:59:59Z", la).dueAt).toBe("2026-04-18T23:59:59.999-07:00");
  });
});

describe("options and configuration", () => {
  const saved = { tz: process.env.ORG_TIMEZONE, holidays: process.env.ORG_HOLIDAYS };
  afterEach(() => {
    for (const [key, value] of [["ORG_TIMEZONE", saved.tz], ["ORG_HOLIDAYS", saved.holidays]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it("defaults to UTC and no holidays", () => {
    delete process.env.ORG_TIMEZONE;
    delete process.env.ORG_HOLIDAYS;
    const d = computeDeadlines("gdpr", "access", new Date("2026-01-30T23:30:00Z"));
    expect(d.dueAt.toISOString()).toBe("2026-03-02T23:59:59.999Z");
    expect(orgCalendar({})).toEqual({ timeZone: "UTC", holidays: new Set() });
  });

  it("reads ORG_TIMEZONE and ORG_HOLIDAYS when the caller passes no options", () => {
    process.env.ORG_TIMEZONE = "Europe/Berlin";
    process.env.ORG_HOLIDAYS = "2026-04-03,2026-04-06";
    const d = computeDeadlines("gdpr", "access", new Date("2026-03-02T23:30:00Z")); // 3 March in Berlin
    expect(formatZonedIso(d.dueAt, "Europe/Berlin")).toBe("2026-04-07T23:59:59.999+02:00");
    expect(formatDeadline(d.dueAt)).toBe("2026-04-07T23:59:59.999+02:00");
    expect(formatDueDate(d.dueAt)).toBe("7 April 2026");
    // explicit options win, each on its own
    expect(formatZonedIso(computeDeadlines("gdpr", "access", new Date("2026-03-02T23:30:00Z"), { holidays: [] }).dueAt, "Europe/Berlin")).toBe("2026-04-03T23:59:59.999+02:00");
    expect(computeDeadlines("gdpr", "access", new Date("2026-03-02T23:30:00Z"), { timeZone: "UTC" }).dueAt.toISOString()).toBe("2026-04-02T23:59:59.999Z");
  });

  it("names the bad key of a malformed configuration", () => {
    expect(() => orgCalendar({ ORG_TIMEZONE: "Mars/Base" })).toThrow(/ORG_TIMEZONE/);
    expect(() => orgCalendar({ ORG_HOLIDAYS: "2026-12-25,Christmas" })).toThrow(/ORG_HOLIDAYS.*Christmas/);
  });

  it("refuses bad arguments", () => {
    expect(() => computeDeadlines("gdpr", "access", new Date("nope"), utc)).toThrow(RangeError);
    expect(() => computeDeadlines("gdpr", "access", new Date(), { timeZone: "Mars/Base" })).toThrow(/Mars\/Base/);
    expect(() => computeDeadlines("gdpr", "access", new Date(), { timeZone: "UTC", holidays: ["2026-02-30"] })).toThrow(HolidayListError);
  });

  it("accepts zones in any case and holidays as a set of days", () => {
    const a = computeDeadlines("gdpr", "access", new Date("2026-03-02T23:30:00Z"), { timeZone: "europe/berlin", holidays: new Set([day("2026-04-03")]) });
    expect(formatZonedIso(a.dueAt, "Europe/Berlin")).toBe("2026-04-06T23:59:59.999+02:00");
  });

  it("exposes the civil-day core", () => {
    expect(deadlineDays(ruleFor("gdpr", "access"), day("2026-01-31"))).toEqual({
      acknowledgeBy: null,
      dueAt: day("2026-03-02"),
      extendedDueAt: day("2026-04-30"),
      extensionNoticeBy: day("2026-03-02"),
    });
  });

  it("formats due dates in the organisation's zone", () => {
    const endInLa = endOfDay(day("2026-04-05"), "America/Los_Angeles");
    expect(formatDueDate(endInLa, "America/Los_Angeles")).toBe("5 April 2026");
    expect(formatDueDate(endInLa, "UTC")).toBe("6 April 2026");
    expect(formatDueDate(new Date("2026-04-05T12:00:00Z"), "UTC")).toBe("5 April 2026");
    expect(formatDeadline(null, "UTC")).toBeNull();
  });

  it("validates ORG_TIMEZONE and ORG_HOLIDAYS at boot without echoing the value", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const secrets = { SESSION_SECRET: "x".repeat(40), ENCRYPTION_KEYS: `k1:${key}`, BLIND_INDEX_KEY: key };
    expect(parseEnv(secrets)).toMatchObject({ ORG_TIMEZONE: "UTC", ORG_HOLIDAYS: [] });
    expect(parseEnv({ ...secrets, ORG_TIMEZONE: "", ORG_HOLIDAYS: "" })).toMatchObject({ ORG_TIMEZONE: "UTC", ORG_HOLIDAYS: [] });
    expect(parseEnv({ ...secrets, ORG_TIMEZONE: "europe/berlin", ORG_HOLIDAYS: "2026-12-26, 2026-12-25,2026-12-25" })).toMatchObject({
      ORG_TIMEZONE: "Europe/Berlin",
      ORG_HOLIDAYS: ["2026-12-25", "2026-12-26"],
    });
    for (const [k, v] of [["ORG_TIMEZONE", "Mars/Base"], ["ORG_TIMEZONE", "+01:00"], ["ORG_HOLIDAYS", "2026-02-30"], ["ORG_HOLIDAYS", "Christmas"]] as const) {
      try {
        parseEnv({ ...secrets, [k]: v });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(EnvError);
        expect((e as EnvError).keys).toEqual([k]);
        expect((e as Error).message).not.toContain(v);
      }
    }
  });
});
