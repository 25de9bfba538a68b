/**
 * Deadline reminders and the acknowledgement watch against the real Postgres, Redis and SMTP listener, with the
 * clock injected: which kind a request gets on which organisation day, across month ends and DST changes in
 * Europe/Berlin and America/Los_Angeles, at most once per request, kind and day however often (and however
 * concurrently) the job runs, and who receives the digest.
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { parseHolidays } from "#app/models/calendar/working-days.ts";
import { recordReminders, reminderSettings, runDeadlineReminders, type ReminderSettings } from "#app/models/reminders.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { reminderDigests, remindersSent, requests, staffUsers } from "#db/schema/index.ts";
import { getQueue } from "#jobs/queues.ts";
import { closeConnections } from "#tests/helpers/worker.ts";
import { addRequest, addStaff, at, digestsTo, linesUnder, reminderKeys, resetWorld } from "./schedules-fixtures.ts";

const db = getDb();
const settings = (overrides: Partial<ReminderSettings> = {}) => reminderSettings(getEnv(), overrides);
const berlin = settings({ timeZone: "Europe/Berlin" });
const la = settings({ timeZone: "America/Los_Angeles" });

afterAll(async () => {
  await closeConnections();
});

beforeEach(async () => {
  await resetWorld(db);
});

/** Keys without the extension-window warnings (tested on their own below). */
const dueKeys = async (ids: string[]) => (await reminderKeys(db, ids)).filter((k) => !k.includes(":extension_window:"));

/** Instants every `stepMinutes` from `from` (inclusive) to `to` (exclusive). */
function instants(from: string, to: string, stepMinutes: number) {
  const out: string[] = [];
  for (let t = new Date(from).getTime(); t < new Date(to).getTime(); t += stepMinutes * 60_000) out.push(new Date(t).toISOString());
  return out;
}

describe("what a request is reminded of, and when", () => {
  it("records overdue / due within 2 days / due within 7 days once per request and day, however often it runs", async () => {
    const admin = await addStaff(db, "admin");
    // GDPR, UTC: received 1 Oct → due 2 Nov (1 Nov 2026 is a Sunday: rolled to Monday 2 Nov).
    const r = await addRequest(db, { receivedAt: "2026-10-01T09:00:00Z" });
    expect(r.dueAt.toISOString()).toBe("2026-11-02T23:59:59.999Z");
    const far = await addRequest(db, { receivedAt: "2026-10-20T09:00:00Z" }); // due 20 Nov: never in these runs

    // 25 Oct: 8 days left — nothing.
    expect((await runDeadlineReminders(db, { clock: at("2026-10-25T12:00:00Z"), settings: settings() })).recorded).toEqual({});
    // 26 Oct … 2 Nov: due soon, then very soon; 3 Nov: overdue. Each day run five times, at different hours.
    const expected: string[] = [];
    for (const [day, kind] of [
      ["2026-10-26", "due_soon"],
      ["2026-10-30", "due_soon"],
      ["2026-10-31", "due_very_soon"],
      ["2026-11-02", "due_very_soon"],
      ["2026-11-03", "overdue"],
      ["2026-11-04", "overdue"],
    ] as const) {
      for (const hour of ["00:00:00", "06:00:00", "08:00:00", "08:00:00", "23:59:59"]) {
        await runDeadlineReminders(db, { clock: at(`${day}T${hour}Z`), settings: settings() });
      }
      expected.push(`${r.reference}:${kind}:${day}`);
    }
    expect(await dueKeys([r.id, far.id])).toEqual(expected.sort());
    // One digest a day, each listing the request once, under the right heading.
    const digests = digestsTo(admin.email);
    expect(digests).toHaveLength(6);
    expect(digests.map((d) => d.subject)).toContain("Deadline digest for 3 November 2026: 1 reminder");
    const overdue = digests.find((d) => d.subject.includes("3 November"))!;
    expect(linesUnder(overdue.text, "Overdue", r.reference)).toBe(1);
    expect(overdue.text).toContain("1 day overdue");
    const veryLast = digests.find((d) => d.subject.includes("2 November"))!;
    expect(linesUnder(veryLast.text, "Due within 2 days", r.reference)).toBe(1);
    expect(veryLast.text).toContain("(today)");
    // Staff email: no subject identity.
    for (const d of digests) expect(d.text).not.toContain(r.email);
  });

  it("counts days in the organisation's zone across a month end (Berlin): local midnight, not UTC midnight, starts a day", async () => {
    await addStaff(db, "processor");
    // Received 31 January 2026, 10:00 in Berlin → due 28 February, a Saturday → Monday 2 March (GDPR roll).
    const r = await addRequest(db, { receivedAt: "2026-01-31T09:00:00Z", timeZone: "Europe/Berlin" });
    expect(r.dueAt.toISOString()).toBe("2026-03-02T22:59:59.999Z");
    // 22 Feb 23:30 Berlin (22:30Z): 8 days left — nothing. 23 Feb 00:30 Berlin (22 Feb 23:30Z!): 7 days left.
    await recordReminders(db, { clock: at("2026-02-22T22:30:00Z"), settings: berlin });
    expect(await reminderKeys(db, [r.id])).toEqual([]);
    await recordReminders(db, { clock: at("2026-02-22T23:30:00Z"), settings: berlin });
    expect(await dueKeys([r.id])).toEqual([`${r.reference}:due_soon:2026-02-23`]);
    // 28 Feb (2 days left, across the month end) → very soon; 2 March 23:59 Berlin → still due today; 3 March → overdue.
    await recordReminders(db, { clock: at("2026-02-27T23:00:00Z"), settings: berlin });
    await recordReminders(db, { clock: at("2026-03-02T22:59:00Z"), settings: berlin });
    await recordReminders(db, { clock: at("2026-03-02T23:00:00Z"), settings: berlin });
    expect(await dueKeys([r.id])).toEqual([
      `${r.reference}:due_soon:2026-02-23`,
      `${r.reference}:due_very_soon:2026-02-28`,
      `${r.reference}:due_very_soon:2026-03-02`,
      `${r.reference}:overdue:2026-03-03`,
    ]);
  });

  it("keeps one reminder per local day across Berlin's DST changes (23- and 25-hour days)", async () => {
    await addStaff(db, "admin");
    // Due dates set directly: the end of 31 March (CEST, after spring forward) and of 27 October (CET, after fall back).
    const spring = await addRequest(db, { receivedAt: "2026-03-01T09:00:00Z", timeZone: "Europe/Berlin" });
    await db.update(requests).set({ dueAt: new Date("2026-03-31T21:59:59.999Z") }).where(eq(requests.id, spring.id)); // end of 31 March, CEST
    const autumn = await addRequest(db, { receivedAt: "2026-10-01T09:00:00Z", timeZone: "Europe/Berlin" });
    await db.update(requests).set({ dueAt: new Date("2026-10-27T22:59:59.999Z") }).where(eq(requests.id, autumn.id)); // end of 27 Oct, CET
    // Every 20 minutes from 27 March 22:00 local to 1 April 02:00 local (spring forward on 29 March, 02:00 → 03:00).
    for (const t of instants("2026-03-27T21:00:00Z", "2026-04-01T00:00:00Z", 20)) await recordReminders(db, { clock: at(t), settings: berlin });
    expect(await dueKeys([spring.id])).toEqual([
      `${spring.reference}:due_soon:2026-03-27`,
      `${spring.reference}:due_soon:2026-03-28`,
      `${spring.reference}:due_very_soon:2026-03-29`,
      `${spring.reference}:due_very_soon:2026-03-30`,
      `${spring.reference}:due_very_soon:2026-03-31`,
      `${spring.reference}:overdue:2026-04-01`,
    ]);
    // Every 20 minutes across 25 October (fall back, 03:00 → 02:00: the 02:xx hour happens twice).
    for (const t of instants("2026-10-24T20:00:00Z", "2026-10-26T23:00:00Z", 20)) await recordReminders(db, { clock: at(t), settings: berlin });
    expect(await dueKeys([autumn.id])).toEqual([
      `${autumn.reference}:due_soon:2026-10-24`,
      `${autumn.reference}:due_very_soon:2026-10-25`,
      `${autumn.reference}:due_very_soon:2026-10-26`,
    ]);
  });

  it("keeps one reminder per local day across Los Angeles' DST changes, and business days for the CCPA acknowledgement", async () => {
    await addStaff(db, "admin");
    // CCPA, received Friday 27 Feb 2026 at 16:00 in LA: acknowledge within 10 business days → Friday 13 March;
    // respond within 45 days → 13 April. Still waiting for verification, so the acknowledgement cannot go out.
    const r = await addRequest(db, {
      region: "US-CA",
      receivedAt: "2026-02-28T00:00:00Z",
      timeZone: "America/Los_Angeles",
      status: "pending_verification",
      acknowledged: false,
    });
    expect(r.acknowledgeBy?.toISOString()).toBe("2026-03-14T06:59:59.999Z"); // 13 March 23:59:59.999 PDT
    // Hourly from 6 March to 14 March local (spring forward on Sunday 8 March).
    for (const t of instants("2026-03-06T08:00:00Z", "2026-03-15T07:00:00Z", 60)) await recordReminders(db, { clock: at(t), settings: la });
    // ≤ 2 business days left from Wednesday 11 March (Thu 12, Fri 13); overdue after.
    expect(await reminderKeys(db, [r.id])).toEqual([
      `${r.reference}:acknowledgement_due:2026-03-11`,
      `${r.reference}:acknowledgement_due:2026-03-12`,
      `${r.reference}:acknowledgement_due:2026-03-13`,
      `${r.reference}:acknowledgement_due:2026-03-14`,
    ]);
    // A holiday on Thursday 12 March moves the acknowledgement date (computed with it) and the warning.
    const h = await addRequest(db, {
      region: "US-CA",
      receivedAt: "2026-02-28T00:00:00Z",
      timeZone: "America/Los_Angeles",
      holidays: ["2026-03-12"],
      status: "pending_verification",
      acknowledged: false,
    });
    const withHoliday = { ...la, holidays: parseHolidays("2026-03-12") };
    for (const t of instants("2026-03-10T08:00:00Z", "2026-03-13T08:00:00Z", 60)) await recordReminders(db, { clock: at(t), settings: withHoliday });
    // Acknowledge by Monday 16 March; from Wednesday 11 March the business days left are Fri 13 and Mon 16.
    expect(await reminderKeys(db, [h.id])).toEqual([
      `${h.reference}:acknowledgement_due:2026-03-11`,
      `${h.reference}:acknowledgement_due:2026-03-12`,
      `${h.reference}:acknowledgement_due:2026-03-13`,
    ]);

    // 45-day deadline across the fall-back night (1 November 2026): received 17 Sept → due 1 November.
    const autumn = await addRequest(db, { region: "US-CA", receivedAt: "2026-09-17T18:00:00Z", timeZone: "America/Los_Angeles" });
    expect(autumn.dueAt.toISOString()).toBe("2026-11-02T07:59:59.999Z"); // 1 Nov 23:59:59.999 PST
    for (const t of instants("2026-10-31T06:00:00Z", "2026-11-02T09:00:00Z", 30)) await recordReminders(db, { clock: at(t), settings: la });
    expect(await dueKeys([autumn.id])).toEqual([
      `${autumn.reference}:due_very_soon:2026-10-30`,
      `${autumn.reference}:due_very_soon:2026-10-31`,
      `${autumn.reference}:due_very_soon:2026-11-01`,
      `${autumn.reference}:overdue:2026-11-02`,
    ]);
  });

  it("warns when the window to notify an extension closes within 3 days, and not once extended", async () => {
    const admin = await addStaff(db, "admin");
    const r = await addRequest(db, { receivedAt: "2026-05-04T09:00:00Z" }); // GDPR: due and notice-by 4 June
    expect(r.extensionNoticeBy?.toISOString()).toBe("2026-06-04T23:59:59.999Z");
    await runDeadlineReminders(db, { clock: at("2026-05-31T10:00:00Z"), settings: settings() }); // 4 days: soon only
    await runDeadlineReminders(db, { clock: at("2026-06-01T10:00:00Z"), settings: settings() }); // 3 days: + window
    expect(await reminderKeys(db, [r.id])).toEqual([
      `${r.reference}:due_soon:2026-05-31`,
      `${r.reference}:due_soon:2026-06-01`,
      `${r.reference}:extension_window:2026-06-01`,
    ]);
    const digest = digestsTo(admin.email).find((d) => d.subject.includes("1 June 2026"))!;
    expect(linesUnder(digest.text, "Extension window closing", r.reference)).toBe(1);
    expect(linesUnder(digest.text, "Due within 7 days", r.reference)).toBe(1);
    expect(digest.subject).toBe("Deadline digest for 1 June 2026: 2 reminders");

    // Extended to 4 August: no more window warnings; the new due date is what counts.
    await db.update(requests).set({ extendedDueAt: new Date("2026-08-04T23:59:59.999Z") }).where(eq(requests.id, r.id));
    await runDeadlineReminders(db, { clock: at("2026-06-02T10:00:00Z"), settings: settings() });
    expect((await reminderKeys(db, [r.id])).filter((k) => k.endsWith("2026-06-02"))).toEqual([]);
    await runDeadlineReminders(db, { clock: at("2026-08-03T10:00:00Z"), settings: settings() });
    expect((await reminderKeys(db, [r.id])).filter((k) => k.endsWith("2026-08-03"))).toEqual([`${r.reference}:due_very_soon:2026-08-03`]);
  });

  it("leaves closed requests alone and thresholds follow the settings", async () => {
    await addStaff(db, "admin");
    const done = await addRequest(db, { receivedAt: "2026-04-01T09:00:00Z", status: "completed" });
    const open = await addRequest(db, { receivedAt: "2026-04-01T09:00:00Z" }); // due 1 May
    await recordReminders(db, { clock: at("2026-04-20T10:00:00Z"), settings: settings({ dueSoonDays: 14, dueVerySoonDays: 5 }) });
    await recordReminders(db, { clock: at("2026-04-26T10:00:00Z"), settings: settings({ dueSoonDays: 14, dueVerySoonDays: 5 }) });
    expect(await reminderKeys(db, [done.id, open.id])).toEqual([`${open.reference}:due_soon:2026-04-20`, `${open.reference}:due_very_soon:2026-04-26`]);
  });
});

describe("the acknowledgement watch", () => {
  it("queues an acknowledgement that can be sent, and escalates it the next day if it still has not gone out", async () => {
    const admin = await addStaff(db, "admin");
    // CCPA, verified, never acknowledged (Redis lost the job, say). Received Monday 2 Nov → acknowledge by 16 Nov.
    const r = await addRequest(db, { region: "US-CA", receivedAt: "2026-11-02T17:00:00Z", timeZone: "America/Los_Angeles", status: "verified", acknowledged: false });
    const pending = await addRequest(db, {
      region: "US-CA",
      receivedAt: "2026-11-02T17:00:00Z",
      timeZone: "America/Los_Angeles",
      status: "pending_verification",
      acknowledged: false,
    });
    // Thursday 12 Nov: 2 business days left (13, 16).
    const first = await runDeadlineReminders(db, { clock: at("2026-11-12T17:00:00Z"), settings: la });
    expect(first.acknowledgementsQueued).toBe(1);
    const job = await getQueue("email").getJob(`send-acknowledgement-${r.id}`);
    expect(job?.name).toBe("send-acknowledgement");
    // Again the same day: not queued again; the pending one is escalated once.
    const again = await runDeadlineReminders(db, { clock: at("2026-11-12T23:00:00Z"), settings: la });
    expect(again.acknowledgementsQueued).toBe(0);
    expect(await reminderKeys(db, [r.id, pending.id])).toEqual(
      [`${r.reference}:acknowledgement_enqueued:2026-11-12`, `${pending.reference}:acknowledgement_due:2026-11-12`].sort(),
    );
    const day1 = digestsTo(admin.email).filter((d) => d.subject.includes("12 November"));
    expect(day1).toHaveLength(1);
    expect(linesUnder(day1[0]!.text, "Acknowledgement at risk", pending.reference)).toBe(1);
    expect(day1[0]!.text).not.toContain(r.reference);

    // Friday: no worker sent it (none runs in this test) → queued again, and now escalated too.
    await getQueue("email").obliterate({ force: true });
    const next = await runDeadlineReminders(db, { clock: at("2026-11-13T17:00:00Z"), settings: la });
    expect(next.acknowledgementsQueued).toBe(1);
    const day2 = digestsTo(admin.email).find((d) => d.subject.includes("13 November"))!;
    expect(linesUnder(day2.text, "Acknowledgement at risk", r.reference)).toBe(1);
    expect(linesUnder(day2.text, "Acknowledgement at risk", pending.reference)).toBe(1);
  });
});

describe("who gets the digest", () => {
  it("the assignee for assigned requests; every active admin and processor otherwise; never auditors or disabled staff", async () => {
    const [admin, processor, auditor, assignee, gone] = [
      await addStaff(db, "admin"),
      await addStaff(db, "processor"),
      await addStaff(db, "auditor"),
      await addStaff(db, "processor", "assignee"),
      await addStaff(db, "processor", "gone"),
    ];
    await db.update(staffUsers).set({ disabledAt: new Date() }).where(eq(staffUsers.id, gone.id));
    const assigned = await addRequest(db, { receivedAt: "2026-07-01T09:00:00Z", assigneeId: assignee.id }); // due 1 Jul → 1 Aug (Sat) → 3 Aug
    const unassigned = await addRequest(db, { receivedAt: "2026-07-01T09:00:00Z" });
    const orphaned = await addRequest(db, { receivedAt: "2026-07-01T09:00:00Z", assigneeId: gone.id });
    const result = await runDeadlineReminders(db, { clock: at("2026-07-30T08:00:00Z"), settings: settings() });
    expect(result).toMatchObject({ digests: 3, delivered: 3, pending: 3, failedDigests: 0, withoutRecipient: 0 });
    const only = (email: string) => digestsTo(email).filter((d) => d.subject.includes("30 July"));
    expect(only(assignee.email)).toHaveLength(1);
    expect(only(assignee.email)[0]!.text).toContain(assigned.reference);
    expect(only(assignee.email)[0]!.text).toContain(unassigned.reference); // as a processor, unassigned work too
    for (const s of [admin, processor]) {
      const [d] = only(s.email);
      expect(d?.text).toContain(unassigned.reference);
      expect(d?.text).toContain(orphaned.reference); // disabled assignee → everyone
      expect(d?.text).not.toContain(assigned.reference);
    }
    expect(only(auditor.email)).toHaveLength(0);
    expect(only(gone.email)).toHaveLength(0);
    const rows = await db.select().from(remindersSent).where(eq(remindersSent.requestId, unassigned.id));
    expect(rows[0]!.notifiedAt).not.toBeNull();
    const digests = await db.select().from(reminderDigests).where(eq(reminderDigests.day, "2026-07-30"));
    expect(digests.map((d) => d.staffId).sort()).toEqual([admin.id, processor.id, assignee.id].sort());
    expect(digests.find((d) => d.staffId === assignee.id)?.reminders).toBe(3);
    expect(digests.find((d) => d.staffId === admin.id)?.reminders).toBe(2);
  });

  it("sends one digest per recipient and day when many runs race (several workers, retries)", async () => {
    const admin = await addStaff(db, "admin");
    const rs = await Promise.all([0, 1, 2, 3, 4].map((i) => addRequest(db, { receivedAt: `2026-09-0${i + 1}T09:00:00Z` })));
    const clock = at("2026-09-28T06:00:00Z");
    const results = await Promise.all(Array.from({ length: 8 }, () => runDeadlineReminders(db, { clock, settings: settings() })));
    expect(results.reduce((n, r) => n + r.digests, 0)).toBe(1);
    const digests = digestsTo(admin.email).filter((d) => d.subject.includes("28 September"));
    expect(digests).toHaveLength(1);
    for (const r of rs) expect(linesUnder(digests[0]!.text, "Due within 7 days", r.reference)).toBe(1);
    const dupes = await db.execute(sql`select request_id, kind, day from reminders_sent group by 1, 2, 3 having count(*) > 1`);
    expect(dupes).toHaveLength(0);
  });
});
