/**
 * The schedules themselves, on the real Redis and Postgres: registered from jobs/schedules.ts exactly once however
 * many workers start together; cron times in the organisation's zone across DST; every run recorded in
 * scheduler_runs by the worker; the operational report (last run, next run, late) with the clock injected; and the
 * admin page over real HTTP against the compiled build (admins and auditors only).
 */
import { getNextMillis } from "bullmq";
import { and, eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { countsOf, getScheduleStatuses, intervalOf, recordSchedulerRun, setSchedulerClock } from "#app/models/schedules.server.ts";
import { createStaffSession, markStaffSessionMfaVerified } from "#app/models/staff.server.ts";
import { getEnv, parseEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { schedulerRuns } from "#db/schema/index.ts";
import { getQueue } from "#jobs/queues.ts";
import { registerSchedules, scheduleDefinitions } from "#jobs/schedules.ts";
import { startWorker } from "#jobs/worker.ts";
import { eventually } from "#tests/helpers/flow.ts";
import { startWeb } from "#tests/helpers/web.ts";
import { closeConnections } from "#tests/helpers/worker.ts";
import { addStaff } from "./schedules-fixtures.ts";

const db = getDb();

afterAll(async () => {
  setSchedulerClock(undefined);
  await closeConnections();
});

const schedulersIn = async () => {
  const out = [];
  for (const q of ["maintenance", "email"] as const) for (const s of await getQueue(q).getJobSchedulers()) out.push({ queue: q, ...s });
  return out;
};

describe("registration", () => {
  it("leaves exactly one scheduler (and one pending job) per definition however many workers start together", async () => {
    const workers = await Promise.all([1, 2, 3, 4].map(() => startWorker({ concurrency: 1 })));
    await Promise.all([registerSchedules(), registerSchedules()]);
    const ids = scheduleDefinitions().map((d) => d.id).sort();
    expect(ids).toEqual(["deadline-reminders", "expire-requests", "reconcile", "retention"]);
    const found = await schedulersIn();
    expect(found.map((s) => s.id ?? s.key).sort()).toEqual(ids);
    // One delayed job per cron scheduler (its next run); none duplicated.
    const delayed = await getQueue("maintenance").getJobs(["delayed"]);
    for (const id of ["deadline-reminders", "expire-requests", "retention"]) {
      expect(delayed.filter((j) => j.repeatJobKey === id), id).toHaveLength(1);
    }
    await Promise.all(workers.map((w) => w.close(5000)));
  });

  it("updates a scheduler in place when its configuration changes, and removes one no longer defined", async () => {
    await getQueue("maintenance").upsertJobScheduler("retired-job", { every: 60_000 }, { name: "reconcile", data: {} });
    const changed = parseEnv({ ...process.env, REMINDER_CRON: "15 6 * * 1-5", ORG_TIMEZONE: "America/Los_Angeles" });
    await registerSchedules(changed);
    const found = await schedulersIn();
    expect(found.map((s) => s.id ?? s.key).sort()).toEqual(["deadline-reminders", "expire-requests", "reconcile", "retention"]);
    const reminders = found.find((s) => (s.id ?? s.key) === "deadline-reminders")!;
    expect(reminders).toMatchObject({ pattern: "15 6 * * 1-5", tz: "America/Los_Angeles" });
    await registerSchedules(); // back to the defaults
    expect((await schedulersIn()).find((s) => (s.id ?? s.key) === "deadline-reminders")).toMatchObject({ pattern: "0 8 * * *", tz: "UTC" });
  });

  it("refuses a bad cron pattern at boot, naming the key", () => {
    expect(() => parseEnv({ ...process.env, REMINDER_CRON: "every morning" })).toThrow(/REMINDER_CRON/);
    expect(() => parseEnv({ ...process.env, EXPIRY_CRON: "61 * * * *" })).toThrow(/EXPIRY_CRON/);
    expect(() => parseEnv({ ...process.env, REMINDER_DUE_SOON_DAYS: "1", REMINDER_DUE_VERY_SOON_DAYS: "2" })).toThrow(/REMINDER_DUE_VERY_SOON_DAYS/);
    expect(parseEnv({ ...process.env, RETENTION_CRON: "  0   3 * * 0 " }).RETENTION_CRON).toBe("0 3 * * 0");
  });
});

describe("cron times in the organisation's zone", () => {
  /** The next `count` fire times of a pattern from `from`, as ISO strings. */
  function fires(pattern: string, tz: string, from: string, count: number) {
    const out: string[] = [];
    let t = new Date(from).getTime();
    for (let i = 0; i < count; i++) {
      t = getNextMillis(t, { pattern, tz })!;
      out.push(new Date(t).toISOString());
    }
    return out;
  }

  it("fires the default reminder time (08:00) once per local day across DST in Berlin and Los Angeles", () => {
    expect(fires("0 8 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", 4)).toEqual([
      "2026-03-28T07:00:00.000Z", // CET
      "2026-03-29T06:00:00.000Z", // CEST from 29 March
      "2026-03-30T06:00:00.000Z",
      "2026-03-31T06:00:00.000Z",
    ]);
    expect(fires("0 8 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 3)).toEqual(["2026-10-25T07:00:00.000Z", "2026-10-26T07:00:00.000Z", "2026-10-27T07:00:00.000Z"]);
    expect(fires("0 8 * * *", "America/Los_Angeles", "2026-03-07T12:00:00Z", 3)).toEqual([
      "2026-03-07T16:00:00.000Z", // PST
      "2026-03-08T15:00:00.000Z", // PDT from 8 March
      "2026-03-09T15:00:00.000Z",
    ]);
    expect(fires("0 8 * * *", "America/Los_Angeles", "2026-10-31T12:00:00Z", 3)).toEqual(["2026-10-31T15:00:00.000Z", "2026-11-01T16:00:00.000Z", "2026-11-02T16:00:00.000Z"]);
  });

  it("measures a cron pattern's period as its longest gap, so weekday schedules are not late on weekends", () => {
    const friday = new Date("2026-03-27T12:00:00Z").getTime();
    expect(intervalOf({ pattern: "0 8 * * *", tz: "Europe/Berlin" }, friday)).toBe(24 * 3600_000); // 23 h across 29 March, else 24 h
    expect(intervalOf({ pattern: "0 8 * * *", tz: "Europe/Berlin" }, new Date("2026-10-20T12:00:00Z").getTime())).toBe(25 * 3600_000); // 25 October
    expect(intervalOf({ pattern: "0 8 * * 1-5", tz: "Europe/Berlin" }, friday)).toBe(72 * 3600_000); // Friday → Monday
    expect(intervalOf({ every: 60_000 }, friday)).toBe(60_000);
  });

  it("the defaults of the nightly jobs (05:00, 05:30) stay clear of the hours DST skips or repeats", () => {
    for (const [pattern, tz] of [
      ["0 5 * * *", "Europe/Berlin"],
      ["30 5 * * *", "Europe/Berlin"],
      ["0 5 * * *", "America/Los_Angeles"],
      ["30 5 * * *", "America/Los_Angeles"],
    ] as const) {
      for (const from of ["2026-03-06T00:00:00Z", "2026-10-23T00:00:00Z"]) {
        const days = fires(pattern, tz, from, 12).map((iso) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, dateStyle: "short", timeStyle: "short", hourCycle: "h23" }).format(new Date(iso)));
        expect(new Set(days.map((d) => d.slice(0, 10))).size, `${pattern} ${tz} ${from}`).toBe(12); // one per day, no day skipped
        expect(days.every((d) => d.endsWith(pattern.startsWith("30") ? "05:30" : "05:00"))).toBe(true);
      }
    }
  });
});

describe("run records and the report", () => {
  it("the worker records each scheduler run with its counts; failures are recorded with a scrubbed message", async () => {
    setSchedulerClock(undefined);
    const worker = await startWorker({ concurrency: 1 });
    // The reconcile scheduler (`every`) runs once right away: a recorded run.
    await eventually(async () => (await db.select().from(schedulerRuns).where(and(eq(schedulerRuns.schedulerId, "reconcile"), eq(schedulerRuns.outcome, "succeeded"))))[0]);
    const [run] = await db.select().from(schedulerRuns).where(eq(schedulerRuns.schedulerId, "reconcile")).limit(1);
    expect(run).toMatchObject({ outcome: "succeeded", error: null, attempt: 1 });
    expect(run!.jobId).toMatch(/^repeat:reconcile:\d+$/);
    expect(run!.counts).toMatchObject({ verifications: 0, acknowledgements: 0 });
    expect(run!.finishedAt!.getTime()).toBeGreaterThanOrEqual(run!.startedAt.getTime());
    await worker.close(5000);

    await expect(
      recordSchedulerRun(db, { schedulerId: "test-failing", jobId: "j1" }, async () => {
        throw new Error("SMTP refused someone@example.com");
      }),
    ).rejects.toThrow();
    const [failed] = await db.select().from(schedulerRuns).where(eq(schedulerRuns.schedulerId, "test-failing"));
    expect(failed!.outcome).toBe("failed");
    expect(failed!.error).toMatch(/^Error: SMTP refused/);
    expect(failed!.error).not.toContain("someone@example.com");
    expect(countsOf({ day: "2026-01-01", recorded: { overdue: 2, due_soon: 1 }, digests: 3, list: [1] })).toEqual({
      "recorded.overdue": 2,
      "recorded.due_soon": 1,
      digests: 3,
    });
  });

  it("reports last run, next run and lateness per scheduler, from the injected clock", async () => {
    await registerSchedules();
    const maintenance = getQueue("maintenance");
    const next = (await maintenance.getJobSchedulers()).find((s) => (s.id ?? s.key) === "retention")!.next!;
    const statusAt = async (ms: number) => (await getScheduleStatuses(db, { clock: () => new Date(ms) })).find((s) => s.id === "retention")!;

    // Never ran, first time not yet due (or barely): waiting. A day (one interval) after its due time: late.
    expect(await statusAt(next - 60_000)).toMatchObject({ health: "waiting_first_run", late: false, registered: true, intervalMs: 86_400_000, lastRun: null });
    expect((await statusAt(next - 60_000)).nextRunAt?.getTime()).toBe(next);
    expect(await statusAt(next + 86_400_000 + 60_000)).toMatchObject({ health: "late", late: true });

    // A successful run: ok — until two intervals pass without another.
    const ran = await recordSchedulerRun(db, { schedulerId: "retention", jobId: "manual" }, async () => ({ anonymized: 2 }), () => new Date(next - 30_000));
    expect(ran).toEqual({ anonymized: 2 });
    const ok = await statusAt(next - 10_000);
    expect(ok).toMatchObject({ health: "ok", late: false, lastRun: { outcome: "succeeded", counts: { anonymized: 2 } } });
    expect(ok.lastSuccessAt).not.toBeNull();
    // (Its next job stays due in Redis at `next`: an interval after that it is stuck, hence late, too.)
    expect(await statusAt(next + 2 * 86_400_000)).toMatchObject({ late: true });

    // A failed run shows as failing.
    await recordSchedulerRun(db, { schedulerId: "retention" }, () => Promise.reject(new Error("boom")), () => new Date(next - 5_000)).catch(() => {});
    expect(await statusAt(next - 1_000)).toMatchObject({ health: "failing", late: false, lastRun: { outcome: "failed", error: "Error: boom" } });

    // Redis lost the scheduler (no worker has registered it since): not registered, flagged.
    await maintenance.removeJobScheduler("retention");
    expect(await statusAt(next - 1_000)).toMatchObject({ health: "not_registered", late: true, registered: false });
    await registerSchedules();
  });

  it("shows the report to admins and auditors on /admin/schedules, not to processors", async () => {
    await registerSchedules();
    setSchedulerClock(undefined);
    const web = await startWeb();
    try {
      const cookieFor = async (role: "admin" | "auditor" | "processor") => {
        const staff = await addStaff(db, role);
        const { token, sessionId } = await createStaffSession(db, staff.id);
        await markStaffSessionMfaVerified(db, sessionId);
        return `portal_staff=${token}`;
      };
      for (const role of ["admin", "auditor"] as const) {
        const res = await fetch(`${web.url}/admin/schedules`, { headers: { Cookie: await cookieFor(role) }, redirect: "manual" });
        expect(res.status, role).toBe(200);
        const html = await res.text();
        for (const id of ["deadline-reminders", "expire-requests", "retention", "reconcile"]) expect(html).toContain(`data-schedule="${id}"`);
        expect(html).toContain("REMINDER_CRON");
        expect(html).toContain(`cron &quot;0 8 * * *&quot; (${getEnv().ORG_TIMEZONE})`);
      }
      const forbidden = await fetch(`${web.url}/admin/schedules`, { headers: { Cookie: await cookieFor("processor") }, redirect: "manual" });
      expect(forbidden.status).toBe(403);
      const anonymous = await fetch(`${web.url}/admin/schedules`, { redirect: "manual" });
      expect(anonymous.status).toBe(302);
    } finally {
      await web.close();
    }
  });
});
