/**
 * Time-zone arithmetic with the platform's IANA database (Intl), no dependency: which calendar day an instant falls
 * on in a zone, when a zone's day begins and ends, and ISO-8601 text with the zone's offset. Correct across DST
 * changes, including zones whose clocks jump at midnight (a day that starts at 01:00, or a repeated 23:00 hour).
 */
import { type Day, MS_PER_DAY, dayFromParts, isoOfDay } from "./civil-date.ts";

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallFormatter(timeZone: string) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True for a time-zone name the platform knows (`Europe/Berlin`, `UTC`); fixed offsets like `+01:00` are refused. */
export function isTimeZone(name: unknown): name is string {
  if (typeof name !== "string" || !/^[A-Za-z]/.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The platform's spelling of a zone (`europe/berlin` → `Europe/Berlin`); throws RangeError for an unknown zone. */
export function canonicalTimeZone(name: string): string {
  if (!isTimeZone(name)) throw new RangeError(`unknown time zone "${name}" (expected an IANA name such as Europe/Berlin or UTC)`);
  return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
}

export type WallClock = { day: Day; msOfDay: number };

/** What a wall clock in `timeZone` shows at `instant`: the calendar day and the milliseconds since its midnight. */
export function wallClock(instant: Date | number, timeZone: string): WallClock {
  const t = typeof instant === "number" ? instant : instant.getTime();
  if (!Number.isFinite(t)) throw new RangeError("invalid instant");
  const parts: Record<string, string> = {};
  for (const p of wallFormatter(timeZone).formatToParts(t)) parts[p.type] = p.value;
  const yearOfEra = Number(parts.year);
  const year = parts.era === "BC" || parts.era === "B" ? 1 - yearOfEra : yearOfEra;
  const ms = ((t % 1000) + 1000) % 1000;
  return {
    day: dayFromParts(year, Number(parts.month), Number(parts.day)),
    msOfDay: Number(parts.hour) * 3_600_000 + Number(parts.minute) * 60_000 + Number(parts.second) * 1000 + ms,
  };
}

/** The calendar day on which `instant` falls in `timeZone`. */
export function localDay(instant: Date | number, timeZone: string): Day {
  return wallClock(instant, timeZone).day;
}

/** The zone's offset from UTC at `instant`, in milliseconds (Berlin in winter: +3 600 000). */
export function offsetAt(instant: Date | number, timeZone: string): number {
  const t = typeof instant === "number" ? instant : instant.getTime();
  const w = wallClock(t, timeZone);
  return w.day * MS_PER_DAY + w.msOfDay - t;
}

/** The first instant (epoch ms) of `day` in `timeZone`: usually local midnight; after a gap at midnight, the gap's end. */
export function startOfDay(day: Day, timeZone: string): number {
  const midnight = day * MS_PER_DAY; // local midnight read as if it were UTC
  // Fast path: local midnight minus the offset in force a day before or a day after (one of them applies).
  const candidates = [midnight - offsetAt(midnight - MS_PER_DAY, timeZone), midnight - offsetAt(midnight + MS_PER_DAY, timeZone)]
    .filter((t) => {
      const w = wallClock(t, timeZone);
      return w.day === day && w.msOfDay === 0 && localDay(t - 1, timeZone) < day;
    })
    .sort((a, b) => a - b);
  if (candidates[0] !== undefined) return candidates[0];
  // Midnight does not exist that day (clocks jumped over it): search the first instant that is on `day`.
  let lo = midnight - 2 * MS_PER_DAY; // certainly before the day, whatever the offset
  let hi = midnight + 2 * MS_PER_DAY; // certainly on or after it
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (localDay(mid, timeZone) >= day) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The last millisecond of `day` in `timeZone` — 23:59:59.999 local (the later one if that time occurs twice). */
export function endOfDay(day: Day, timeZone: string): Date {
  return new Date(startOfDay(day + 1, timeZone) - 1);
}

function formatOffset(offsetMs: number) {
  const sign = offsetMs < 0 ? "-" : "+";
  const total = Math.round(Math.abs(offsetMs) / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const hm = `${sign}${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
  // Only pre-1900 local mean times have seconds in their offset.
  return s === 0 ? hm : `${hm}:${String(s).padStart(2, "0")}`;
}

/** ISO-8601 with the zone's offset at that instant: `2026-03-02T23:59:59.999+01:00` (UTC gives `+00:00`). */
export function formatZonedIso(instant: Date | number, timeZone: string): string {
  const t = typeof instant === "number" ? instant : instant.getTime();
  const w = wallClock(t, timeZone);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const ms = w.msOfDay;
  const time = `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
  return `${isoOfDay(w.day)}T${time}${formatOffset(w.day * MS_PER_DAY + w.msOfDay - t)}`;
}
