/**
 * The staff queue: requests with their deadlines, filtered, searched, sorted and paged — the query behind /admin.
 *
 * - Parameters come from the URL (a GET form that works without JavaScript) and are validated with zod
 *   (`parseQueueParams`): a bad value is a message for the page, never a 500.
 * - The due date that counts is the effective one, `coalesce(extended_due_at, due_at)`; the indexes of migration
 *   0006 are on that expression (open requests, by status, by assignee, all).
 * - Search takes a request reference or a customer's exact email address; the email is looked up through its keyed
 *   blind index, so nothing is decrypted and no address reaches the database in clear.
 * - Counting is capped (COUNT_CAP): "1,000+" is enough for a person, and a full count over a million rows is not free.
 */
import { and, asc, desc, eq, inArray, isNull, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Executor } from "#db/client.server.ts";
import { regimes, requestStatuses, requests, requestTypes, staffUsers, type RequestStatus } from "#db/schema/index.ts";
import { emailBlindIndex, normalizeEmail } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { endOfDay, localDay } from "./calendar/zone.ts";
import { ENDED_STATUSES } from "./request-actions.server.ts";

export const PAGE_SIZE = 50;
export const COUNT_CAP = 1000;
export const MAX_PAGE = 10_000;
export const queueSorts = ["due", "-due", "received", "-received"] as const;
export type QueueSort = (typeof queueSorts)[number];
export const statusFilters = ["open", "all", ...requestStatuses] as const;
export type StatusFilter = (typeof statusFilters)[number];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REFERENCE_SEARCH = /^PR-?([2-9A-HJ-NP-Z]{4})-?([2-9A-HJ-NP-Z]{4})$/;

/** Empty form fields are "not given"; surrounding whitespace is ignored. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v), schema.optional());

const checkbox = (message: string) =>
  optional(z.enum(["1", "on", "true"], { error: message })).transform((v) => v !== undefined);

/** The queue's URL parameters. Unknown parameters are ignored. */
export const queueParamsSchema = z.object({
  status: optional(z.enum(statusFilters, { error: "Choose a status from the list." })),
  type: optional(z.enum(requestTypes, { error: "Choose a request type from the list." })),
  regime: optional(z.enum(regimes, { error: "Choose a law from the list." })),
  within: optional(
    z.coerce
      .number({ error: "“Due within” must be a number of days." })
      .int({ error: "“Due within” must be a whole number of days." })
      .min(0, { error: "“Due within” must be 0 days or more." })
      .max(365, { error: "“Due within” can be at most 365 days." }),
  ),
  overdue: checkbox("“Overdue” is a checkbox: leave it out or send 1."),
  assignee: optional(
    z.string().refine((v) => v === "me" || v === "none" || UUID.test(v), { error: "Choose whose requests to show from the list." }),
  ).transform((v) => v?.toLowerCase()),
  q: optional(z.string().max(320, { error: "The search is too long: use a reference or one email address." })),
  sort: optional(z.enum(queueSorts, { error: "Choose a sort order from the list." })).transform((v) => v ?? "due"),
  page: optional(
    z.coerce
      .number({ error: "The page must be a number." })
      .int({ error: "The page must be a whole number." })
      .min(1, { error: "Pages start at 1." })
      .max(MAX_PAGE, { error: `The page can be at most ${MAX_PAGE.toLocaleString("en")}.` }),
  ).transform((v) => v ?? 1),
});

export type QueueParams = z.infer<typeof queueParamsSchema>;

export type QueueSearch = { kind: "reference"; reference: string } | { kind: "email"; emailIndex: string };

export type ParsedQueueParams =
  | { ok: true; params: QueueParams; search: QueueSearch | null }
  | { ok: false; errors: { field: string; message: string }[]; params: Partial<QueueParams> };

/** A reference (any case, dashes optional) or an exact email address; anything else is an error message. */
export function parseSearch(q: string): QueueSearch | { error: string } {
  const compact = q.trim().toUpperCase().replace(/\s+/g, "");
  const ref = REFERENCE_SEARCH.exec(compact);
  if (ref) return { kind: "reference", reference: `PR-${ref[1]}-${ref[2]}` };
  if (q.includes("@")) {
    const email = q.trim();
    if (!z.email().safeParse(email).success) return { error: "That is not a complete email address: search for the customer's exact address." };
    return { kind: "email", emailIndex: emailBlindIndex(normalizeEmail(email)) };
  }
  return { error: "Search for a request reference (PR-XXXX-XXXX) or a customer's exact email address." };
}

/** Validates the URL's parameters (first value of each). Never throws. */
export function parseQueueParams(searchParams: URLSearchParams): ParsedQueueParams {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(queueParamsSchema.shape)) {
    const value = searchParams.get(key);
    if (value !== null) raw[key] = value;
  }
  const result = queueParamsSchema.safeParse(raw);
  if (!result.success) {
    const errors = result.error.issues.map((i) => ({ field: String(i.path[0] ?? ""), message: i.message }));
    // Keep what was valid, so the form can show it again.
    const partial: Partial<QueueParams> = {};
    for (const [key, value] of Object.entries(raw)) {
      const field = queueParamsSchema.shape[key as keyof QueueParams];
      const one = field.safeParse(value);
      if (one.success && !errors.some((e) => e.field === key)) (partial as Record<string, unknown>)[key] = one.data;
    }
    return { ok: false, errors, params: partial };
  }
  let search: QueueSearch | null = null;
  if (result.data.q) {
    const s = parseSearch(result.data.q);
    if ("error" in s) return { ok: false, errors: [{ field: "q", message: s.error }], params: { ...result.data } };
    search = s;
  }
  return { ok: true, params: result.data, search };
}

/** The status filter in effect: the one asked for; without one, open requests — or all of them when searching. */
export function effectiveStatus(params: Pick<QueueParams, "status" | "q">): StatusFilter {
  return params.status ?? (params.q ? "all" : "open");
}

export type Badge = "on-time" | "due-soon" | "overdue";

export type QueueRow = {
  id: string;
  reference: string;
  type: (typeof requestTypes)[number];
  regime: (typeof regimes)[number];
  jurisdiction: string;
  status: RequestStatus;
  receivedAt: Date;
  dueAt: Date;
  extendedDueAt: Date | null;
  effectiveDueAt: Date;
  assigneeId: string | null;
  assigneeName: string | null;
  legalHold: boolean;
  /** Calendar days (ORG_TIMEZONE) from today to the due day; negative when overdue. */
  daysLeft: number;
  /** Only for open requests. */
  badge: Badge | null;
};

export type QueuePage = {
  rows: QueueRow[];
  page: number;
  pageSize: number;
  /** Matching requests, counted up to COUNT_CAP. */
  total: number;
  /** True when there are more than COUNT_CAP. */
  totalCapped: boolean;
  hasNext: boolean;
  status: StatusFilter;
};

export const effectiveDue = sql<Date>`coalesce(${requests.extendedDueAt}, ${requests.dueAt})`;
/** Literal SQL (not parameters), so the planner can match the partial index of open requests. */
const endedList = sql.raw(ENDED_STATUSES.map((s) => `'${s}'`).join(", "));
const isOpen = sql`${requests.status} not in (${endedList})`;

export type QueueOptions = {
  clock?: Clock;
  /** ORG_TIMEZONE unless given. */
  timeZone?: string;
  /** REMINDER_DUE_SOON_DAYS unless given: days left at or under which an open request is "due soon". */
  dueSoonDays?: number;
};

/** The WHERE conditions of a query (exported for the benchmark's EXPLAIN). */
export function queueConditions(params: QueueParams, search: QueueSearch | null, viewerId: string, now: Date, timeZone: string): SQL[] {
  const where: SQL[] = [];
  const status = effectiveStatus(params);
  if (status === "open") where.push(isOpen);
  else if (status !== "all") where.push(eq(requests.status, status));
  if (params.type) where.push(eq(requests.type, params.type));
  if (params.regime) where.push(eq(requests.regime, params.regime));
  if (params.assignee === "me") where.push(eq(requests.assigneeId, viewerId));
  else if (params.assignee === "none") where.push(isNull(requests.assigneeId));
  else if (params.assignee) where.push(eq(requests.assigneeId, params.assignee));
  if (search?.kind === "reference") where.push(eq(requests.reference, search.reference));
  if (search?.kind === "email") where.push(eq(requests.emailIndex, search.emailIndex));
  // Deadlines concern open requests only: a closed request is neither overdue nor due soon.
  if (params.overdue || params.within !== undefined) {
    if (status === "all") where.push(isOpen);
    const nowIso = now.toISOString();
    const horizon = params.within !== undefined ? endOfDay(localDay(now, timeZone) + params.within, timeZone).toISOString() : null;
    if (params.overdue && horizon) where.push(sql`${effectiveDue} <= ${horizon}::timestamptz`);
    else if (params.overdue) where.push(sql`${effectiveDue} < ${nowIso}::timestamptz`);
    else where.push(sql`${effectiveDue} >= ${nowIso}::timestamptz`, sql`${effectiveDue} <= ${horizon}::timestamptz`);
  }
  return where;
}

function orderOf(sort: QueueSort) {
  switch (sort) {
    case "due":
      return [asc(effectiveDue), asc(requests.id)];
    case "-due":
      return [desc(effectiveDue), desc(requests.id)];
    case "received":
      return [asc(requests.receivedAt), asc(requests.id)];
    case "-received":
      return [desc(requests.receivedAt), desc(requests.id)];
  }
}

/** Days left and badge of one request at `now`. */
export function deadlineBadge(
  row: { status: RequestStatus; effectiveDueAt: Date },
  now: Date,
  timeZone: string,
  dueSoonDays: number,
): { daysLeft: number; badge: Badge | null } {
  const daysLeft = localDay(row.effectiveDueAt, timeZone) - localDay(now, timeZone);
  if (ENDED_STATUSES.includes(row.status)) return { daysLeft, badge: null };
  const badge: Badge = now.getTime() > row.effectiveDueAt.getTime() ? "overdue" : daysLeft <= dueSoonDays ? "due-soon" : "on-time";
  return { daysLeft, badge };
}

/** One page of the queue for the staff member `viewerId`. */
export async function queryQueue(
  db: Executor,
  params: QueueParams,
  search: QueueSearch | null,
  viewerId: string,
  options: QueueOptions = {},
): Promise<QueuePage> {
  const now = (options.clock ?? systemClock)();
  const env = options.timeZone && options.dueSoonDays !== undefined ? undefined : getEnv();
  const timeZone = options.timeZone ?? env!.ORG_TIMEZONE;
  const dueSoonDays = options.dueSoonDays ?? env!.REMINDER_DUE_SOON_DAYS;
  const conditions = queueConditions(params, search, viewerId, now, timeZone);
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  const offset = (params.page - 1) * PAGE_SIZE;

  // Two steps: the page's ids from an index alone (the queue indexes carry type, law, status and assignee, so the
  // filters are checked without reading the table), then those rows. The capped count runs alongside the first.
  const [idRows, counted] = await Promise.all([
    db
      .select({ id: requests.id })
      .from(requests)
      .where(where)
      .orderBy(...orderOf(params.sort))
      .limit(PAGE_SIZE + 1)
      .offset(offset),
    db.execute<{ n: number }>(
      sql`select count(*)::int as n from (select 1 from ${requests} where ${where ?? sql`true`} limit ${COUNT_CAP + 1}) capped`,
    ),
  ]);
  const ids = idRows.slice(0, PAGE_SIZE).map((r) => r.id);
  const fetched =
    ids.length === 0
      ? []
      : await db
          .select({
            id: requests.id,
            reference: requests.reference,
            type: requests.type,
            regime: requests.regime,
            jurisdiction: requests.jurisdiction,
            status: requests.status,
            receivedAt: requests.receivedAt,
            dueAt: requests.dueAt,
            extendedDueAt: requests.extendedDueAt,
            assigneeId: requests.assigneeId,
            assigneeName: staffUsers.name,
            legalHoldSince: requests.legalHoldSince,
          })
          .from(requests)
          .leftJoin(staffUsers, eq(staffUsers.id, requests.assigneeId))
          .where(inArray(requests.id, ids));
  const byId = new Map(fetched.map((r) => [r.id, r]));
  // A row changed between the two steps (e.g. closed) is still shown as it is now; one deleted is left out.
  const rows = ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  const n = Number((counted as unknown as { n: number }[])[0]?.n ?? 0);
  return {
    rows: rows.map((r) => {
      const effectiveDueAt = r.extendedDueAt ?? r.dueAt;
      return {
        id: r.id,
        reference: r.reference,
        type: r.type,
        regime: r.regime,
        jurisdiction: r.jurisdiction,
        status: r.status,
        receivedAt: r.receivedAt,
        dueAt: r.dueAt,
        extendedDueAt: r.extendedDueAt,
        effectiveDueAt,
        assigneeId: r.assigneeId,
        assigneeName: r.assigneeName,
        legalHold: r.legalHoldSince !== null,
        ...deadlineBadge({ status: r.status, effectiveDueAt }, now, timeZone, dueSoonDays),
      };
    }),
    page: params.page,
    pageSize: PAGE_SIZE,
    total: Math.min(n, COUNT_CAP),
    totalCapped: n > COUNT_CAP,
    hasNext: idRows.length > PAGE_SIZE,
    status: effectiveStatus(params),
  };
}

/** The URL search string of a queue view (empty and default values left out), for links that keep the filters. */
export function queueSearchString(params: Partial<QueueParams>, changes: Partial<Record<keyof QueueParams, string | number | boolean | undefined>> = {}): string {
  const merged: Record<string, unknown> = { ...params, ...changes };
  const out = new URLSearchParams();
  for (const key of Object.keys(queueParamsSchema.shape)) {
    const v = merged[key];
    if (v === undefined || v === null || v === false || v === "") continue;
    if (key === "sort" && v === "due") continue;
    if (key === "page" && Number(v) === 1) continue;
    out.set(key, v === true ? "1" : String(v));
  }
  const s = out.toString();
  return s ? `?${s}` : "";
}
