import { sql } from "drizzle-orm";
import { bigint, bigserial, date, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { requests } from "./requests.ts";
import { staffUsers } from "./staff.ts";

/**
 * What a scheduled job promised to tell someone, once per request, kind and day:
 * - staff digest lines: `due_soon`, `due_very_soon`, `overdue`, `extension_window`, `acknowledgement_due`;
 * - `acknowledgement_enqueued`: the acknowledgement watch queued the requester's acknowledgement (no digest line);
 * - `expiry_notice`: the requester's notice that their request expired or was closed (an outbox row, sent by the
 *   `send-expiry-notice` job).
 */
export const reminderKinds = [
  "due_soon",
  "due_very_soon",
  "overdue",
  "extension_window",
  "acknowledgement_due",
  "acknowledgement_enqueued",
  "expiry_notice",
] as const;
export type ReminderKind = (typeof reminderKinds)[number];
export const reminderKind = pgEnum("reminder_kind", reminderKinds);

/**
 * One row per (request, kind, day) — `day` is the calendar day in ORG_TIMEZONE. The unique constraint is the
 * idempotency: a run inserts with ON CONFLICT DO NOTHING *before* anything is sent, so however often the job runs,
 * retries or restarts, a reminder exists at most once a day. `notified_at`: every recipient has it (digest kinds,
 * see `reminder_digests`), or the notice went out (`expiry_notice`). No personal data: ids, a kind and a date.
 *
 * `request_id` has no foreign key on purpose: rows are only ever inserted by INSERT … SELECT from `requests` itself,
 * and requests are never deleted (the audit trail references them); a per-row key check (and the KEY SHARE lock it
 * takes on each request) was 40 % of the job's time on a large backlog (docs/BENCHMARKS.md, "Reminders").
 */
export const remindersSent = pgTable(
  "reminders_sent",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: uuid("request_id").notNull(),
    kind: reminderKind("kind").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    notifiedAt: timestamp("notified_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    unique("reminders_sent_request_kind_day_key").on(t.requestId, t.kind, t.day),
    index("reminders_sent_pending_idx").on(t.day, t.id).where(sql`${t.notifiedAt} is null`),
  ],
);

/**
 * The deadline digests a staff member has received, per organisation day: every digest reminder of that day with an
 * id up to `through_id` that was theirs when it was sent. Written (committed) right after each digest email, so a
 * retry after a partial failure sends only the digests still missing — one small row per recipient, not a write per
 * reminder.
 */
export const reminderDigests = pgTable(
  "reminder_digests",
  {
    staffId: uuid("staff_id")
      .notNull()
      .references(() => staffUsers.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    throughId: bigint("through_id", { mode: "number" }).notNull(),
    reminders: integer("reminders").notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.staffId, t.day], name: "reminder_digests_pkey" })],
);

export type ReminderRow = typeof remindersSent.$inferSelect;

export const schedulerRunOutcomes = ["running", "succeeded", "failed"] as const;
export type SchedulerRunOutcome = (typeof schedulerRunOutcomes)[number];
export const schedulerRunOutcome = pgEnum("scheduler_run_outcome", schedulerRunOutcomes);

/**
 * Every run of a job produced by a BullMQ job scheduler, recorded by the worker: when it started and finished, how
 * it ended and what it counted (`counts`: numbers only), for the operational view (/admin/schedules).
 */
export const schedulerRuns = pgTable(
  "scheduler_runs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    schedulerId: text("scheduler_id").notNull(),
    jobId: text("job_id"),
    attempt: integer("attempt").notNull().default(1),
    startedAt: timestamp("started_at", { withTimezone: true, precision: 3 }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true, precision: 3 }),
    outcome: schedulerRunOutcome("outcome").notNull().default("running"),
    counts: jsonb("counts").$type<Record<string, number>>().notNull().default({}),
    /** The error's class and a scrubbed, truncated message; never personal data. */
    error: text("error"),
  },
  (t) => [index("scheduler_runs_scheduler_started_idx").on(t.schedulerId, t.startedAt)],
);

export type SchedulerRunRow = typeof schedulerRuns.$inferSelect;

/**
 * Requests whose personal data the retention job removed (RETENTION_MONTHS after they closed): when, and how many
 * documents went with it. The request row itself stays, minimized, as the record of compliance.
 */
export const requestAnonymizations = pgTable("request_anonymizations", {
  requestId: uuid("request_id")
    .primaryKey()
    .references(() => requests.id),
  anonymizedAt: timestamp("anonymized_at", { withTimezone: true, precision: 3 }).notNull(),
  documentsDeleted: integer("documents_deleted").notNull().default(0),
});
