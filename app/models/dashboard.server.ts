/**
 * The staff dashboard (/admin/dashboard) and its CSV export: where the queue stands now, and how requests received in
 * a chosen period were answered — including the figures Cal. Code Regs. tit. 11 §7102 asks a business to compile.
 * Definitions (also on the page and in docs/decisions/017-dashboard-metrics.md):
 *
 * - **Cohort.** A period's figures are about the requests *received* in it (from the first instant of `from` to the
 *   last of `to`, days in ORG_TIMEZONE), each counted once, by its status now: received = complied + denied +
 *   ended without a decision + still open.
 * - **Complied with in whole or in part**: `completed` (the execution engine finished; an erasure that kept some data
 *   for a legal reason is still "in part"). **Denied**: `denied`, whatever the reason (unverifiable included).
 * - **Ended without a decision**: `cancelled` (withdrawn by the requester), `expired` (never verified), `closed` by
 *   staff (duplicate, withdrawn, resolved otherwise) or by the expiry job (information not provided). Neither
 *   complied with nor denied; left out of the days and of the on-time rate.
 * - **Responded at**: a completed request's `completed_at`; a denied one's first `request.denied` audit event (the
 *   request row keeps no denial time; `updated_at` when there is no such event, e.g. imported rows).
 * - **Days to respond**: calendar days in ORG_TIMEZONE from the day of receipt (day 0, as in ADR 007) to the day of
 *   the response. Median (`percentile_cont(0.5)`) and mean over the responded requests of the cohort.
 * - **On time**: responded at or before the effective due date `coalesce(extended_due_at, due_at)`. **Late**:
 *   responded after it, or still open and past it now. On-time rate = on time / (on time + late); open requests not
 *   yet due are not judged.
 * - **§7102 categories** (CCPA requests only): to know = access and portability; to delete; to correct; to opt out of
 *   sale/sharing; to limit the use of sensitive personal information. Objection and restriction are no CCPA rights.
 *
 * Everything is computed in SQL aggregates (a handful of queries, run in parallel); the clock and the time zone are
 * injected so tests fix "now".
 */
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Executor } from "#db/client.server.ts";
import { requestStatuses, requestTypes, requests, type RequestStatus, type RequestType } from "#db/schema/index.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { toCsv, type CsvValue } from "#app/utils/csv.ts";
import { appendEvent } from "./audit.server.ts";
import { dayFromParts, isoOfDay, parseIsoDay, partsOfDay, weekdayOf, type Day } from "./calendar/civil-date.ts";
import { endOfDay, localDay, startOfDay } from "./calendar/zone.ts";
import { queryQueue, type QueueRow } from "./queue.server.ts";
import { ENDED_STATUSES } from "./request-actions.server.ts";
import { requestTypeLabels } from "./request-types.ts";

/** The longest period one page or export covers (three years and a leap day). */
export const MAX_PERIOD_DAYS = 1096;
/** Rows of the due-soon and overdue lists (the queue has the rest). */
export const LIST_SIZE = 10;

export const periodPresets = ["last-30-days", "this-year", "previous-year"] as const;
export type PeriodPreset = (typeof periodPresets)[number];
export const presetLabels: Record<PeriodPreset, string> = {
  "last-30-days": "Last 30 days",
  "this-year": "This year",
  "previous-year": "Previous calendar year",
};

export const ccpaCategories = ["know", "delete", "correct", "opt_out", "limit"] as const;
export type CcpaCategory = (typeof ccpaCategories)[number];
export const ccpaCategoryLabels: Record<CcpaCategory, string> = {
  know: "Requests to know (access, portability)",
  delete: "Requests to delete",
  correct: "Requests to correct",
  opt_out: "Requests to opt out of sale/sharing",
  limit: "Requests to limit use of sensitive personal information",
};
const ccpaCategoryOf: Partial<Record<RequestType, CcpaCategory>> = {
  access: "know",
  portability: "know",
  deletion: "delete",
  correction: "correct",
  opt_out: "opt_out",
  limit_sensitive: "limit",
};

// ---------------------------------------------------------------------------------------------------------------
// The period

export type Period = {
  fromDay: Day;
  toDay: Day;
  /** YYYY-MM-DD, in the organisation's zone. */
  from: string;
  to: string;
  preset: PeriodPreset | null;
  /** The first instant of `from` and the first instant after `to`. */
  start: Date;
  endExclusive: Date;
};

export type ParsedPeriod = { ok: true; period: Period } | { ok: false; errors: { field: string; message: string }[]; form: { from: string; to: string; preset: string } };

const trimmed = z.preprocess((v) => (typeof v === "string" ? v.trim() || undefined : v), z.string().optional());

/** The days a preset means on `today`. */
export function presetDays(preset: PeriodPreset, today: Day): { fromDay: Day; toDay: Day } {
  const { year } = partsOfDay(today);
  switch (preset) {
    case "last-30-days":
      return { fromDay: today - 29, toDay: today };
    case "this-year":
      return { fromDay: dayFromParts(year, 1, 1), toDay: today };
    case "previous-year":
      return { fromDay: dayFromParts(year - 1, 1, 1), toDay: dayFromParts(year - 1, 12, 31) };
  }
}

export function makePeriod(fromDay: Day, toDay: Day, timeZone: string, preset: PeriodPreset | null = null): Period {
  return {
    fromDay,
    toDay,
    from: isoOfDay(fromDay),
    to: isoOfDay(toDay),
    preset,
    start: new Date(startOfDay(fromDay, timeZone)),
    endExclusive: new Date(startOfDay(toDay + 1, timeZone)),
  };
}

/**
 * The period of a URL: `preset`, or `from` and `to` (YYYY-MM-DD in the organisation's zone); neither → the last 30
 * days. Never throws: a bad value is a message naming the field.
 */
export function parsePeriod(searchParams: URLSearchParams, options: { clock?: Clock; timeZone?: string } = {}): ParsedPeriod {
  const timeZone = options.timeZone ?? getEnv().ORG_TIMEZONE;
  const today = localDay((options.clock ?? systemClock)(), timeZone);
  const read = (key: string) => trimmed.parse(searchParams.get(key) ?? undefined) as string | undefined;
  const raw = { from: read("from"), to: read("to"), preset: read("preset") };
  const form = { from: raw.from ?? "", to: raw.to ?? "", preset: raw.preset ?? "" };
  const errors: { field: string; message: string }[] = [];
  const fail = () => ({ ok: false as const, errors, form });

  if (raw.preset !== undefined) {
    if (!(periodPresets as readonly string[]).includes(raw.preset)) errors.push({ field: "preset", message: "Choose a period from the list of presets." });
    if (raw.from !== undefined || raw.to !== undefined) errors.push({ field: "preset", message: "Choose a preset or your own dates, not both." });
    if (errors.length > 0) return fail();
    const preset = raw.preset as PeriodPreset;
    const { fromDay, toDay } = presetDays(preset, today);
    return { ok: true, period: makePeriod(fromDay, toDay, timeZone, preset) };
  }
  if (raw.from === undefined && raw.to === undefined) {
    const { fromDay, toDay } = presetDays("last-30-days", today);
    return { ok: true, period: makePeriod(fromDay, toDay, timeZone, "last-30-days") };
  }
  const day = (field: "from" | "to", label: string) => {
    const value = raw[field];
    if (value === undefined) {
      errors.push({ field, message: `Enter the “${label}” date too, or choose a preset.` });
      return null;
    }
    const parsed = parseIsoDay(value);
    if (parsed === null) errors.push({ field, message: `“${label}” must be a real date written YYYY-MM-DD, e.g. ${isoOfDay(today)}.` });
    return parsed;
  };
  const fromDay = day("from", "From");
  const toDay = day("to", "To");
  if (fromDay === null || toDay === null) return fail();
  if (toDay < fromDay) errors.push({ field: "to", message: "“To” must not be before “From”." });
  else if (toDay - fromDay + 1 > MAX_PERIOD_DAYS) errors.push({ field: "to", message: `The period can be at most ${MAX_PERIOD_DAYS.toLocaleString("en")} days (three years).` });
  if (fromDay > today) errors.push({ field: "from", message: "The period starts after today: there is nothing to show yet." });
  if (errors.length > 0) return fail();
  return { ok: true, period: makePeriod(fromDay, toDay, timeZone) };
}

/** The URL search string of a period (a preset stays a preset, so "previous year" bookmarks keep their meaning). */
export function periodSearch(period: Pick<Period, "from" | "to" | "preset">): string {
  return period.preset ? `?preset=${period.preset}` : `?from=${period.from}&to=${period.to}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The figures

export type Outcomes = {
  received: number;
  complied: number;
  denied: number;
  endedWithoutDecision: number;
  open: number;
  /** Calendar days from receipt to response; null when nothing was responded to. */
  medianDays: number | null;
  meanDays: number | null;
  onTime: number;
  late: number;
  /** onTime / (onTime + late), 0…1; null when nothing can be judged yet. */
  onTimeRate: number | null;
};

export type OutcomeRow<K extends string> = { key: K; label: string } & Outcomes;
export type OutcomeTable<K extends string> = { rows: OutcomeRow<K>[]; total: Outcomes };

export type WeekRow = {
  /** The Monday of the ISO week (YYYY-MM-DD). */
  monday: string;
  /** "2026-W05". */
  isoWeek: string;
  received: number;
  completed: number;
  /** The week reaches outside the period (only the period's days are counted). */
  partial: boolean;
};

export type NowFigures = {
  openByStatus: { status: RequestStatus; count: number }[];
  open: number;
  overdue: number;
  dueSoon: number;
  overdueList: QueueRow[];
  dueSoonList: QueueRow[];
};

export type Dashboard = PeriodFigures & { dueSoonDays: number; current: NowFigures };

export type DashboardOptions = { clock?: Clock; timeZone?: string; dueSoonDays?: number };

const endedList = sql.raw(ENDED_STATUSES.map((s) => `'${s}'`).join(", "));
/** A CCPA request's §7102 category (null for other laws, and for objection and restriction). */
const ccpaCase = sql.raw(
  `case when r.regime = 'ccpa' then case r.type ${Object.entries(ccpaCategoryOf)
    .map(([t, c]) => `when '${t}' then '${c}'`)
    .join(" ")} end end`,
);

type OutcomeSqlRow = {
  type_key: string | null;
  ccpa_key: string | null;
  ccpa_all: boolean | null;
  grouping: number;
  received: number;
  complied: number;
  denied: number;
  ended: number;
  open: number;
  median_days: number | null;
  mean_days: string | null;
  on_time: number;
  late: number;
};

/** Which GROUPING SET a row belongs to: grouping(type_key, ccpa_key, ccpa_all), one bit per key left out. */
const BY_TYPE = 0b011;
const BY_CCPA_CATEGORY = 0b101;
const CCPA_ALL = 0b110;
const ALL = 0b111;

/**
 * Outcomes of the requests received in the period — by type, by §7102 category, all CCPA requests, all requests —
 * in one scan (GROUPING SETS, so each total's median is the median of its requests, not of the groups').
 */
async function outcomes(db: Executor, period: Period, now: Date, timeZone: string) {
  const result = await db.execute<OutcomeSqlRow>(sql`
    with cohort as (
      select r.type::text as type_key, ${ccpaCase} as ccpa_key, r.status, r.received_at,
             coalesce(r.extended_due_at, r.due_at) as due,
             case r.status
               when 'completed' then r.completed_at
               when 'denied' then coalesce(
                 (select min(e.created_at) from request_events e where e.request_id = r.id and e.action = 'request.denied'),
                 r.updated_at)
             end as responded_at
        from ${requests} r
       where r.received_at >= ${period.start.toISOString()}::timestamptz
         and r.received_at < ${period.endExclusive.toISOString()}::timestamptz
    ), measured as (
      select *, ccpa_key is not null as ccpa_all,
             (responded_at at time zone ${timeZone})::date - (received_at at time zone ${timeZone})::date as days
        from cohort
    )
    select type_key, ccpa_key, ccpa_all, grouping(type_key, ccpa_key, ccpa_all) as grouping,
           count(*)::int as received,
           count(*) filter (where status = 'completed')::int as complied,
           count(*) filter (where status = 'denied')::int as denied,
           count(*) filter (where status in ('cancelled', 'expired', 'closed'))::int as ended,
           count(*) filter (where status not in (${endedList}))::int as open,
           percentile_cont(0.5) within group (order by days) as median_days,
           avg(days) as mean_days,
           count(*) filter (where responded_at <= due)::int as on_time,
           count(*) filter (where responded_at > due or (status not in (${endedList}) and due < ${now.toISOString()}::timestamptz))::int as late
      from measured
     group by grouping sets ((type_key), (ccpa_key), (ccpa_all), ())
  `);
  const rows = result as unknown as OutcomeSqlRow[];
  const set = (g: number) => rows.filter((r) => Number(r.grouping) === g);
  return {
    byType: table(requestTypes, requestTypeLabels, set(BY_TYPE).map((r) => [r.type_key, r] as const), set(ALL)[0]),
    ccpa: table(
      ccpaCategories,
      ccpaCategoryLabels,
      set(BY_CCPA_CATEGORY).map((r) => [r.ccpa_key, r] as const),
      set(CCPA_ALL).find((r) => r.ccpa_all === true),
    ),
  };
}

function table<K extends string>(keys: readonly K[], labels: Record<K, string>, groups: (readonly [string | null, OutcomeSqlRow])[], total: OutcomeSqlRow | undefined): OutcomeTable<K> {
  const byKey = new Map(groups);
  return { rows: keys.map((key) => ({ key, label: labels[key], ...toOutcomes(byKey.get(key)) })), total: toOutcomes(total) };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function toOutcomes(r: OutcomeSqlRow | undefined): Outcomes {
  if (!r) return { received: 0, complied: 0, denied: 0, endedWithoutDecision: 0, open: 0, medianDays: null, meanDays: null, onTime: 0, late: 0, onTimeRate: null };
  const onTime = Number(r.on_time);
  const late = Number(r.late);
  return {
    received: Number(r.received),
    complied: Number(r.complied),
    denied: Number(r.denied),
    endedWithoutDecision: Number(r.ended),
    open: Number(r.open),
    medianDays: r.median_days === null ? null : round1(Number(r.median_days)),
    meanDays: r.mean_days === null ? null : round1(Number(r.mean_days)),
    onTime,
    late,
    onTimeRate: onTime + late === 0 ? null : onTime / (onTime + late),
  };
}

/** ISO-8601 week label of a Monday: the week belongs to the year of its Thursday. */
export function isoWeekOf(monday: Day): string {
  const thursday = monday + 3;
  const { year } = partsOfDay(thursday);
  const week = Math.floor((thursday - dayFromParts(year, 1, 1)) / 7) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** Monday of the week of `day`. */
const mondayOf = (day: Day) => day - ((weekdayOf(day) + 6) % 7);

/** Received and completed requests per ISO week (weeks in the organisation's zone), every week of the period listed. */
async function weekly(db: Executor, period: Period, timeZone: string): Promise<WeekRow[]> {
  const start = period.start.toISOString();
  const end = period.endExclusive.toISOString();
  const result = await db.execute<{ week: string; received: number; completed: number }>(sql`
    with received as (
      select date_trunc('week', received_at at time zone ${timeZone})::date as week, count(*)::int as n
        from ${requests}
       where received_at >= ${start}::timestamptz and received_at < ${end}::timestamptz
       group by 1
    ), completed as (
      select date_trunc('week', completed_at at time zone ${timeZone})::date as week, count(*)::int as n
        from ${requests}
       where completed_at >= ${start}::timestamptz and completed_at < ${end}::timestamptz
       group by 1
    )
    select to_char(coalesce(received.week, completed.week), 'YYYY-MM-DD') as week,
           coalesce(received.n, 0) as received, coalesce(completed.n, 0) as completed
      from received full join completed on completed.week = received.week
  `);
  const byWeek = new Map((result as unknown as { week: string; received: number; completed: number }[]).map((r) => [r.week, r]));
  const weeks: WeekRow[] = [];
  for (let monday = mondayOf(period.fromDay); monday <= period.toDay; monday += 7) {
    const iso = isoOfDay(monday);
    const found = byWeek.get(iso);
    weeks.push({
      monday: iso,
      isoWeek: isoWeekOf(monday),
      received: Number(found?.received ?? 0),
      completed: Number(found?.completed ?? 0),
      partial: monday < period.fromDay || monday + 6 > period.toDay,
    });
  }
  return weeks;
}

/** Open requests by status, and how many are overdue or due soon, now. */
async function openNow(db: Executor, now: Date, dueSoonHorizon: Date) {
  const result = await db.execute<{ status: RequestStatus; n: number; overdue: number; due_soon: number }>(sql`
    select status, count(*)::int as n,
           count(*) filter (where coalesce(extended_due_at, due_at) < ${now.toISOString()}::timestamptz)::int as overdue,
           count(*) filter (where coalesce(extended_due_at, due_at) >= ${now.toISOString()}::timestamptz
                              and coalesce(extended_due_at, due_at) <= ${dueSoonHorizon.toISOString()}::timestamptz)::int as due_soon
      from ${requests}
     where status not in (${endedList})
     group by status
  `);
  const rows = result as unknown as { status: RequestStatus; n: number; overdue: number; due_soon: number }[];
  const order = (s: RequestStatus) => requestStatuses.indexOf(s);
  return {
    openByStatus: rows.map((r) => ({ status: r.status, count: Number(r.n) })).sort((a, b) => order(a.status) - order(b.status)),
    open: rows.reduce((n, r) => n + Number(r.n), 0),
    overdue: rows.reduce((n, r) => n + Number(r.overdue), 0),
    dueSoon: rows.reduce((n, r) => n + Number(r.due_soon), 0),
  };
}

export type PeriodFigures = { now: Date; timeZone: string; period: Period; byType: OutcomeTable<RequestType>; ccpa: OutcomeTable<CcpaCategory>; weeks: WeekRow[] };

/** The period's figures: outcomes by type and by §7102 category, the weekly volume (two queries, in parallel). */
export async function loadPeriodFigures(db: Executor, period: Period, options: DashboardOptions = {}): Promise<PeriodFigures> {
  const now = (options.clock ?? systemClock)();
  const timeZone = options.timeZone ?? getEnv().ORG_TIMEZONE;
  const [{ byType, ccpa }, weeks] = await Promise.all([outcomes(db, period, now, timeZone), weekly(db, period, timeZone)]);
  return { now, timeZone, period, byType, ccpa, weeks };
}

export type CurrentFigures = { now: Date; timeZone: string; dueSoonDays: number; current: NowFigures };

/** Where the queue stands now, for `viewerId` (the due-soon and overdue lists come from the queue's own query). */
export async function loadCurrent(db: Executor, viewerId: string, options: DashboardOptions = {}): Promise<CurrentFigures> {
  const now = (options.clock ?? systemClock)();
  const env = options.timeZone && options.dueSoonDays !== undefined ? undefined : getEnv();
  const timeZone = options.timeZone ?? env!.ORG_TIMEZONE;
  const dueSoonDays = options.dueSoonDays ?? env!.REMINDER_DUE_SOON_DAYS;
  const queueOptions = { clock: () => now, timeZone, dueSoonDays };
  const base = { status: "open" as const, sort: "due" as const, page: 1, overdue: false, assignee: undefined };
  // The queue's "due within N days": from now to the end of the Nth local day from today.
  const horizon = endOfDay(localDay(now, timeZone) + dueSoonDays, timeZone);
  const [current, overdueList, dueSoonList] = await Promise.all([
    openNow(db, now, horizon),
    queryQueue(db, { ...base, overdue: true }, null, viewerId, queueOptions),
    queryQueue(db, { ...base, within: dueSoonDays }, null, viewerId, queueOptions),
  ]);
  return {
    now,
    timeZone,
    dueSoonDays,
    current: { ...current, overdueList: overdueList.rows.slice(0, LIST_SIZE), dueSoonList: dueSoonList.rows.slice(0, LIST_SIZE) },
  };
}

/** Everything the dashboard shows: now, and the period's figures (one clock for both). */
export async function loadDashboard(db: Executor, period: Period, viewerId: string, options: DashboardOptions = {}): Promise<Dashboard> {
  const now = (options.clock ?? systemClock)();
  const fixed = { ...options, clock: () => now };
  const [current, figures] = await Promise.all([loadCurrent(db, viewerId, fixed), loadPeriodFigures(db, period, fixed)]);
  return { ...figures, dueSoonDays: current.dueSoonDays, current: current.current };
}

// ---------------------------------------------------------------------------------------------------------------
// The export

export const exportTables = ["outcomes", "weekly"] as const;
export type ExportTable = (typeof exportTables)[number];

export const OUTCOME_COLUMNS = [
  "section",
  "group",
  "period_from",
  "period_to",
  "received",
  "complied_in_whole_or_part",
  "denied",
  "ended_without_decision",
  "still_open",
  "median_days_to_respond",
  "mean_days_to_respond",
  "answered_on_time",
  "late_or_overdue",
  "on_time_rate_percent",
] as const;
export const WEEKLY_COLUMNS = ["iso_week", "week_starting", "received", "completed", "partial_week"] as const;

const outcomeCells = (o: Outcomes): CsvValue[] => [
  o.received,
  o.complied,
  o.denied,
  o.endedWithoutDecision,
  o.open,
  o.medianDays,
  o.meanDays,
  o.onTime,
  o.late,
  o.onTimeRate === null ? null : round1(o.onTimeRate * 100),
];

/** The CSV of a period: the §7102 figures and the figures by type (`outcomes`), or the weekly volume (`weekly`). */
export function dashboardCsv(figures: PeriodFigures, which: ExportTable): string {
  const { period } = figures;
  if (which === "weekly") {
    return toCsv(
      WEEKLY_COLUMNS,
      figures.weeks.map((w) => [w.isoWeek, w.monday, w.received, w.completed, w.partial ? "yes" : "no"]),
    );
  }
  const section = (name: string, t: OutcomeTable<string>) => [
    ...t.rows.map((r) => [name, r.label, period.from, period.to, ...outcomeCells(r)]),
    [name, "All", period.from, period.to, ...outcomeCells(t.total)],
  ];
  return toCsv(OUTCOME_COLUMNS, [...section("CCPA 7102 (CCPA requests)", figures.ccpa), ...section("By request type (all laws)", figures.byType)]);
}

export const parseExportTable = (value: string | null): ExportTable | null =>
  value === null || value === "" ? "outcomes" : (exportTables as readonly string[]).includes(value) ? (value as ExportTable) : null;

/** Records who downloaded which figures (ids and dates only). */
export async function recordExport(db: Executor, actorId: string, period: Period, which: ExportTable, clock: Clock = systemClock) {
  await appendEvent(db, { actorType: "staff", actorId, action: "dashboard.exported", details: { from: period.from, to: period.to, table: which } }, clock);
}
