/**
 * `deadline`: the legal calendar of one request as one JSON line — no database, no secrets.
 *
 *   npm run --silent portal -- deadline --regime gdpr --type access --received 2026-01-31T10:00:00Z \
 *     [--tz Europe/Berlin] [--holidays 2026-12-25,2026-12-26]
 *
 * prints {"acknowledgeBy":…,"dueAt":…,"extendedDueAt":…,"extensionNoticeBy":…}, each ISO-8601 with the zone's offset
 * or null. --tz and --holidays default to ORG_TIMEZONE / ORG_HOLIDAYS (read from the environment or, outside
 * production and test, from .env), else UTC and none. Bad options: a message on stderr, exit 64 (EX_USAGE);
 * a bad ORG_TIMEZONE / ORG_HOLIDAYS: exit 78 (EX_CONFIG), like the web and worker processes.
 */
import { parseArgs } from "node:util";
import { dayFromParts, daysInMonth, parseIsoDay } from "#app/models/calendar/civil-date.ts";
import { type Holidays, parseHolidays } from "#app/models/calendar/working-days.ts";
import { canonicalTimeZone, startOfDay } from "#app/models/calendar/zone.ts";
import { computeDeadlines, deadlineRules, formatZonedIso, orgCalendar } from "#app/models/deadlines.ts";
import { loadDotEnv } from "#app/utils/env.server.ts";
import type { Regime, RequestType } from "#db/schema/requests.ts";

const EX_USAGE = 64;
const EX_CONFIG = 78;

const cli = (s: string) => s.replaceAll("_", "-");
const regimeNames = Object.keys(deadlineRules) as Regime[];
const typeNames = Object.keys(deadlineRules.gdpr) as RequestType[];

const usage = `Usage: npm run --silent portal -- deadline --regime <${regimeNames.map(cli).join("|")}>
    --type <${typeNames.map(cli).join("|")}>
    --received <2026-01-31T10:00:00Z | 2026-01-31T11:00:00+01:00 | 2026-01-31 (that day in the zone)>
    [--tz <IANA zone, default ORG_TIMEZONE or UTC>] [--holidays <YYYY-MM-DD,…, default ORG_HOLIDAYS>]`;

class UsageError extends Error {}

/** `uk-gdpr` (or `uk_gdpr`) → `uk_gdpr`; null when unknown. */
function pick<T extends string>(value: string, names: readonly T[]): T | null {
  const wanted = value.trim().toLowerCase().replaceAll("-", "_");
  return names.find((n) => n === wanted) ?? null;
}

const instantPattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/i;

/** An instant with Z or an offset, or a bare date meaning the start of that day in `timeZone`. */
export function parseReceived(text: string, timeZone: string): Date | null {
  const day = parseIsoDay(text);
  if (day !== null) return new Date(startOfDay(day, timeZone));
  const m = instantPattern.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const s = Number(m[6] ?? 0);
  const ms = Number((m[7] ?? "0").padEnd(3, "0").slice(0, 3));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > daysInMonth(y!, mo!) || h! > 23 || mi! > 59 || s > 59) return null;
  let offsetMin = 0;
  if (!m[8]) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return null;
    offsetMin = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const wall = dayFromParts(y!, mo!, d!) * 86_400_000 + ((h! * 60 + mi!) * 60 + s) * 1000 + ms;
  return new Date(wall - offsetMin * 60_000);
}

function parseOptions(args: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        regime: { type: "string" },
        type: { type: "string" },
        received: { type: "string" },
        tz: { type: "string" },
        holidays: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return values;
}

export default {
  summary: "compute the legal deadlines of a request (JSON; no database)",
  async run(args: string[]) {
    let values: ReturnType<typeof parseOptions>;
    try {
      values = parseOptions(args);
    } catch (e) {
      console.error(`deadline: ${(e as Error).message}\n${usage}`);
      return EX_USAGE;
    }
    if (values.help) {
      console.log(usage);
      return 0;
    }
    const fail = (message: string) => {
      console.error(`deadline: ${message}`);
      return EX_USAGE;
    };

    if (values.regime === undefined) return fail(`--regime is required (${regimeNames.map(cli).join(", ")})`);
    const regime = pick(values.regime, regimeNames);
    if (!regime) return fail(`--regime "${values.regime}" is not one of ${regimeNames.map(cli).join(", ")}`);

    if (values.type === undefined) return fail(`--type is required (${typeNames.map(cli).join(", ")})`);
    const type = pick(values.type, typeNames);
    if (!type) return fail(`--type "${values.type}" is not one of ${typeNames.map(cli).join(", ")}`);

    if (values.received === undefined) return fail("--received is required (e.g. 2026-01-31T10:00:00Z)");

    // Options first; the organisation's configuration only for what they leave out.
    let timeZone: string | undefined;
    let holidays: Holidays | undefined;
    if (values.tz !== undefined) {
      try {
        timeZone = canonicalTimeZone(values.tz);
      } catch {
        return fail(`--tz "${values.tz}" is not a known IANA time zone (e.g. Europe/Berlin, America/Los_Angeles, UTC)`);
      }
    }
    if (values.holidays !== undefined) {
      try {
        holidays = parseHolidays(values.holidays);
      } catch (e) {
        return fail(`--holidays: ${(e as Error).message}`);
      }
    }
    if (timeZone === undefined || holidays === undefined) {
      if (process.env.NODE_ENV !== "production" && process.env.NODE_ENV !== "test") loadDotEnv();
      try {
        const org = orgCalendar(process.env);
        timeZone ??= org.timeZone;
        holidays ??= org.holidays;
      } catch (e) {
        console.error(`deadline: ${(e as Error).message}`);
        return EX_CONFIG;
      }
    }

    const receivedAt = parseReceived(values.received.trim(), timeZone);
    if (!receivedAt) {
      return fail(
        `--received "${values.received}" is not an ISO-8601 instant with Z or an offset (2026-01-31T10:00:00Z) ` +
          "or a date (2026-01-31)",
      );
    }

    const d = computeDeadlines(regime, type, receivedAt, { timeZone, holidays });
    const iso = (x: Date | null) => (x === null ? null : formatZonedIso(x, timeZone));
    console.log(
      JSON.stringify({
        acknowledgeBy: iso(d.acknowledgeBy),
        dueAt: iso(d.dueAt),
        extendedDueAt: iso(d.extendedDueAt),
        extensionNoticeBy: iso(d.extensionNoticeBy),
      }),
    );
    return 0;
  },
};
