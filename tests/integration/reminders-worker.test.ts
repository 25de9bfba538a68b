/**
 * The reminder job as it runs in production — a BullMQ job scheduler on the real Redis, real workers, Postgres and
 * the SMTP listener — fired every second while the scheduled jobs' clock walks simulated days in Europe/Berlin
 * across the spring DST change and a month end, with extra runs added by hand, several workers at once and a worker
 * restart. However often it runs: exactly one reminder per request, kind and day, one digest per recipient and day.
 */
import { and, eq, gt, sql } from "drizzle-orm";
import { afterAll, describe, expect, it, vi } from "vitest";
import { setSchedulerClock } from "#app/models/schedules.server.ts";
import { getDb } from "#db/client.server.ts";
import { schedulerRuns } from "#db/schema/index.ts";
import { getQueue } from "#jobs/queues.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { eventually } from "#tests/helpers/flow.ts";
import { closeConnections } from "#tests/helpers/worker.ts";
import { addRequest, addStaff, digestsTo, linesUnder, reminderKeys, resetWorld } from "./schedules-fixtures.ts";

vi.hoisted(() => {
  process.env.ORG_TIMEZONE = "Europe/Berlin";
  process.env.REMINDER_CRON = "* * * * * *"; // every second: many runs per simulated moment
  process.env.EXPIRY_CRON = "0 0 1 1 *";
  process.env.RETENTION_CRON = "0 0 1 1 *";
});

const db = getDb();
const workers: RunningWorker[] = [];

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(5000)));
  setSchedulerClock(undefined);
  await closeConnections();
});

/** Sets the scheduled jobs' clock to `iso` and waits until the scheduler has completed `runs` runs at that moment. */
async function liveAt(iso: string, runs = 2) {
  const t = new Date(iso);
  setSchedulerClock(() => new Date(t.getTime()));
  // A few extra runs by hand, as a retry or an operator would add them.
  await Promise.all([1, 2].map(() => getQueue("maintenance").add("deadline-reminders", {})));
  await eventually(async () => {
    const [row] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(schedulerRuns)
      .where(and(eq(schedulerRuns.schedulerId, "deadline-reminders"), eq(schedulerRuns.outcome, "succeeded"), eq(schedulerRuns.startedAt, t)));
    return (row?.n ?? 0) >= runs;
  }, 20_000);
  // Let runs in flight (and the hand-added ones) finish at this moment too.
  await new Promise((r) => setTimeout(r, 300));
}

describe("the deadline-reminders scheduler across simulated days", () => {
  it("sends exactly one reminder per request, kind and day through restarts and races", async () => {
    await resetWorld(db);
    const admin = await addStaff(db, "admin");
    const processor = await addStaff(db, "processor");
    const auditor = await addStaff(db, "auditor");
    // GDPR in Berlin: received 1 March → due 1 April (Wednesday); assigned to the processor: received 27 Feb → due
    // 27 March (Friday). CCPA waiting for verification: acknowledge within 10 business days of Friday 20 March.
    const r1 = await addRequest(db, { receivedAt: "2026-03-01T09:00:00Z", timeZone: "Europe/Berlin" });
    const r2 = await addRequest(db, { receivedAt: "2026-02-27T09:00:00Z", timeZone: "Europe/Berlin", assigneeId: processor.id });
    const r3 = await addRequest(db, {
      region: "US-CA",
      receivedAt: "2026-03-20T09:00:00Z",
      timeZone: "Europe/Berlin",
      status: "pending_verification",
      acknowledged: false,
    });
    expect(r1.dueAt.toISOString()).toBe("2026-04-01T21:59:59.999Z");
    expect(r2.dueAt.toISOString()).toBe("2026-03-27T22:59:59.999Z");
    expect(r3.acknowledgeBy?.toISOString()).toBe("2026-04-03T21:59:59.999Z");

    setSchedulerClock(() => new Date("2026-03-27T06:59:00Z")); // before any worker runs the scheduler
    workers.push(await startWorker({ concurrency: 3 }), await startWorker({ concurrency: 2 }));
    const days = ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02"];
    const instants: Record<string, [string, string]> = {
      "2026-03-27": ["2026-03-27T06:59:00Z", "2026-03-27T22:30:00Z"], // 07:59 and 23:30 CET
      "2026-03-28": ["2026-03-28T06:59:00Z", "2026-03-28T22:30:00Z"],
      "2026-03-29": ["2026-03-28T23:30:00Z", "2026-03-29T21:30:00Z"], // 00:30 CET, 23:30 CEST (a 23-hour day)
      "2026-03-30": ["2026-03-30T05:59:00Z", "2026-03-30T21:30:00Z"],
      "2026-03-31": ["2026-03-31T05:59:00Z", "2026-03-31T21:59:00Z"],
      "2026-04-01": ["2026-03-31T22:00:00Z", "2026-04-01T21:59:00Z"], // the first and the last minute of 1 April
      "2026-04-02": ["2026-04-01T22:00:00Z", "2026-04-02T12:00:00Z"],
    };
    for (const day of days) {
      const [morning, night] = instants[day]!;
      await liveAt(morning);
      if (day === "2026-03-29") {
        // A worker dies mid-day and another starts (registering the schedulers again).
        await workers.shift()!.close(5000);
        workers.push(await startWorker({ concurrency: 2 }));
      }
      await liveAt(night);
    }
    // Every reminder row is unique (the constraint says so; check anyway) and the keys are what the calendar says.
    expect(await db.execute(sql`select 1 from reminders_sent group by request_id, kind, day having count(*) > 1`)).toHaveLength(0);
    expect(await reminderKeys(db, [r1.id])).toEqual(
      [
        "due_soon:2026-03-27",
        "due_soon:2026-03-28",
        "due_very_soon:2026-03-30",
        "due_very_soon:2026-03-31",
        "due_very_soon:2026-04-01",
        "extension_window:2026-03-29",
        "extension_window:2026-03-30",
        "extension_window:2026-03-31",
        "extension_window:2026-04-01",
        "overdue:2026-04-02",
        "due_soon:2026-03-29", // 3 days left on the 23-hour day
      ]
        .map((k) => `${r1.reference}:${k}`)
        .sort(),
    );
    expect((await reminderKeys(db, [r2.id])).filter((k) => !k.includes("extension_window"))).toEqual(
      ["due_very_soon:2026-03-27", "overdue:2026-03-28", "overdue:2026-03-29", "overdue:2026-03-30", "overdue:2026-03-31", "overdue:2026-04-01", "overdue:2026-04-02"].map(
        (k) => `${r2.reference}:${k}`,
      ),
    );
    expect(await reminderKeys(db, [r3.id])).toEqual(
      ["acknowledgement_due:2026-04-01", "acknowledgement_due:2026-04-02"].map((k) => `${r3.reference}:${k}`),
    );

    // Mail: one digest per recipient and day; each request listed once per reason; auditors get none.
    const label = (day: string) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(`${day}T12:00:00Z`));
    for (const day of days) {
      const forAdmin = digestsTo(admin.email).filter((d) => d.subject.includes(`for ${label(day)}:`));
      const forProcessor = digestsTo(processor.email).filter((d) => d.subject.includes(`for ${label(day)}:`));
      expect(forAdmin, `admin ${day}`).toHaveLength(1);
      expect(forProcessor, `processor ${day}`).toHaveLength(1);
      expect(forAdmin[0]!.text).not.toContain(r2.reference); // assigned to the processor
      expect(linesUnder(forProcessor[0]!.text, day >= "2026-03-28" ? "Overdue" : "Due within 2 days", r2.reference)).toBe(1);
    }
    expect(digestsTo(auditor.email)).toHaveLength(0);
    const april1 = digestsTo(admin.email).find((d) => d.subject.includes("1 April 2026"))!;
    expect(linesUnder(april1.text, "Due within 2 days", r1.reference)).toBe(1);
    expect(linesUnder(april1.text, "Extension window closing", r1.reference)).toBe(1);
    expect(linesUnder(april1.text, "Acknowledgement at risk", r3.reference)).toBe(1);

    // And the runs were recorded: many, all succeeded.
    const runs = await db.select().from(schedulerRuns).where(and(eq(schedulerRuns.schedulerId, "deadline-reminders"), gt(schedulerRuns.id, 0)));
    expect(runs.length).toBeGreaterThanOrEqual(days.length * 4);
    expect(runs.filter((r) => r.outcome === "failed")).toEqual([]);
  }, 180_000);
});
