/**
 * Deadline reminders and the acknowledgement watch (job `deadline-reminders`).
 *
 * A run has two phases:
 * 1. **Record.** A few set-based INSERT … SELECT … ON CONFLICT DO NOTHING statements write one `reminders_sent` row
 *    per (request, kind, day) — day = today in ORG_TIMEZONE — for every open request that is overdue, due within
 *    REMINDER_DUE_VERY_SOON_DAYS or REMINDER_DUE_SOON_DAYS, whose extension-notice window closes within
 *    EXTENSION_WINDOW_WARNING_DAYS, or whose acknowledgement is due within ACKNOWLEDGEMENT_WARNING_BUSINESS_DAYS
 *    business days without having been sent. The unique constraint makes the row the promise: however often the job
 *    runs, retries or restarts, there is at most one reminder per request, kind and day. An acknowledgement that can
 *    be sent is queued (once a day at most, the row says so); one that cannot (the request still waits for
 *    verification, or yesterday's attempt did not land) is escalated to staff.
 * 2. **Deliver.** Under a transaction-scoped advisory lock (one deliverer at a time), today's undelivered rows are
 *    grouped by recipient — the request's assignee, or every active admin and processor when there is none — and one
 *    digest email goes to each. After each email the row records that recipient (`notified_staff_ids`), so a retry
 *    after a partial failure sends only what is missing; a row is done (`notified_at`) when all its recipients have it.
 *
 * Digests carry references, types, laws, statuses, due dates and days left — never who the subject is.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { remindersSent, requests, staffUsers, type ReminderKind, type RequestStatus } from "#db/schema/index.ts";
import { isoOfDay, type Day } from "#app/models/calendar/civil-date.ts";
import { addWorkingDays, parseHolidays, type Holidays } from "#app/models/calendar/working-days.ts";
import { endOfDay, localDay, startOfDay } from "#app/models/calendar/zone.ts";
import { getEnv, type Env } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import type { Clock } from "#app/utils/clock.ts";
import type { DigestItem, DigestSection } from "#app/emails/deadline-digest.tsx";
import { formatDueDate } from "./deadlines.ts";
import { regimeLabels } from "./regions.ts";
import { requestTypeLabels } from "./request-types.ts";
import { enqueueAgain, schedulerClock } from "./schedules.server.ts";

/** Statuses in which a request is still open: deadlines run, reminders apply. */
export const OPEN_STATUSES: RequestStatus[] = [
  "pending_verification",
  "verified",
  "in_review",
  "approved",
  "processing",
  "action_required",
  "awaiting_information",
];
/** Where `acknowledgeRequest` (app/models/acknowledgement.server.ts) sends the acknowledgement; kept in step with it. */
export const ACKNOWLEDGEABLE_STATUSES: RequestStatus[] = ["verified", "in_review", "approved", "processing", "action_required"];

/** Kinds that are lines of the staff digest, in the digest's order. */
export const DIGEST_KINDS = ["overdue", "due_very_soon", "due_soon", "extension_window", "acknowledgement_due"] as const satisfies readonly ReminderKind[];
export type DigestKind = (typeof DIGEST_KINDS)[number];

/** A digest lists at most this many requests per section, then "and N more". */
export const DIGEST_SECTION_LIMIT = 100;

/** Key of the advisory lock that lets one digest delivery run at a time (ASCII "digest"). */
const DELIVERY_LOCK_KEY = 0x646967657374n;

export type ReminderSettings = {
  timeZone: string;
  holidays: Holidays;
  dueSoonDays: number;
  dueVerySoonDays: number;
  extensionWarningDays: number;
  acknowledgementWarningBusinessDays: number;
};

export function reminderSettings(env: Env = getEnv(), overrides: Partial<ReminderSettings> = {}): ReminderSettings {
  return {
    timeZone: env.ORG_TIMEZONE,
    holidays: parseHolidays(env.ORG_HOLIDAYS),
    dueSoonDays: env.REMINDER_DUE_SOON_DAYS,
    dueVerySoonDays: env.REMINDER_DUE_VERY_SOON_DAYS,
    extensionWarningDays: env.EXTENSION_WINDOW_WARNING_DAYS,
    acknowledgementWarningBusinessDays: env.ACKNOWLEDGEMENT_WARNING_BUSINESS_DAYS,
    ...overrides,
  };
}

export type ReminderOptions = { clock?: Clock; settings?: ReminderSettings };

/** The day a run belongs to and the instants that bound its windows (deadlines are ends of local days). */
export function reminderWindows(now: Date, s: ReminderSettings) {
  const today = localDay(now, s.timeZone);
  return {
    today,
    day: isoOfDay(today),
    /** Before this instant a deadline is overdue (the start of today). */
    todayStart: new Date(startOfDay(today, s.timeZone)),
    veryEnd: endOfDay(today + s.dueVerySoonDays, s.timeZone),
    soonEnd: endOfDay(today + Math.max(s.dueSoonDays, s.dueVerySoonDays), s.timeZone),
    extensionEnd: endOfDay(today + s.extensionWarningDays, s.timeZone),
    acknowledgeEnd: endOfDay(addWorkingDays(today, s.acknowledgementWarningBusinessDays, s.holidays), s.timeZone),
  };
}

/** A Postgres array as ONE bind parameter (`'{a,b}'::type[]`), however long: ids and enum values only. */
export function pgArray(values: readonly (string | number)[], type: "bigint" | "uuid") {
  for (const v of values) if (!/^[A-Za-z0-9_-]+$/.test(String(v))) throw new TypeError("pgArray takes ids and enum values only");
  return sql`${`{${values.join(",")}}`}::${sql.raw(type)}[]`;
}
/**
 * A constant list of statuses as an SQL literal (not a parameter), so the planner can match partial indexes whose
 * predicate is a status list (e.g. the staff queue's open-requests index on the effective due date).
 */
function statusArray(statuses: readonly RequestStatus[]) {
  for (const v of statuses) if (!/^[a-z_]+$/.test(v)) throw new TypeError("not a status");
  return sql.raw(`'{${statuses.join(",")}}'::request_status[]`);
}
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

function countByKind(rows: readonly { kind: string; n: number }[]) {
  const out: Partial<Record<ReminderKind, number>> = {};
  for (const r of rows) out[r.kind as ReminderKind] = (out[r.kind as ReminderKind] ?? 0) + Number(r.n);
  return out;
}

/**
 * Phase 1: records today's reminders (idempotent) and returns how many rows each kind gained, plus the requests
 * whose acknowledgement this run must queue.
 */
export async function recordReminders(db: Executor, { clock = schedulerClock, settings = reminderSettings() }: ReminderOptions = {}) {
  const now = clock();
  const w = reminderWindows(now, settings);
  const open = statusArray(OPEN_STATUSES);
  const ackable = statusArray(ACKNOWLEDGEABLE_STATUSES);

  // Due dates: the most urgent of overdue / very soon / soon, on the effective (extended, if so) due date.
  const due = await db.execute<{ kind: string; n: number }>(sql`
    with ins as (
      insert into reminders_sent (request_id, kind, day, created_at)
      select r.id,
             (case when r.due < ${ts(w.todayStart)} then 'overdue'
                   when r.due <= ${ts(w.veryEnd)} then 'due_very_soon'
                   else 'due_soon' end)::reminder_kind,
             ${w.day}::date, ${ts(now)}
      from (select id, coalesce(extended_due_at, due_at) as due from requests
            where status = any(${open}) and coalesce(extended_due_at, due_at) <= ${ts(w.soonEnd)}) r
      on conflict on constraint reminders_sent_request_kind_day_key do nothing
      returning kind
    )
    select kind::text as kind, count(*)::int as n from ins group by kind`);

  // The window to notify an extension closes soon, and the request has not been extended.
  const extension = await db.execute<{ kind: string; n: number }>(sql`
    with ins as (
      insert into reminders_sent (request_id, kind, day, created_at)
      select id, 'extension_window', ${w.day}::date, ${ts(now)}
      from requests
      where status = any(${open}) and extended_due_at is null and extension_notice_by is not null
        and extension_notice_by >= ${ts(w.todayStart)} and extension_notice_by <= ${ts(w.extensionEnd)}
      on conflict on constraint reminders_sent_request_kind_day_key do nothing
      returning kind
    )
    select kind::text as kind, count(*)::int as n from ins group by kind`);

  // Acknowledgements at risk: queue the ones that can be sent (a row per day, delivered at once — it is no digest
  // line); escalate the ones that cannot, or that were queued on an earlier day and still did not go out.
  const ackCandidates = sql`
    select id, status from requests
    where status = any(${open}) and acknowledge_by is not null and acknowledged_at is null and acknowledge_by <= ${ts(w.acknowledgeEnd)}`;
  const enqueued = await db.execute<{ requestId: string }>(sql`
    insert into reminders_sent (request_id, kind, day, created_at, notified_at)
    select id, 'acknowledgement_enqueued', ${w.day}::date, ${ts(now)}, ${ts(now)}
    from (${ackCandidates}) c
    where c.status = any(${ackable})
    on conflict on constraint reminders_sent_request_kind_day_key do nothing
    returning request_id as "requestId"`);
  const escalated = await db.execute<{ kind: string; n: number }>(sql`
    with ins as (
      insert into reminders_sent (request_id, kind, day, created_at)
      select c.id, 'acknowledgement_due', ${w.day}::date, ${ts(now)}
      from (${ackCandidates}) c
      where not (c.status = any(${ackable}))
         or exists (select 1 from reminders_sent s
                    where s.request_id = c.id and s.kind = 'acknowledgement_enqueued' and s.day < ${w.day}::date)
      on conflict on constraint reminders_sent_request_kind_day_key do nothing
      returning kind
    )
    select kind::text as kind, count(*)::int as n from ins group by kind`);

  const acknowledgementRequestIds = (enqueued as unknown as { requestId: string }[]).map((r) => r.requestId);
  const recorded = countByKind([
    ...(due as unknown as { kind: string; n: number }[]),
    ...(extension as unknown as { kind: string; n: number }[]),
    ...(escalated as unknown as { kind: string; n: number }[]),
  ]);
  if (acknowledgementRequestIds.length > 0) recorded.acknowledgement_enqueued = acknowledgementRequestIds.length;
  return { day: w.day, recorded, acknowledgementRequestIds };
}

type PendingRow = {
  id: number;
  kind: DigestKind;
  notifiedStaffIds: string[];
  reference: string;
  type: keyof typeof requestTypeLabels;
  regime: keyof typeof regimeLabels;
  status: RequestStatus;
  dueAt: Date;
  extendedDueAt: Date | null;
  extensionNoticeBy: Date | null;
  acknowledgeBy: Date | null;
  assigneeId: string | null;
};

type Recipient = { id: string; email: string; role: string };

/** Who gets a reminder: the assignee when active, else every active admin and processor. */
export function recipientsFor(assigneeId: string | null, active: ReadonlyMap<string, Recipient>, fallback: readonly Recipient[]): readonly Recipient[] {
  const assignee = assigneeId ? active.get(assigneeId) : undefined;
  return assignee ? [assignee] : fallback;
}

function deadlineOf(row: PendingRow): Date {
  if (row.kind === "extension_window") return row.extensionNoticeBy ?? row.dueAt;
  if (row.kind === "acknowledgement_due") return row.acknowledgeBy ?? row.dueAt;
  return row.extendedDueAt ?? row.dueAt;
}

function digestItem(row: PendingRow, today: Day, s: ReminderSettings, appUrl: string): DigestItem {
  const deadline = deadlineOf(row);
  return {
    reference: row.reference,
    requestType: requestTypeLabels[row.type],
    regime: regimeLabels[row.regime],
    status: row.status.replaceAll("_", " "),
    dueDate: formatDueDate(deadline, s.timeZone),
    daysLeft: localDay(deadline, s.timeZone) - today,
    url: `${appUrl}/admin/requests/${row.reference}`,
  };
}

/** The digest's sections from rows, most urgent first within each, capped at DIGEST_SECTION_LIMIT. */
export function buildSections(rows: readonly PendingRow[], today: Day, s: ReminderSettings, appUrl: string) {
  const sections = Object.fromEntries(DIGEST_KINDS.map((k) => [k, { items: [] as DigestItem[], more: 0 }])) as Record<DigestKind, DigestSection>;
  const sorted = [...rows].sort((a, b) => deadlineOf(a).getTime() - deadlineOf(b).getTime() || a.reference.localeCompare(b.reference));
  for (const row of sorted) {
    const section = sections[row.kind];
    if (section.items.length < DIGEST_SECTION_LIMIT) section.items.push(digestItem(row, today, s, appUrl));
    else section.more += 1;
  }
  return sections;
}

/**
 * Phase 2: sends today's undelivered reminders as one digest per recipient. Throws when some digest could not be
 * sent (after trying all), so the job is retried; the retry sends only what is still missing.
 */
export async function deliverDigests(db: Executor, { clock = schedulerClock, settings = reminderSettings() }: ReminderOptions = {}) {
  const env = getEnv();
  const now = clock();
  const { today, day } = reminderWindows(now, settings);
  return db.transaction(async (tx) => {
    // One deliverer at a time; the lock ends with this transaction (or with the connection if the process dies).
    await tx.execute(sql`select pg_advisory_xact_lock(${DELIVERY_LOCK_KEY.toString()}::bigint)`);
    const rows = (await tx
      .select({
        id: remindersSent.id,
        kind: remindersSent.kind,
        notifiedStaffIds: remindersSent.notifiedStaffIds,
        reference: requests.reference,
        type: requests.type,
        regime: requests.regime,
        status: requests.status,
        dueAt: requests.dueAt,
        extendedDueAt: requests.extendedDueAt,
        extensionNoticeBy: requests.extensionNoticeBy,
        acknowledgeBy: requests.acknowledgeBy,
        assigneeId: requests.assigneeId,
      })
      .from(remindersSent)
      .innerJoin(requests, eq(requests.id, remindersSent.requestId))
      .where(and(eq(remindersSent.day, day), isNull(remindersSent.notifiedAt), inArray(remindersSent.kind, [...DIGEST_KINDS])))) as PendingRow[];
    const result = { pending: rows.length, digests: 0, failedDigests: 0, delivered: 0, withoutRecipient: 0 };
    if (rows.length === 0) return result;

    const staff = await tx
      .select({ id: staffUsers.id, email: staffUsers.email, role: staffUsers.role })
      .from(staffUsers)
      .where(isNull(staffUsers.disabledAt));
    const active = new Map(staff.map((s) => [s.id, s]));
    const workers = staff.filter((s) => s.role === "admin" || s.role === "processor");

    // recipient id → the rows their digest still lacks
    const byRecipient = new Map<string, { recipient: Recipient; rows: PendingRow[] }>();
    const recipientsOfRow = new Map<number, readonly Recipient[]>();
    for (const row of rows) {
      const recipients = recipientsFor(row.assigneeId, active, workers);
      recipientsOfRow.set(row.id, recipients);
      if (recipients.length === 0) result.withoutRecipient += 1;
      for (const r of recipients) {
        if (row.notifiedStaffIds.includes(r.id)) continue;
        let entry = byRecipient.get(r.id);
        if (!entry) byRecipient.set(r.id, (entry = { recipient: r, rows: [] }));
        entry.rows.push(row);
      }
    }

    const delivered = new Map<number, Set<string>>(rows.map((r) => [r.id, new Set(r.notifiedStaffIds)]));
    const dayLabel = formatDueDate(endOfDay(today, settings.timeZone), settings.timeZone);
    for (const { recipient, rows: theirs } of byRecipient.values()) {
      const sections = buildSections(theirs, today, settings, env.APP_URL);
      try {
        await sendEmail({
          to: recipient.email,
          template: "deadline-digest",
          props: {
            dayLabel,
            consoleUrl: `${env.APP_URL}/admin`,
            sections,
            thresholds: {
              dueSoonDays: settings.dueSoonDays,
              dueVerySoonDays: settings.dueVerySoonDays,
              extensionWarningDays: settings.extensionWarningDays,
              acknowledgementWarningBusinessDays: settings.acknowledgementWarningBusinessDays,
            },
          },
        });
      } catch (err) {
        result.failedDigests += 1;
        logger.warn({ err, staffId: recipient.id }, "deadline digest not sent; the job will retry it");
        continue;
      }
      result.digests += 1;
      const ids = theirs.map((r) => r.id);
      // Outside the lock's transaction, so the record survives whatever happens to the rest of this run.
      await db.execute(sql`
        update reminders_sent set notified_staff_ids = array_append(notified_staff_ids, ${recipient.id}::uuid)
        where id = any(${pgArray(ids, "bigint")})
          and not (${recipient.id}::uuid = any(notified_staff_ids))`);
      for (const id of ids) delivered.get(id)!.add(recipient.id);
    }

    const done = rows
      .filter((r) => {
        const recipients = recipientsOfRow.get(r.id)!;
        return recipients.length > 0 && recipients.every((x) => delivered.get(r.id)!.has(x.id));
      })
      .map((r) => r.id);
    for (let i = 0; i < done.length; i += 10_000) {
      const chunk = done.slice(i, i + 10_000);
      await db.execute(sql`
        update reminders_sent set notified_at = ${ts(clock())}
        where id = any(${pgArray(chunk, "bigint")})`);
    }
    result.delivered = done.length;
    if (result.failedDigests > 0) throw new DigestDeliveryError(result.failedDigests, result.digests);
    return result;
  });
}

export class DigestDeliveryError extends Error {
  override readonly name = "DigestDeliveryError";
  constructor(
    readonly failed: number,
    readonly sent: number,
  ) {
    super(`${failed} deadline digest(s) could not be sent (${sent} sent); the retry sends only the missing ones`);
  }
}

/**
 * Job `deadline-reminders`: record, queue late acknowledgements, deliver. Returns the counts. The run reads the clock
 * once, so a run that straddles midnight records and delivers the same day.
 */
export async function runDeadlineReminders(db: Executor, { clock = schedulerClock, settings = reminderSettings() }: ReminderOptions = {}) {
  const startedAt = clock().getTime();
  const options: ReminderOptions = { clock: () => new Date(startedAt), settings };
  const recorded = await recordReminders(db, options);
  let acknowledgementsQueued = 0;
  for (const requestId of recorded.acknowledgementRequestIds) {
    try {
      await enqueueAgain("send-acknowledgement", { requestId });
      acknowledgementsQueued += 1;
    } catch (err) {
      // Tomorrow's run escalates it to staff if it still has not gone out; reconcile also retries it meanwhile.
      logger.warn({ err, requestId }, "could not queue an acknowledgement");
    }
  }
  const delivery = await deliverDigests(db, options);
  return { day: recorded.day, recorded: recorded.recorded, acknowledgementsQueued, ...delivery };
}
