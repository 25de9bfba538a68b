/**
 * `npm run bench:reminders [-- --requests 1000000 --due-share 0.05 --runs 2 --keep --dry]`
 *
 * How long the deadline-reminder job takes over a large backlog, and that it never duplicates. A dedicated database
 * `portal_bench_reminders` (dropped, created and migrated with db/migrate.ts, dropped at the end unless --keep) gets
 * `--requests` open requests in one `INSERT … SELECT generate_series` (no per-row round trips): `--due-share` of them
 * due between 2 days ago and 7 days ahead, the rest 8–60 days ahead; one in 20 CCPA with an acknowledgement date
 * (a few never acknowledged); 1 % assigned to one processor; three more staff get the unassigned digest; then
 * VACUUM ANALYZE (the state autovacuum keeps a live table in). The clock
 * is fixed at 15 June 2026, 08:00 in Europe/Berlin (no DST change within ±60 days of it).
 *
 * Then, with the real model code against the real PostgreSQL, Redis (own key prefix, deleted at the end) and an SMTP
 * catcher started here:
 *   record   `recordReminders` — the set-based INSERT … ON CONFLICT DO NOTHING statements (target: < 5 s for 1M);
 *   queue    the acknowledgements it asks for, `enqueueAgain` each;
 *   deliver  `deliverDigests` — one digest email per recipient (sections capped at 100 lines) and the
 *            per-recipient bookkeeping on every row;
 *   rerun    the whole job again the same day (everything conflicts: the idempotency cost);
 *   race     four whole jobs at once on the next day (one records and delivers, the others find nothing).
 * Checks: zero (request, kind, day) duplicates, rows recorded = requests in the windows (counted independently in
 * SQL), one digest per recipient and day. Figures are printed and written into docs/BENCHMARKS.md under "Reminders"
 * (between the bench:reminders markers; --dry skips that).
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import type postgres from "postgres";
import { PG_BASE, REDIS_URL, dropDatabase, fmt, freshDatabase, machineLine, sweepRedis, writeBenchmarkBlock } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "1000000" },
    "due-share": { type: "string", default: "0.05" },
    runs: { type: "string", default: "2" },
    keep: { type: "boolean", default: false },
    dry: { type: "boolean", default: false },
  },
});
const N = Number(args.requests);
const DUE_SHARE = Number(args["due-share"]);
const RUNS = Number(args.runs);
if (!(Number.isInteger(N) && N >= 1000 && N <= 10_000_000) || !(DUE_SHARE > 0 && DUE_SHARE <= 1) || !(RUNS >= 1 && RUNS <= 10)) {
  console.error("usage: npm run bench:reminders -- [--requests 1000..10000000] [--due-share 0..1] [--runs 1..10] [--keep] [--dry]");
  process.exit(64);
}

const DB_NAME = "portal_bench_reminders";
const DATABASE_URL = `${PG_BASE}/${DB_NAME}`;
const REDIS_PREFIX = `bench-reminders-${process.pid}`;
const TIME_ZONE = "Europe/Berlin";
const NOW = new Date("2026-06-15T06:00:00Z"); // 08:00 CEST
const NEXT_DAY = new Date("2026-06-16T06:00:00Z");
const TARGET_MS = 5000;

// The portal's configuration for this process, before anything reads it.
const { startMailCatcher } = await import("#app/utils/mail-catcher.server.ts");
const mailbox = await startMailCatcher();
Object.assign(process.env, {
  NODE_ENV: "test", // no .env file; secrets below
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
  DATABASE_URL,
  REDIS_URL,
  REDIS_PREFIX,
  SMTP_URL: mailbox.url,
  ORG_TIMEZONE: TIME_ZONE,
  SESSION_SECRET: randomBytes(32).toString("hex"),
  ENCRYPTION_KEYS: `bench1:${randomBytes(32).toString("base64")}`,
  BLIND_INDEX_KEY: randomBytes(32).toString("base64"),
  APP_URL: "http://localhost:3000",
});
const { getDb, getSql, closeDb } = await import("#db/client.server.ts");
const { recordReminders, deliverDigests, runDeadlineReminders, reminderSettings, reminderWindows, OPEN_STATUSES } = await import("#app/models/reminders.server.ts");
const { enqueueAgain } = await import("#app/models/schedules.server.ts");
const { getEnv } = await import("#app/utils/env.server.ts");
const { closeQueues } = await import("#jobs/queues.ts");
const { closeMailer } = await import("#app/utils/mailer.server.ts");

const ms = (t0: number) => Math.round(performance.now() - t0);
const cleanRedis = () => sweepRedis(REDIS_URL, `${REDIS_PREFIX}:`);

/** N open requests in one statement; `dueShare` of them due from 2 days ago to 7 days ahead of NOW (Berlin days). */
async function generate(sql: postgres.Sql, processorId: string) {
  const todayEnd = "2026-06-15T21:59:59.999Z"; // 15 June 23:59:59.999 CEST
  const dueEvery = Math.round(1 / DUE_SHARE);
  // Plain indexes are dropped for the load and rebuilt after it (much faster than maintaining them row by row);
  // constraint indexes (primary key, unique) stay. The definitions come from the migrated schema itself.
  const indexes = await sql<{ name: string; def: string }[]>`
    select indexname as name, indexdef as def from pg_indexes
    where schemaname = 'public' and tablename = 'requests'
      and indexname not in (select conname from pg_constraint where conrelid = 'requests'::regclass)`;
  for (const i of indexes) await sql.unsafe(`drop index "${i.name}"`);
  await sql.unsafe(`
    insert into requests (id, reference, type, regime, jurisdiction, status, required_verification_level, identity_ciphertext,
                          email_index, received_at, acknowledged_at, acknowledge_by, due_at, extension_notice_by, assignee_id,
                          created_at, updated_at)
    select gen_random_uuid(),
           'PR-' || substr(h, 1, 4) || '-' || substr(h, 5, 4),
           'access',
           (case when i % 20 = 0 then 'ccpa' else 'gdpr' end)::regime,
           case when i % 20 = 0 then 'US-CA' else 'EU' end,
           (array['verified','in_review','approved','processing','action_required','awaiting_information','pending_verification'])[1 + i % 7]::request_status,
           1,
           'bench-not-a-ciphertext',
           md5(i::text),
           due - interval '30 days',
           case when i % 20 = 0 and i % 2000 <> 0 then due - interval '30 days' end,
           case when i % 20 = 0 then '${todayEnd}'::timestamptz + ((i / 20) % 30 - 5) * interval '1 day' end,
           due,
           due,
           case when i % 100 = 1 then '${processorId}'::uuid end,
           now(), now()
    from generate_series(1, ${N}) as i,
         lateral (select lpad(upper(to_hex(i)), 8, '0') as h,
                         '${todayEnd}'::timestamptz
                           + (case when i % ${dueEvery} = 0 then ((i / ${dueEvery}) % 10) - 2 else 8 + (i % 53) end) * interval '1 day' as due) x`);
  for (const i of indexes) await sql.unsafe(i.def);
  // The steady state autovacuum keeps a live table in: statistics and the visibility map (index-only scans).
  await sql.unsafe("vacuum analyze requests");
  return indexes.length;
}

type Figures = { recordMs: number; recorded: number; acksRecorded: number; queueMs: number; deliverMs: number; digests: number; delivered: number; totalMs: number };

const loadAtStart = os.loadavg()[0]!.toFixed(1);

async function main() {
  console.log(`bench:reminders — ${fmt(N)} open requests, ${DUE_SHARE * 100} % due within 7 days (or overdue), ${TIME_ZONE}`);
  await freshDatabase(PG_BASE, DB_NAME, { migrate: true });
  await cleanRedis();
  const sql = getSql();
  const db = getDb();

  const staff = await sql<{ id: string; role: string }[]>`
    insert into staff_users (email, name, role, password_hash)
    values ('bench-admin-1@example.com', 'Bench Admin 1', 'admin', 'x'), ('bench-admin-2@example.com', 'Bench Admin 2', 'admin', 'x'),
           ('bench-processor-1@example.com', 'Bench Processor 1', 'processor', 'x'), ('bench-auditor@example.com', 'Bench Auditor', 'auditor', 'x')
    returning id, role`;
  const processorId = staff.find((s) => s.role === "processor")!.id;

  let t0 = performance.now();
  const rebuilt = await generate(sql, processorId);
  const generateMs = ms(t0);
  console.log(`  generated ${fmt(N)} requests in ${fmt(generateMs)} ms (insert … select generate_series, ${rebuilt} indexes rebuilt, vacuum analyze)`);

  const settings = reminderSettings(getEnv());
  const w = reminderWindows(NOW, settings);
  const [expected] = await sql<{ due: number; ext: number; ack: number }[]>`
    select count(*) filter (where coalesce(extended_due_at, due_at) <= ${w.soonEnd.toISOString()}::timestamptz)::int as due,
           count(*) filter (where extended_due_at is null and extension_notice_by between ${w.todayStart.toISOString()}::timestamptz and ${w.extensionEnd.toISOString()}::timestamptz)::int as ext,
           count(*) filter (where acknowledged_at is null and acknowledge_by <= ${w.acknowledgeEnd.toISOString()}::timestamptz)::int as ack
    from requests where status = any(${OPEN_STATUSES}::request_status[])`;
  console.log(`  in the windows on ${w.day}: ${fmt(expected!.due)} due/overdue, ${fmt(expected!.ext)} extension windows, ${fmt(expected!.ack)} acknowledgements at risk`);

  const clock = () => new Date(NOW.getTime());
  const runs: Figures[] = [];
  for (let run = 1; run <= RUNS; run++) {
    t0 = performance.now();
    const recorded = await recordReminders(db, { clock, settings });
    const recordMs = ms(t0);
    t0 = performance.now();
    for (const requestId of recorded.acknowledgementRequestIds) await enqueueAgain("send-acknowledgement", { requestId });
    const queueMs = ms(t0);
    t0 = performance.now();
    const delivered = await deliverDigests(db, { clock, settings });
    const deliverMs = ms(t0);
    const f: Figures = {
      recordMs,
      recorded: Object.entries(recorded.recorded)
        .filter(([k]) => k !== "acknowledgement_enqueued")
        .reduce((n, [, v]) => n + (v ?? 0), 0),
      acksRecorded: recorded.recorded.acknowledgement_enqueued ?? 0,
      queueMs,
      deliverMs,
      digests: delivered.digests,
      delivered: delivered.delivered,
      totalMs: recordMs + queueMs + deliverMs,
    };
    runs.push(f);
    console.log(
      `  run ${run}: record ${fmt(f.recordMs)} ms (${fmt(f.recorded)} reminders + ${fmt(f.acksRecorded)} acknowledgements queued), queue ${fmt(f.queueMs)} ms, ` +
        `deliver ${fmt(f.deliverMs)} ms (${f.digests} digests, ${fmt(f.delivered)} reminders) — ${fmt(f.totalMs)} ms`,
    );
  }

  // Four whole jobs at once on the next day.
  t0 = performance.now();
  const raced = await Promise.all([1, 2, 3, 4].map(() => runDeadlineReminders(db, { clock: () => new Date(NEXT_DAY.getTime()), settings })));
  const raceMs = ms(t0);
  const raceDigests = raced.reduce((n, r) => n + r.digests, 0);
  const raceRecorded = raced.reduce((n, r) => n + Object.values(r.recorded).reduce((a, b) => a + (b ?? 0), 0), 0);
  console.log(`  race: 4 jobs at once on the next day — ${fmt(raceMs)} ms, ${fmt(raceRecorded)} rows recorded in all, ${raceDigests} digests in all`);

  const [dup] = await sql<{ n: number }[]>`select count(*)::int as n from (select 1 from reminders_sent group by request_id, kind, day having count(*) > 1) d`;
  // Every request in a window has exactly one row per window on the first day (an acknowledgement at risk: queued or escalated).
  const [rows] = await sql<{ n: number }[]>`select count(*)::int as n from reminders_sent where day = ${w.day}::date`;
  const recipients = staff.filter((s) => s.role !== "auditor").length;
  const digestsToday = mailbox.messages.filter((m) => m.subject.startsWith("Deadline digest for 15 June 2026")).length;
  const digestsNext = mailbox.messages.filter((m) => m.subject.startsWith("Deadline digest for 16 June 2026")).length;
  const expectedRows = expected!.due + expected!.ext + expected!.ack;
  const checks = {
    duplicates: dup!.n,
    rowsMatchWindows: rows!.n === expectedRows,
    digestsPerRecipientDay1: digestsToday / recipients,
    digestsPerRecipientDay2: digestsNext / recipients,
  };
  console.log(`  checks: ${dup!.n} duplicates; ${fmt(rows!.n)} rows for ${w.day} (expected ${fmt(expectedRows)}); digests ${digestsToday} and ${digestsNext} for ${recipients} recipients`);
  const first = runs[0]!;
  const met = first.recordMs + first.queueMs < TARGET_MS && checks.duplicates === 0 && checks.rowsMatchWindows && digestsToday === recipients && digestsNext === recipients;
  console.log(`  target (record + queue < ${TARGET_MS} ms, zero duplicates, one digest per recipient and day): ${met ? "met" : "NOT met"}`);

  const machine = `${machineLine()}, load average ${loadAtStart} at the start (shared machine)`;
  const [pg] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; Node ${process.version}, PostgreSQL ${pg!.v}, Redis at ${REDIS_URL.replace(/\/\/.*@/, "//")}.`,
    `Command: \`npm run bench:reminders -- --requests ${N} --due-share ${DUE_SHARE} --runs ${RUNS}\` (database \`${DB_NAME}\`, clock fixed at 15 June 2026 08:00 ${TIME_ZONE}).`,
    "",
    `${fmt(N)} open requests generated in ${fmt(generateMs)} ms; in the windows: ${fmt(expected!.due)} due within 7 days or overdue, ${fmt(expected!.ext)} extension windows closing, ${fmt(expected!.ack)} acknowledgements at risk; ${recipients} recipients (1 % of requests assigned).`,
    "",
    "| run | record (INSERT … ON CONFLICT) | queue acknowledgements | deliver digests | total | reminders recorded | digests |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...runs.map((f, i) => `| ${i + 1}${i === 0 ? " (first of the day)" : " (same day again)"} | ${fmt(f.recordMs)} ms | ${fmt(f.queueMs)} ms | ${fmt(f.deliverMs)} ms | ${fmt(f.totalMs)} ms | ${fmt(f.recorded)} | ${f.digests} |`),
    `| 4 jobs at once, next day | | | | ${fmt(raceMs)} ms | ${fmt(raceRecorded)} | ${raceDigests} |`,
    "",
    `Checks: **${checks.duplicates} duplicate** (request, kind, day) rows; ${fmt(rows!.n)} rows for the first day = ${fmt(expectedRows)} requests in the windows (counted separately); ${digestsToday} and ${digestsNext} digests for ${recipients} recipients on the two days. ` +
      `Target (record + queue < ${TARGET_MS / 1000} s for the first run, zero duplicates): **${met ? "met" : "not met"}**.`,
  ];
  const markdown = lines.join("\n");
  console.log(`\n${markdown}\n`);
  if (!args.dry) console.log(`written to ${writeBenchmarkBlock("reminders", markdown, "## Reminders: the deadline-reminder job over 1M open requests (`npm run bench:reminders`)")}`);
  return met;
}

let ok = false;
try {
  ok = await main();
} finally {
  await closeQueues().catch(() => {});
  await closeMailer().catch(() => {});
  await closeDb().catch(() => {});
  await mailbox.close().catch(() => {});
  await cleanRedis().catch(() => {});
  if (!args.keep) await dropDatabase(PG_BASE, DB_NAME).catch(() => {});
}
process.exit(ok ? 0 : 1);
