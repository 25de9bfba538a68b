/**
 * Retention against the real Postgres with the clock injected: closed requests lose their personal data
 * RETENTION_MONTHS after they closed (counted in the organisation's days, across leap days, month ends and DST) and
 * keep what the record of compliance needs; expired challenges, sessions and status tokens are purged; every run is
 * audited with counts only, and the audit chain stays intact.
 */
import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { listEvents, verifyAuditChain } from "#app/models/audit.server.ts";
import {
  ANONYMIZED_IDENTITY,
  anonymizeClosedRequests,
  isAnonymized,
  isAnonymizedIdentity,
  retentionCutoff,
  retentionSettings,
  runRetention,
} from "#app/models/retention.server.ts";
import { decryptDetails, decryptIdentity, findRequestsByEmail, getRequestById } from "#app/models/requests.server.ts";
import { createStaffSession } from "#app/models/staff.server.ts";
import { encryptJson } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { closeRedis } from "#app/utils/redis.server.ts";
import { getDb } from "#db/client.server.ts";
import {
  remindersSent,
  requestAnonymizations,
  requestAnswers,
  requestCorrections,
  requestDocuments,
  requestEmails,
  requestEvents,
  requestNotes,
  requests,
  schedulerRuns,
  staffSessions,
  verificationChallenges,
} from "#db/schema/index.ts";
import { closeQueues } from "#jobs/queues.ts";
import { addRequest, addStaff, at, resetWorld } from "./schedules-fixtures.ts";

const db = getDb();
const berlin = retentionSettings(getEnv(), { timeZone: "Europe/Berlin" });
const la = retentionSettings(getEnv(), { timeZone: "America/Los_Angeles" });

afterAll(async () => {
  await closeQueues();
  await closeRedis();
});

beforeEach(async () => {
  await resetWorld(db);
  // Earlier tests' closed requests would be anonymized along with this test's: mark them done.
  await db.execute(sql`insert into request_anonymizations (request_id, anonymized_at)
    select id, now() from requests where id not in (select request_id from request_anonymizations)`);
  await db.update(requests).set({ statusTokenHash: null });
});

/** A closed request with everything personal a request can carry: details, agent, a document, a status token, a challenge. */
async function closedRequest(f: { email?: string; receivedAt: string; closedAt: string; status?: "completed" | "denied" | "cancelled" | "expired" | "closed"; timeZone?: string }) {
  const r = await addRequest(db, { receivedAt: f.receivedAt, timeZone: f.timeZone, email: f.email, status: "in_review" });
  const status = f.status ?? "completed";
  await db
    .update(requests)
    .set({
      status,
      outcomeReason: status === "denied" ? "manifestly_unfounded" : null,
      completedAt: status === "completed" ? new Date(f.closedAt) : null,
      cancelledAt: status === "cancelled" ? new Date(f.closedAt) : null,
      updatedAt: new Date(f.closedAt),
      detailsCiphertext: encryptJson({ reason: "I want to know" }, `request-details:${r.id}`),
      agentCiphertext: encryptJson({ name: "Agent Smith", email: "agent@example.com" }, `request-agent:${r.id}`),
      statusTokenHash: randomBytes(32).toString("hex"),
      extensionReason: "We needed to search the archive of Ms Example.",
    })
    .where(eq(requests.id, r.id));
  await db.insert(requestDocuments).values({ requestId: r.id, kind: "agent_authorization", contentType: "application/pdf", sizeBytes: 3, sha256: "00", ciphertext: Buffer.from("pdf") });
  await db.insert(verificationChallenges).values({ requestId: r.id, maxAttempts: 5, codeHash: "h", expiresAt: new Date(f.receivedAt), sentAt: new Date(f.receivedAt) });
  await db.insert(requestNotes).values({ requestId: r.id, bodyCiphertext: encryptJson("She called from 555-0100", `note:${r.id}`), createdAt: new Date(f.receivedAt) });
  await db.insert(requestAnswers).values({ requestId: r.id, bodyCiphertext: encryptJson("My customer number is 4711", `answer:${r.id}`), createdAt: new Date(f.receivedAt) });
  await db.insert(requestCorrections).values({ requestId: r.id, valuesCiphertext: encryptJson({ name: "Erika Example" }, `correction:${r.id}`), attributes: ["name"], confirmedAt: new Date(f.receivedAt) });
  await db.insert(requestEmails).values({
    requestId: r.id,
    kind: "more_information",
    contentCiphertext: encryptJson("Please send your customer number", `email:${r.id}`),
    createdAt: new Date(f.receivedAt),
    sentAt: new Date(f.receivedAt),
  });
  return r;
}

describe("anonymization of closed requests", () => {
  it("forgets a request 24 months after it closed (Berlin: closed on the leap day 29 February 2024 → anonymized from 1 March 2026)", async () => {
    const email = `retention-${randomBytes(3).toString("hex")}@example.com`;
    const old = await closedRequest({ email, receivedAt: "2024-01-29T09:00:00Z", closedAt: "2024-02-29T09:00:00Z", timeZone: "Europe/Berlin" });
    const openOne = await addRequest(db, { email, receivedAt: "2024-01-01T09:00:00Z", status: "in_review" }); // open, however old
    const recent = await closedRequest({ email, receivedAt: "2025-01-10T09:00:00Z", closedAt: "2025-02-10T09:00:00Z" });

    expect(retentionCutoff(new Date("2026-02-28T12:00:00Z"), 24, "Europe/Berlin").toISOString()).toBe("2024-02-27T23:00:00.000Z");
    expect(await anonymizeClosedRequests(db, { clock: at("2026-02-28T22:59:59Z"), settings: berlin })).toMatchObject({ anonymized: 0 }); // 28 Feb 23:59:59
    const counts = await runRetention(db, { clock: at("2026-02-28T23:00:00Z"), settings: berlin }); // 1 March 00:00 Berlin
    expect(counts).toMatchObject({ anonymized: 1, documentsDeleted: 1, notesDeleted: 1, requesterEmailsDeleted: 1, accessPackages: 0 });

    const after = (await getRequestById(db, old.id))!;
    // Gone: identity (an encrypted marker now), details, agent, staff free text, the blind-index link, the status token.
    expect(decryptIdentity(after)).toEqual(ANONYMIZED_IDENTITY);
    expect(isAnonymizedIdentity(decryptIdentity(after))).toBe(true);
    expect(after.identityCiphertext).not.toBe(old.identityCiphertext);
    expect(decryptDetails(after)).toEqual({});
    expect(after.agentCiphertext).toBeNull();
    expect(after.extensionReason).toBeNull();
    expect(after.statusTokenHash).toBeNull();
    expect(after.emailIndex).toMatch(/^anonymized:[A-Za-z0-9_-]{32}$/);
    expect((await findRequestsByEmail(db, email)).map((r) => r.id).sort()).toEqual([openOne.id, recent.id].sort());
    expect(await db.select().from(requestDocuments).where(eq(requestDocuments.requestId, old.id))).toHaveLength(0);
    expect(await db.select().from(verificationChallenges).where(eq(verificationChallenges.requestId, old.id))).toHaveLength(0);
    expect(await db.select().from(requestNotes).where(eq(requestNotes.requestId, old.id))).toHaveLength(0);
    expect(await db.select().from(requestEmails).where(eq(requestEmails.requestId, old.id))).toHaveLength(0);
    expect(await db.select().from(requestAnswers).where(eq(requestAnswers.requestId, old.id))).toHaveLength(0);
    expect(await db.select().from(requestCorrections).where(eq(requestCorrections.requestId, old.id))).toHaveLength(0);
    expect(await db.select().from(requestNotes).where(eq(requestNotes.requestId, recent.id))).toHaveLength(1);
    expect(await db.select().from(requestAnswers).where(eq(requestAnswers.requestId, recent.id))).toHaveLength(1);
    // Kept: the record of compliance.
    expect(after).toMatchObject({
      reference: old.reference,
      type: old.type,
      regime: old.regime,
      jurisdiction: old.jurisdiction,
      status: "completed",
      receivedAt: old.receivedAt,
      dueAt: old.dueAt,
      requiredVerificationLevel: old.requiredVerificationLevel,
    });
    expect(after.completedAt?.toISOString()).toBe("2024-02-29T09:00:00.000Z");
    expect(await isAnonymized(db, old.id)).toBe(true);
    expect(await isAnonymized(db, recent.id)).toBe(false);
    expect((await getRequestById(db, recent.id))!.detailsCiphertext).not.toBeNull();
    const [record] = await db.select().from(requestAnonymizations).where(eq(requestAnonymizations.requestId, old.id));
    expect(record).toMatchObject({ documentsDeleted: 1, anonymizedAt: new Date("2026-02-28T23:00:00Z") });

    // Audited with ids and counts only; the chain is intact (events are never edited by anonymization).
    const events = await listEvents(db, old.id);
    expect(events.at(-1)).toMatchObject({ action: "request.anonymized", actorType: "system", actorId: "retention", details: { documentsDeleted: 1 } });
    const [purged] = await db.select().from(requestEvents).where(eq(requestEvents.action, "retention.purged")).orderBy(sql`id desc`).limit(1);
    expect(purged!.requestId).toBeNull();
    expect(purged!.details).toMatchObject({ anonymized: 1, documentsDeleted: 1, closedBefore: "2024-03-01" });
    for (const v of Object.values(purged!.details)) expect(typeof v === "number" || /^\d{4}-\d{2}-\d{2}$/.test(String(v))).toBe(true);
    expect(JSON.stringify(await db.select().from(requestEvents))).not.toContain(email);
    expect((await verifyAuditChain(db)).ok).toBe(true);

    // Idempotent.
    expect(await anonymizeClosedRequests(db, { clock: at("2026-03-02T10:00:00Z"), settings: berlin })).toMatchObject({ anonymized: 0 });
  });

  it("counts from when the request closed, by status, and from local midnight across DST (Los Angeles)", async () => {
    // Completed 10 March 2024 at 00:30 PST (the night clocks sprang forward) → kept through 10 March 2026.
    const completed = await closedRequest({ receivedAt: "2024-02-01T18:00:00Z", closedAt: "2024-03-10T08:30:00Z", timeZone: "America/Los_Angeles" });
    // Cancelled by the requester on 1 November 2024 (the night clocks fell back), 01:30 PDT.
    const cancelled = await closedRequest({ receivedAt: "2024-10-20T18:00:00Z", closedAt: "2024-11-01T08:30:00Z", status: "cancelled" });
    // Denied: no completion date, the status change (last update) counts.
    const denied = await closedRequest({ receivedAt: "2024-02-01T18:00:00Z", closedAt: "2024-03-09T20:00:00Z", status: "denied" });

    expect((await anonymizeClosedRequests(db, { clock: at("2026-03-11T06:59:00Z"), settings: la })).anonymized).toBe(1); // 10 Mar 23:59 PDT: denied only
    expect(await isAnonymized(db, denied.id)).toBe(true);
    expect(await isAnonymized(db, completed.id)).toBe(false);
    expect((await anonymizeClosedRequests(db, { clock: at("2026-03-11T07:00:00Z"), settings: la })).anonymized).toBe(1); // 11 Mar 00:00 PDT
    expect(await isAnonymized(db, completed.id)).toBe(true);
    expect((await getRequestById(db, denied.id))!.outcomeReason).toBe("manifestly_unfounded"); // the reason code stays

    expect((await anonymizeClosedRequests(db, { clock: at("2026-11-02T06:59:00Z"), settings: la })).anonymized).toBe(0); // 1 Nov 23:59 PST
    expect((await anonymizeClosedRequests(db, { clock: at("2026-11-02T08:00:00Z"), settings: la })).anonymized).toBe(1); // 2 Nov 00:00 PST
    expect(await isAnonymized(db, cancelled.id)).toBe(true);
  });

  it("never anonymizes a request under legal hold, and does once the hold is lifted", async () => {
    const held = await closedRequest({ receivedAt: "2023-01-02T10:00:00Z", closedAt: "2023-02-01T10:00:00Z" });
    const staff = await addStaff(db, "admin");
    await db.update(requests).set({ legalHoldSince: new Date("2024-06-01T00:00:00Z"), legalHoldBy: staff.id }).where(eq(requests.id, held.id));
    const settings = retentionSettings(getEnv(), { timeZone: "UTC" });
    expect((await anonymizeClosedRequests(db, { clock: at("2026-01-01T00:00:00Z"), settings })).anonymized).toBe(0);
    expect((await getRequestById(db, held.id))!.detailsCiphertext).not.toBeNull();
    await db.update(requests).set({ legalHoldSince: null, legalHoldBy: null }).where(eq(requests.id, held.id));
    expect((await anonymizeClosedRequests(db, { clock: at("2026-01-02T00:00:00Z"), settings })).anonymized).toBe(1);
  });

  it("works through many requests in batches, and two runs at once anonymize each request once", async () => {
    const rs = await Promise.all(
      Array.from({ length: 25 }, (_, i) => closedRequest({ receivedAt: "2023-01-02T10:00:00Z", closedAt: `2023-02-${String(i + 1).padStart(2, "0")}T10:00:00Z` })),
    );
    const settings = retentionSettings(getEnv(), { timeZone: "UTC" });
    const results = await Promise.all([0, 1].map(() => anonymizeClosedRequests(db, { clock: at("2026-01-01T00:00:00Z"), settings, batchSize: 4 })));
    expect(results[0]!.anonymized + results[1]!.anonymized).toBe(25);
    for (const r of rs) expect((await listEvents(db, r.id)).filter((e) => e.action === "request.anonymized")).toHaveLength(1);
  });
});

describe("purges", () => {
  it("drops expired challenges, expired staff sessions, status tokens of anonymized requests and old bookkeeping — counting, not listing", async () => {
    const now = new Date("2026-06-15T12:00:00Z");
    const r = await addRequest(db, { receivedAt: "2026-06-01T10:00:00Z", status: "pending_verification", acknowledged: false });
    const hours = (h: number) => new Date(now.getTime() + h * 3600_000);
    const [expiredLongAgo, expiredJustNow, live, unsentOld, unsentNew] = await db
      .insert(verificationChallenges)
      .values([
        { requestId: r.id, maxAttempts: 5, codeHash: "a", expiresAt: hours(-25), sentAt: hours(-26) },
        { requestId: r.id, maxAttempts: 5, codeHash: "b", expiresAt: hours(-1), sentAt: hours(-2) },
        { requestId: r.id, maxAttempts: 5, codeHash: "c", expiresAt: hours(1), sentAt: hours(0) },
        { requestId: r.id, maxAttempts: 5, createdAt: hours(-24 * 9) },
        { requestId: r.id, maxAttempts: 5, createdAt: hours(-24 * 2) },
      ])
      .returning({ id: verificationChallenges.id });

    const staff = await addStaff(db, "processor");
    const stale = await createStaffSession(db, staff.id, at("2026-06-14T10:00:00Z")); // 26 h old: past the 12 h limit
    const fresh = await createStaffSession(db, staff.id, () => now);

    // An anonymized request whose status token came back (say, a racing acknowledgement job).
    const anon = await closedRequest({ receivedAt: "2023-01-02T10:00:00Z", closedAt: "2023-02-01T10:00:00Z" });
    await anonymizeClosedRequests(db, { clock: () => now, settings: retentionSettings(getEnv(), { timeZone: "UTC" }) });
    await db.update(requests).set({ statusTokenHash: randomBytes(32).toString("hex") }).where(eq(requests.id, anon.id));

    await db.insert(remindersSent).values([
      { requestId: r.id, kind: "due_soon", day: "2026-03-01", createdAt: new Date("2026-03-01T08:00:00Z"), notifiedAt: new Date("2026-03-01T08:00:00Z") },
      { requestId: r.id, kind: "due_soon", day: "2026-06-14", createdAt: new Date("2026-06-14T08:00:00Z") },
    ]);
    await db.insert(schedulerRuns).values([
      { schedulerId: "retention", startedAt: new Date("2026-05-01T00:00:00Z"), outcome: "succeeded" },
      { schedulerId: "retention", startedAt: new Date("2026-06-14T00:00:00Z"), outcome: "succeeded" },
    ]);

    const counts = await runRetention(db, { clock: () => now, settings: retentionSettings(getEnv(), { timeZone: "UTC" }) });
    expect(counts).toMatchObject({ verificationChallenges: 2, statusTokens: 1, staffSessions: 1, accessPackages: 0, reminders: 1, schedulerRuns: 1 });
    const left = (await db.select({ id: verificationChallenges.id }).from(verificationChallenges).where(eq(verificationChallenges.requestId, r.id))).map((c) => c.id);
    expect(left.sort()).toEqual([expiredJustNow!.id, live!.id, unsentNew!.id].sort());
    expect(left).not.toContain(expiredLongAgo!.id);
    expect(left).not.toContain(unsentOld!.id);
    const sessions = (await db.select({ id: staffSessions.id }).from(staffSessions).where(eq(staffSessions.staffId, staff.id))).map((s) => s.id);
    expect(sessions).toEqual([fresh.sessionId]);
    expect(sessions).not.toContain(stale.sessionId);
    expect((await getRequestById(db, anon.id))!.statusTokenHash).toBeNull();

    // A second run finds nothing more to purge.
    expect(await runRetention(db, { clock: () => now, settings: retentionSettings(getEnv(), { timeZone: "UTC" }) })).toMatchObject({
      anonymized: 0,
      verificationChallenges: 0,
      statusTokens: 0,
      staffSessions: 0,
      reminders: 0,
      schedulerRuns: 0,
    });
  });
});
