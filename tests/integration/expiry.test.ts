/**
 * Expiry against the real Postgres, Redis, a real worker and the SMTP listener, with the clock injected: unverified
 * requests expire after UNVERIFIED_EXPIRY_DAYS and unanswered information requests close after
 * INFO_REQUEST_EXPIRY_DAYS — counted in the organisation's days across month ends and DST — each once, recorded,
 * with exactly one notice to the requester, even when runs race, Redis loses the notice job or the worker restarts.
 */
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { appendEvent, listEvents } from "#app/models/audit.server.ts";
import { expireRequests, expirySettings, sendExpiryNotice } from "#app/models/expiry.server.ts";
import { setSchedulerClock } from "#app/models/schedules.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { remindersSent, requests } from "#db/schema/index.ts";
import { getQueue } from "#jobs/queues.ts";
import { startWorker } from "#jobs/worker.ts";
import { eventually, mailsTo } from "#tests/helpers/flow.ts";
import { closeConnections } from "#tests/helpers/worker.ts";
import { addRequest, at, resetWorld } from "./schedules-fixtures.ts";

const db = getDb();
const berlin = expirySettings(getEnv(), { timeZone: "Europe/Berlin" });
const la = expirySettings(getEnv(), { timeZone: "America/Los_Angeles" });

afterAll(async () => {
  setSchedulerClock(undefined);
  await closeConnections();
});

beforeEach(async () => {
  await resetWorld(db);
  await getQueue("email").obliterate({ force: true });
});

const statusOf = async (id: string) => (await db.select({ status: requests.status, outcome: requests.outcomeReason }).from(requests).where(eq(requests.id, id)))[0]!;
const actions = async (id: string) => (await listEvents(db, id)).map((e) => e.action);

describe("unverified requests", () => {
  it("expire after 14 of the organisation's days (Berlin, across the spring DST change and a month end), once, with one notice", async () => {
    // Received 17 March 2026 at 23:30 in Berlin (22:30Z) — day 17 March; 14 days pass on 31 March; expires 1 April.
    const r = await addRequest(db, { receivedAt: "2026-03-17T22:30:00Z", timeZone: "Europe/Berlin", status: "pending_verification", acknowledged: false });
    const verified = await addRequest(db, { receivedAt: "2026-03-01T10:00:00Z", timeZone: "Europe/Berlin", status: "verified" });

    expect(await expireRequests(db, { clock: at("2026-03-31T21:59:59Z"), settings: berlin })).toMatchObject({ expired: 0 }); // 31 Mar 23:59:59 CEST
    expect((await statusOf(r.id)).status).toBe("pending_verification");
    const run = await expireRequests(db, { clock: at("2026-03-31T22:00:00Z"), settings: berlin }); // 1 April 00:00 CEST
    expect(run).toMatchObject({ expired: 1, closed: 0, noticesQueued: 1 });
    expect(await statusOf(r.id)).toEqual({ status: "expired", outcome: "not_verified" });
    expect((await statusOf(verified.id)).status).toBe("verified");
    const expired = (await listEvents(db, r.id)).find((e) => e.action === "request.expired")!;
    expect(expired).toMatchObject({ actorType: "system", details: { reason: "not_verified", afterDays: 14 } });
    expect(expired.createdAt.toISOString()).toBe("2026-03-31T22:00:00.000Z");

    // Running again (the same day, the next day) changes nothing and queues nothing new.
    expect(await expireRequests(db, { clock: at("2026-04-01T05:00:00Z"), settings: berlin })).toEqual({ expired: 0, closed: 0, noticesQueued: 0 });

    // The notice: sent once, however often the job runs.
    expect(await sendExpiryNotice(db, r.id, at("2026-04-01T05:00:00Z"))).toBe("sent");
    expect(await sendExpiryNotice(db, r.id, at("2026-04-01T05:00:01Z"))).toBe("skipped");
    const mails = mailsTo(r.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe(`Your request ${r.reference} has expired`);
    expect(mails[0]!.text).toContain("not confirmed within 14 days");
    expect(await actions(r.id)).toEqual(["request.expired", "request.expiry_notice_sent"]);
    const [outbox] = await db.select().from(remindersSent).where(and(eq(remindersSent.requestId, r.id), eq(remindersSent.kind, "expiry_notice")));
    expect(outbox!.day).toBe("2026-04-01");
    expect(outbox!.notifiedAt?.toISOString()).toBe("2026-04-01T05:00:00.000Z");
  });

  it("expires each request once when runs race, and the real worker sends each notice once across a restart and a Redis loss", async () => {
    const rs = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => addRequest(db, { receivedAt: `2026-06-0${i + 1}T10:00:00Z`, status: "pending_verification", acknowledged: false })),
    );
    const clock = at("2026-06-30T12:00:00Z");
    const settings = expirySettings(getEnv(), { timeZone: "UTC" });
    const results = await Promise.all(Array.from({ length: 5 }, () => expireRequests(db, { clock, settings, batchSize: 2 })));
    expect(results.reduce((n, r) => n + r.expired, 0)).toBe(6);
    for (const r of rs) expect((await actions(r.id)).filter((a) => a === "request.expired")).toHaveLength(1);

    // Redis loses every queued notice; the next run puts back the unsent ones.
    await getQueue("email").obliterate({ force: true });
    expect(await expireRequests(db, { clock, settings })).toMatchObject({ expired: 0, noticesQueued: 6 });
    // A worker sends some, restarts, another run re-queues (no-op for what is pending or done), a worker finishes.
    setSchedulerClock(clock);
    let worker = await startWorker({ concurrency: 2, schedules: false });
    await eventually(async () => mailsTo(rs[0]!.email).length + mailsTo(rs[1]!.email).length >= 1, 15_000);
    await worker.close(5000);
    await expireRequests(db, { clock, settings });
    worker = await startWorker({ concurrency: 3, schedules: false });
    await eventually(async () => rs.every((r) => mailsTo(r.email).length > 0), 15_000);
    await expireRequests(db, { clock, settings });
    await new Promise((r) => setTimeout(r, 500));
    await worker.close(5000);
    for (const r of rs) expect(mailsTo(r.email)).toHaveLength(1);
    const unsent = await db.execute(sql`select 1 from reminders_sent where kind = 'expiry_notice' and notified_at is null`);
    expect(unsent).toHaveLength(0);
  });
});

describe("requests waiting for information", () => {
  it("close 30 of the organisation's days after the information was asked for (Los Angeles, across the autumn DST change)", async () => {
    const r = await addRequest(db, { region: "US-CA", receivedAt: "2026-09-20T17:00:00Z", timeZone: "America/Los_Angeles", status: "awaiting_information" });
    // Staff asked on 5 October at 23:30 in Los Angeles (6 Oct 06:30Z): day 5 October; 30 days pass on 4 November.
    await appendEvent(db, { requestId: r.id, actorType: "staff", action: "request.info_requested", details: {} }, at("2026-10-06T06:30:00Z"));
    // No event: the last update counts (here: received and last updated 1 October) → closes on 1 November.
    const noEvent = await addRequest(db, { region: "US-CA", receivedAt: "2026-10-01T17:00:00Z", timeZone: "America/Los_Angeles", status: "awaiting_information" });

    expect(await expireRequests(db, { clock: at("2026-11-01T06:59:00Z"), settings: la })).toMatchObject({ closed: 0 }); // 31 Oct 23:59 PDT
    expect(await expireRequests(db, { clock: at("2026-11-01T07:00:00Z"), settings: la })).toMatchObject({ closed: 1 }); // 1 Nov 00:00 PDT
    expect((await statusOf(noEvent.id)).status).toBe("closed");
    expect((await statusOf(r.id)).status).toBe("awaiting_information");
    // 4 November 23:59 PST (5 Nov 07:59Z) → still waiting; 5 November 00:00 PST (08:00Z) → closed.
    expect(await expireRequests(db, { clock: at("2026-11-05T07:59:00Z"), settings: la })).toMatchObject({ closed: 0 });
    expect(await expireRequests(db, { clock: at("2026-11-05T08:00:00Z"), settings: la })).toMatchObject({ closed: 1 });
    expect(await statusOf(r.id)).toEqual({ status: "closed", outcome: "information_not_provided" });
    const closed = (await listEvents(db, r.id)).find((e) => e.action === "request.closed")!;
    expect(closed.details).toEqual({ reason: "information_not_provided", afterDays: 30 });

    expect(await sendExpiryNotice(db, r.id, at("2026-11-05T08:00:00Z"))).toBe("sent");
    const [mail] = mailsTo(r.email);
    expect(mail!.subject).toBe(`Your request ${r.reference} has been closed`);
    expect(mail!.text).toContain("did not receive it within 30 days");
    expect(mail!.text).toContain("Make a new request");
  });

  it("a request that got its information in time (status moved on) is left alone", async () => {
    const r = await addRequest(db, { receivedAt: "2026-01-05T10:00:00Z", status: "awaiting_information" });
    await appendEvent(db, { requestId: r.id, actorType: "staff", action: "request.info_requested", details: {} }, at("2026-01-06T10:00:00Z"));
    await db.update(requests).set({ status: "in_review" }).where(eq(requests.id, r.id));
    expect(await expireRequests(db, { clock: at("2026-03-01T10:00:00Z"), settings: expirySettings(getEnv(), { timeZone: "UTC" }) })).toMatchObject({ closed: 0 });
    expect((await statusOf(r.id)).status).toBe("in_review");
  });
});
