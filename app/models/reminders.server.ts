/**
 * Deadline reminders and the acknowledgement watch (job `deadline-reminders`).
 *
 * A run has two phases:
 * 1. **Record.** Two set-based INSERT … SELECT … ON CONFLICT DO NOTHING statements (one recorder at a time) write one `reminders_sent` row
 *    per (request, kind, day) — day = today in ORG_TIMEZONE — for every open request that is overdue, due within
 *    REMINDER_DUE_VERY_SOON_DAYS or REMINDER_DUE_SOON_DAYS, whose extension-notice window closes within
 *    EXTENSION_WINDOW_WARNING_DAYS, or whose acknowledgement is due within ACKNOWLEDGEMENT_WARNING_BUSINESS_DAYS
 *    business days without having been sent. The unique constraint makes the row the promise: however often the job
 *    runs, retries or restarts, there is at most one reminder per request, kind and day. An acknowledgement that can
 *    be sent is queued (once a day at most, the row says so); one that cannot (the request still waits for
 *    verification, or yesterday's attempt did not land) is escalated to staff.
 * 2. **Deliver.** Under a transaction-scoped advisory lock (one deliverer at a time), today's undelivered rows are
 *    grouped by recipient — the request's assignee, or every active admin and processor when there is none — and one
 *    digest email goes to each. After each email the recipient's watermark (`reminder_digests.through_id`) is
 *    committed, so a retry after a partial failure sends only what is missing; the rows are done (`notified_at`)
 *    when every recipient has them. Both phases read a large backlog in SQL, not in the process (docs/BENCHMARKS.md).
 *
 * Digests carry references, types, laws, statuses, due dates and days left — never who the subject is.
 */
import { sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { openRequestStatuses, type Regime, type ReminderKind, type RequestStatus, type RequestType } from "#db/schema/index.ts";
import { isoOfDay, type Day } from "#app/models/calendar/civil-date.ts";
import { addWorkingDays, parseHolidays, type Holidays } from "#app/models/calendar/working-days.ts";
import { endOfDay, localDay, startOfDay } from "#app/models/calendar/zone.ts";
import { getEnv, type Env } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import type { Clock } from "#app/utils/clock.ts";
import type { DigestItem, DigestSection } from "#app/emails/deadline-digest.tsx";
import { ACKNOWLEDGEABLE_STATUSES } from "./acknowledgement.server.ts";
import { formatDueDate } from "./deadlines.ts";
import { regimeLabels } from "./regions.ts";
import { requestTypeLabels } from "./request-types.ts";
import { CLOSED_STATUSES } from "./retention.server.ts";
import { enqueueAgain, schedulerClock } from "./schedules.server.ts";

/** Statuses in which a request is still open: deadlines run, reminders apply. */
export const OPEN_STATUSES: RequestStatus[] = [...openRequestStatuses];

/** Kinds that are lines of the staff digest, in the digest's order. */
export const DIGEST_KINDS = ["overdue", "due_very_soon", "due_soon", "extension_window", "acknowledgement_due"] as const satisfies readonly ReminderKind[];
export type DigestKind = (typeof DIGEST_KINDS)[number];

/** A digest lists at most this many requests per section, then "and N more". */
export const DIGEST_SECTION_LIMIT = 100;

/** Key of the advisory lock that lets one run record reminders at a time (ASCII "remind"). */
const RECORD_LOCK_KEY = 0x72656d696e64n;
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
 * A constant list of enum values as an SQL literal (not a parameter), so the planner can match partial indexes
 * whose predicate is such a list.
 */
function enumArray(values: readonly string[], type: "request_status" | "reminder_kind") {
  for (const v of values) if (!/^[a-z_]+$/.test(v)) throw new TypeError("not an enum value");
  return sql.raw(`'{${values.join(",")}}'::${type}[]`);
}
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/**
 * "Still open", written as "not closed": the same set of statuses, in the form of the staff queue's partial index on
 * the effective due date (db/schema/requests.ts), which then answers the due-date scan from the index alone.
 */
const notClosed = sql`status <> all(${enumArray(CLOSED_STATUSES, "request_status")})`;

/**
 * Phase 1: records today's reminders (idempotent) and returns how many rows each kind gained, plus the requests
 * whose acknowledgement this run must queue. Two statements: the due dates (an index scan), and the extension
 * windows and acknowledgements together (one pass over the open requests).
 */
export async function recordReminders(db: Executor, { clock = schedulerClock, settings = reminderSettings() }: ReminderOptions = {}) {
  const now = clock();
  const w = reminderWindows(now, settings);
  const ackable = enumArray(ACKNOWLEDGEABLE_STATUSES, "request_status");
  // One recorder at a time: concurrent runs inserting the same keys in different orders could deadlock on the unique
  // index; serialized, a second run waits and then finds every row there (ON CONFLICT DO NOTHING).
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${RECORD_LOCK_KEY.toString()}::bigint)`);

    // Due dates: the most urgent of overdue / very soon / soon, on the effective (extended, if so) due date.
    const due = (await tx.execute(sql`
      with ins as (
        insert into reminders_sent (request_id, kind, day, created_at)
        select id,
               (case when coalesce(extended_due_at, due_at) < ${ts(w.todayStart)} then 'overdue'
                     when coalesce(extended_due_at, due_at) <= ${ts(w.veryEnd)} then 'due_very_soon'
                     else 'due_soon' end)::reminder_kind,
               ${w.day}::date, ${ts(now)}
        from requests
        where ${notClosed} and coalesce(extended_due_at, due_at) <= ${ts(w.soonEnd)}
        on conflict on constraint reminders_sent_request_kind_day_key do nothing
        returning kind
      )
      select kind::text as kind, count(*)::int as n, null::uuid[] as ids from ins group by kind`)) as unknown as KindCount[];

    // Extension windows closing (not extended yet), and acknowledgements at risk: those that can be sent are queued
    // (a row per day, delivered at once: no digest line); those that cannot — or were queued on an earlier day and
    // still did not go out — are escalated to staff.
    const extensionWindow = sql`c.extended_due_at is null and c.extension_notice_by >= ${ts(w.todayStart)} and c.extension_notice_by <= ${ts(w.extensionEnd)}`;
    const acknowledgementAtRisk = sql`c.acknowledged_at is null and c.acknowledge_by <= ${ts(w.acknowledgeEnd)}`;
    const rest = (await tx.execute(sql`
      with c as materialized (
        select id, status, extended_due_at, extension_notice_by, acknowledged_at, acknowledge_by from requests
        where ${notClosed}
          and ((extended_due_at is null and extension_notice_by >= ${ts(w.todayStart)} and extension_notice_by <= ${ts(w.extensionEnd)})
               or (acknowledged_at is null and acknowledge_by <= ${ts(w.acknowledgeEnd)}))
      ),
      ext as (
        insert into reminders_sent (request_id, kind, day, created_at)
        select c.id, 'extension_window', ${w.day}::date, ${ts(now)} from c where ${extensionWindow}
        on conflict on constraint reminders_sent_request_kind_day_key do nothing
        returning request_id
      ),
      enq as (
        insert into reminders_sent (request_id, kind, day, created_at, notified_at)
        select c.id, 'acknowledgement_enqueued', ${w.day}::date, ${ts(now)}, ${ts(now)} from c
        where ${acknowledgementAtRisk} and c.status = any(${ackable})
        on conflict on constraint reminders_sent_request_kind_day_key do nothing
        returning request_id
      ),
      esc as (
        insert into reminders_sent (request_id, kind, day, created_at)
        select c.id, 'acknowledgement_due', ${w.day}::date, ${ts(now)} from c
        where ${acknowledgementAtRisk}
          and (not (c.status = any(${ackable}))
               or exists (select 1 from reminders_sent s
                          where s.request_id = c.id and s.kind = 'acknowledgement_enqueued' and s.day < ${w.day}::date))
        on conflict on constraint reminders_sent_request_kind_day_key do nothing
        returning request_id
      )
      select 'extension_window' as kind, count(*)::int as n, null::uuid[] as ids from ext
      union all select 'acknowledgement_enqueued', count(*)::int, array_agg(request_id) from enq
      union all select 'acknowledgement_due', count(*)::int, null from esc`)) as unknown as KindCount[];

    const recorded: Partial<Record<ReminderKind, number>> = {};
    for (const r of [...due, ...rest]) if (Number(r.n) > 0) recorded[r.kind as ReminderKind] = Number(r.n);
    const acknowledgementRequestIds = rest.find((r) => r.kind === "acknowledgement_enqueued")?.ids ?? [];
    return { day: w.day, recorded, acknowledgementRequestIds };
  });
}

type KindCount = { kind: string; n: number; ids: string[] | null };

type DigestRow = {
  kind: DigestKind;
  reference: string;
  type: RequestType;
  regime: Regime;
  status: RequestStatus;
  deadline: Date;
  total: number;
};

function digestItem(row: DigestRow, today: Day, s: ReminderSettings, appUrl: string): DigestItem {
  return {
    reference: row.reference,
    requestType: requestTypeLabels[row.type],
    regime: regimeLabels[row.regime],
    status: row.status.replaceAll("_", " "),
    dueDate: formatDueDate(row.deadline, s.timeZone),
    daysLeft: localDay(row.deadline, s.timeZone) - today,
    url: `${appUrl}/admin/requests/${row.reference}`,
  };
}

/** The digest's sections from the top rows of each kind (most urgent first) and each kind's total. */
export function buildSections(rows: readonly DigestRow[], today: Day, s: ReminderSettings, appUrl: string) {
  const sections = Object.fromEntries(DIGEST_KINDS.map((k) => [k, { items: [] as DigestItem[], more: 0 }])) as Record<DigestKind, DigestSection>;
  for (const row of rows) {
    const section = sections[row.kind];
    section.items.push(digestItem(row, today, s, appUrl));
    section.more = Number(row.total) - section.items.length;
  }
  return sections;
}

/**
 * Phase 2: sends today's undelivered reminders as one digest per recipient — the request's active assignee, else
 * every active admin and processor. One statement reads the undelivered rows once and returns, for every recipient,
 * the top DIGEST_SECTION_LIMIT lines of each section and the section totals (after that recipient's watermark), so a
 * large backlog never travels into the process. After each email the recipient's watermark (`reminder_digests`) is
 * committed; when every recipient has been served, the rows are marked delivered in one statement. Throws when some
 * digest could not be sent (after trying all), so the job is retried; the retry sends only the missing ones.
 */
export async function deliverDigests(db: Executor, { clock = schedulerClock, settings = reminderSettings() }: ReminderOptions = {}) {
  const env = getEnv();
  const now = clock();
  const { today, day } = reminderWindows(now, settings);
  const digestKinds = enumArray(DIGEST_KINDS, "reminder_kind");
  return db.transaction(async (tx) => {
    // One deliverer at a time; the lock ends with this transaction (or with the connection if the process dies).
    await tx.execute(sql`select pg_advisory_xact_lock(${DELIVERY_LOCK_KEY.toString()}::bigint)`);
    const [range] = (await tx.execute(sql`
      select count(*)::int as pending, coalesce(max(id), 0)::bigint as "maxId" from reminders_sent
      where day = ${day}::date and notified_at is null and kind = any(${digestKinds})`)) as unknown as { pending: number; maxId: string }[];
    const pending = Number(range?.pending ?? 0);
    const maxId = Number(range?.maxId ?? 0);
    const result = { pending, digests: 0, failedDigests: 0, delivered: 0, withoutRecipient: 0 };
    if (pending === 0) return result;

    const staff = (await tx.execute(sql`
      select s.id, s.email, s.role::text as role, coalesce(d.through_id, 0)::bigint as "throughId"
      from staff_users s left join reminder_digests d on d.staff_id = s.id and d.day = ${day}::date
      where s.disabled_at is null
      order by s.created_at, s.id`)) as unknown as { id: string; email: string; role: string; throughId: string }[];
    const isWorker = (role: string) => role === "admin" || role === "processor";
    if (!staff.some((s) => isWorker(s.role))) {
      const [orphans] = (await tx.execute(sql`
        select count(*)::int as n from reminders_sent x
        join requests r on r.id = x.request_id
        left join staff_users a on a.id = r.assignee_id and a.disabled_at is null
        where x.day = ${day}::date and x.notified_at is null and x.kind = any(${digestKinds}) and x.id <= ${maxId} and a.id is null`)) as unknown as { n: number }[];
      result.withoutRecipient = Number(orphans?.n ?? 0);
    }

    const lines = new Map<string, DigestRow[]>();
    if (staff.length > 0) {
      const recipients = sql.join(
        staff.map((m) => sql`(${m.id}::uuid, ${Number(m.throughId)}::bigint, ${isWorker(m.role)}::boolean)`),
        sql`, `,
      );
      const rows = (await tx.execute(sql`
        with owed as materialized (
          select x.id, x.kind::text as kind, r.reference, r.type::text as type, r.regime::text as regime, r.status::text as status,
                 a.id as assignee,
                 case x.kind when 'extension_window' then coalesce(r.extension_notice_by, r.due_at)
                             when 'acknowledgement_due' then coalesce(r.acknowledge_by, r.due_at)
                             else coalesce(r.extended_due_at, r.due_at) end as deadline
          from reminders_sent x
          join requests r on r.id = x.request_id
          left join staff_users a on a.id = r.assignee_id and a.disabled_at is null
          where x.day = ${day}::date and x.notified_at is null and x.kind = any(${digestKinds}) and x.id <= ${maxId}
        ),
        recipients (staff_id, through_id, is_worker) as (values ${recipients}),
        per as (
          select rc.staff_id, o.kind, o.reference, o.type, o.regime, o.status, o.deadline,
                 count(*) over (partition by rc.staff_id, o.kind)::int as total,
                 row_number() over (partition by rc.staff_id, o.kind order by o.deadline, o.reference) as rn
          from recipients rc
          join owed o on o.id > rc.through_id and (o.assignee = rc.staff_id or (o.assignee is null and rc.is_worker))
        )
        select staff_id as "staffId", kind, reference, type, regime, status, deadline, total from per
        where rn <= ${DIGEST_SECTION_LIMIT}
        order by staff_id, kind, rn`)) as unknown as (Omit<DigestRow, "deadline"> & { staffId: string; deadline: string | Date })[];
      for (const { staffId, ...row } of rows) {
        let list = lines.get(staffId);
        if (!list) lines.set(staffId, (list = []));
        list.push({ ...row, deadline: new Date(row.deadline) });
      }
    }

    const dayLabel = formatDueDate(endOfDay(today, settings.timeZone), settings.timeZone);
    for (const member of staff) {
      const theirs = lines.get(member.id);
      if (!theirs || theirs.length === 0) continue;
      const sections = buildSections(theirs, today, settings, env.APP_URL);
      const count = Object.values(sections).reduce((n, x) => n + x.items.length + x.more, 0);
      try {
        await sendEmail({
          to: member.email,
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
        logger.warn({ err, staffId: member.id }, "deadline digest not sent; the job will retry it");
        continue;
      }
      result.digests += 1;
      // Outside the lock's transaction, so the record survives whatever happens to the rest of this run.
      await db.execute(sql`
        insert into reminder_digests (staff_id, day, through_id, reminders, sent_at)
        values (${member.id}::uuid, ${day}::date, ${maxId}, ${count}, ${ts(clock())})
        on conflict (staff_id, day) do update
          set through_id = greatest(reminder_digests.through_id, excluded.through_id),
              reminders = reminder_digests.reminders + excluded.reminders, sent_at = excluded.sent_at`);
    }

    if (result.failedDigests > 0) throw new DigestDeliveryError(result.failedDigests, result.digests);
    // Everyone owed a reminder up to maxId has it (or there is nobody to send it to): done, in one statement.
    if (result.withoutRecipient === 0) {
      const done = (await db.execute(sql`
        with d as (update reminders_sent set notified_at = ${ts(clock())}
                   where day = ${day}::date and notified_at is null and kind = any(${digestKinds}) and id <= ${maxId}
                   returning 1)
        select count(*)::int as n from d`)) as unknown as { n: number }[];
      result.delivered = Number(done[0]?.n ?? 0);
    }
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
