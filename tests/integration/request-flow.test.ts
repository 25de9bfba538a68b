/**
 * The foundation slice through the models and a real worker: submit → verification email over SMTP → code →
 * verified → acknowledgement email; identity encrypted at rest; every step in the audit chain; jobs idempotent.
 */
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { acknowledgeRequest } from "#app/models/acknowledgement.server.ts";
import { listEvents, verifyAuditChain } from "#app/models/audit.server.ts";
import { formatDueDate } from "#app/models/deadlines.ts";
import { decryptIdentity, durabilityBarrier, findRequestsByEmail, getRequestByReference, submitRequest } from "#app/models/requests.server.ts";
import { requestNewCode, sendVerificationChallenge, verifyCode } from "#app/models/verification.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { requests, verificationChallenges } from "#db/schema/index.ts";
import { getQueue } from "#jobs/queues.ts";
import { codeFromMail, acknowledgementMailFor, eventually, mailsTo, uniqueEmail, verificationMailFor } from "#tests/helpers/flow.ts";
import { workerForTests } from "#tests/helpers/worker.ts";

workerForTests();

describe("request flow", () => {
  it("takes an access request from submission to acknowledgement", async () => {
    const db = getDb();
    const email = uniqueEmail("flow");
    const { reference, requestId } = await submitRequest(db, { type: "access", email: `  ${email.toUpperCase()} `, region: "EU" });

    const row = await getRequestByReference(db, reference);
    expect(row?.status).toBe("pending_verification");
    // Encrypted at rest: the raw row never holds the address; the blind index finds it.
    const raw = postgres(getEnv().DATABASE_URL, { max: 1 });
    const [stored] = await raw`select row_to_json(r)::text as json from requests r where id = ${requestId}`;
    await raw.end();
    expect(String(stored?.json)).not.toContain(email);
    expect(String(stored?.json).toLowerCase()).not.toContain(email.toLowerCase());
    expect(decryptIdentity(row!).email).toBe(email);
    expect((await findRequestsByEmail(db, email)).map((r) => r.reference)).toEqual([reference]);

    const mail = await verificationMailFor(email);
    // The worker records the sending just after the mail is out; wait for it so the audit order is fixed.
    await eventually(async () => {
      const [c] = await db.select().from(verificationChallenges).where(eq(verificationChallenges.requestId, requestId));
      return c?.sentAt;
    });
    expect(mail.subject).not.toContain(email);
    const code = codeFromMail(mail);
    expect(mail.text).toContain(`${code.slice(0, 3)} ${code.slice(3)}`);

    const wrong = code === "000000" ? "000001" : "000000";
    expect(await verifyCode(db, reference, wrong)).toEqual({ ok: false, reason: "invalid", attemptsLeft: 4 });
    expect(await verifyCode(db, reference, `${code.slice(0, 3)} ${code.slice(3)}`)).toEqual({ ok: true, requestId });
    // Single use.
    expect(await verifyCode(db, reference, code)).toMatchObject({ ok: false, reason: "already_verified" });

    const ack = await acknowledgementMailFor(email, reference);
    const verified = await getRequestByReference(db, reference);
    expect(ack.text).toContain(formatDueDate(verified!.dueAt));
    await eventually(async () => (await getRequestByReference(db, reference))?.acknowledgedAt);

    const actions = (await listEvents(db, requestId)).map((e) => e.action);
    expect(actions).toEqual(["request.submitted", "verification.sent", "verification.failed", "request.verified", "request.acknowledged"]);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true });

    // Jobs are safe to run twice: nothing is sent again.
    const [challenge] = await db.select().from(verificationChallenges).where(eq(verificationChallenges.requestId, requestId));
    expect(await sendVerificationChallenge(db, challenge!.id)).toBe("skipped");
    expect(await acknowledgeRequest(db, requestId)).toBe("skipped");
    expect(mailsTo(email)).toHaveLength(2);
  });

  it("the durability barrier after a submission returns only once an asynchronous commit before it is on disk", async () => {
    const raw = postgres(getEnv().DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      await raw`create table if not exists barrier_probe (n int)`;
      for (let i = 0; i < 5; i++) {
        await raw.begin(async (tx) => {
          await tx`set local synchronous_commit = off`;
          await tx`insert into barrier_probe values (${i})`;
        });
        const [written] = await raw<{ lsn: string }[]>`select pg_current_wal_insert_lsn()::text as lsn`;
        await durabilityBarrier(raw);
        const [state] = await raw<{ flushed: boolean }[]>`select pg_current_wal_flush_lsn() >= ${written!.lsn}::pg_lsn as flushed`;
        expect(state!.flushed).toBe(true);
      }
    } finally {
      await raw.end();
    }
  });

  it("refuses an expired code and locks the code after too many wrong tries", async () => {
    const db = getDb();
    const email = uniqueEmail("expiry");
    const { reference } = await submitRequest(db, { type: "access", email, region: "US-CA" });
    const code = codeFromMail(await verificationMailFor(email));
    const later = () => new Date(Date.now() + (getEnv().VERIFICATION_CODE_TTL_MINUTES + 1) * 60_000);
    expect(await verifyCode(db, reference, code, later)).toEqual({ ok: false, reason: "expired" });

    const email2 = uniqueEmail("attempts");
    const second = await submitRequest(db, { type: "access", email: email2, region: "UK" });
    const code2 = codeFromMail(await verificationMailFor(email2));
    const wrong = code2 === "111111" ? "222222" : "111111";
    for (let i = 0; i < 4; i++) expect((await verifyCode(db, second.reference, wrong)).ok).toBe(false);
    expect(await verifyCode(db, second.reference, wrong)).toEqual({ ok: false, reason: "too_many_attempts" });
    // Even the right code no longer works: a new one must be requested.
    expect(await verifyCode(db, second.reference, code2)).toEqual({ ok: false, reason: "too_many_attempts" });

    // A new code (after the cooldown) works, and the old one stays dead.
    const afterCooldown = () => new Date(Date.now() + 61_000);
    await requestNewCode(db, second.reference, afterCooldown);
    const fresh = codeFromMail(await verificationMailFor(email2, 15_000, 1));
    expect(await verifyCode(db, second.reference, fresh)).toMatchObject({ ok: true });
  });

  it("enforces the resend cooldown", async () => {
    const db = getDb();
    const email = uniqueEmail("cooldown");
    const { reference } = await submitRequest(db, { type: "access", email, region: "EU" });
    await expect(requestNewCode(db, reference)).rejects.toMatchObject({ code: "cooldown" });
    await expect(requestNewCode(db, "PR-2222-2222")).rejects.toMatchObject({ code: "not_pending" });
  });

  it("never verifies an agent's request by a code: only the consumer's own confirmation does", async () => {
    const db = getDb();
    const email = uniqueEmail("agent-code");
    const { reference, requestId } = await submitRequest(db, { type: "access", email, region: "US-CA" });
    const code = codeFromMail(await verificationMailFor(email));
    await db.update(requests).set({ submittedBy: "agent" }).where(eq(requests.id, requestId));
    await expect(requestNewCode(db, reference, () => new Date(Date.now() + 61_000))).rejects.toMatchObject({ code: "not_pending" });
    // A consumer-confirmation challenge is invisible to the code check, even with a matching hash.
    await db.update(verificationChallenges).set({ purpose: "consumer_confirmation" }).where(eq(verificationChallenges.requestId, requestId));
    expect(await verifyCode(db, reference, code)).toEqual({ ok: false, reason: "invalid" });
  });

  it("fails a job with a malformed payload for good, without retries", async () => {
    const job = await getQueue("email").add("send-verification", { challengeId: "not-a-uuid", email: "x@example.com" });
    const failed = await eventually(async () => {
      const j = await getQueue("email").getJob(job.id!);
      // Read the job again once it is failed: the object fetched before holds the state of that moment.
      return (await j?.isFailed()) ? getQueue("email").getJob(job.id!) : undefined;
    });
    expect(failed.attemptsStarted).toBe(1); // no retry
    expect(failed.failedReason).toContain("invalid payload");
    expect(failed.failedReason).not.toContain("x@example.com");
  });
});
