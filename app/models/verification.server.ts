/**
 * Email verification of a requester. The worker creates the secret when it sends the mail: a 6-digit code from a
 * CSPRNG, also carried by the one-click link; only its keyed hash is stored. Codes are single use, expire after
 * VERIFICATION_CODE_TTL_MINUTES, and die after VERIFICATION_MAX_ATTEMPTS wrong tries (a new code must be requested).
 */
import { and, desc, eq, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests, verificationChallenges, type VerificationChallengeRow } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { randomCode } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { applyApprovalPolicySafely } from "./approval-policy.server.ts";
import { appendEvent } from "./audit.server.ts";
import { assertCooldownPassed, checkTypedCode, insertEmptySecret, mailNewSecret, newestUnusedSecret, rowToSend, type SecretKind } from "./emailed-secret.server.ts";
import { DomainError } from "./errors.ts";
import { requestTypeLabels } from "./request-types.ts";
import { decryptIdentity, getRequestByReference } from "./requests.server.ts";

/** The requester's code: 6 digits, also carried by the one-click link. */
const CODE: SecretKind = { table: verificationChallenges, purpose: "verification-code", make: () => randomCode(6), sentAction: "verification.sent", unsentOnly: true };
export const RESEND_COOLDOWN_SECONDS = 60;

export function verifyUrl(reference: string, code: string) {
  return `${getEnv().APP_URL}/requests/${reference}/verify/${code}`;
}

export { parseCode } from "./emailed-secret.server.ts";

/**
 * The challenge a send job is for, with its request, or why it is not sent: "missing", or "skipped" when it is
 * not of `purpose`, already sent or used, superseded by a newer challenge of the request, or its request is no
 * longer waiting for verification. Shared with the consumer's confirmation of an agent's request (agents.server.ts).
 */
export async function challengeToSend(db: Executor, challengeId: string, purpose: VerificationChallengeRow["purpose"]) {
  const found = await rowToSend(db, verificationChallenges, challengeId);
  if (typeof found === "string") return found;
  const { row: challenge, request } = found;
  if (challenge.purpose !== purpose || request.status !== "pending_verification") return "skipped" as const;
  const [latest] = await db
    .select({ id: verificationChallenges.id })
    .from(verificationChallenges)
    .where(and(eq(verificationChallenges.requestId, request.id), eq(verificationChallenges.purpose, purpose)))
    .orderBy(desc(verificationChallenges.createdAt))
    .limit(1);
  if (latest && latest.id !== challenge.id) return "skipped" as const; // superseded by a newer one
  return { challenge, request };
}

/** The newest challenge of `purpose` whose secret exists and is not used up (`lock`: FOR UPDATE). */
export function newestLiveChallenge(db: Executor, requestId: string, purpose: VerificationChallengeRow["purpose"], lock: boolean) {
  const scope = [eq(verificationChallenges.requestId, requestId), eq(verificationChallenges.purpose, purpose)];
  return newestUnusedSecret(db, verificationChallenges, scope, lock);
}

/**
 * Job `send-verification`: creates the code, stores its hash, emails it. Safe to run twice: a challenge already
 * sent or used, or a request no longer waiting for verification, is skipped.
 */
export async function sendVerificationChallenge(db: Executor, challengeId: string, clock: Clock = systemClock) {
  const row = await challengeToSend(db, challengeId, "requester");
  if (typeof row === "string") return row;
  const { challenge, request } = row;
  const env = getEnv();
  return mailNewSecret(
    db,
    CODE,
    { id: challenge.id, requestId: request.id, ttlMinutes: env.VERIFICATION_CODE_TTL_MINUTES },
    (code) =>
      sendEmail({
        to: decryptIdentity(request).email,
        template: "verification-code",
        props: {
          orgName: env.ORG_NAME,
          code,
          verifyUrl: verifyUrl(request.reference, code),
          expiresInMinutes: env.VERIFICATION_CODE_TTL_MINUTES,
          requestTypeLabel: requestTypeLabels[request.type],
        },
      }),
    clock,
  );
}

export type VerifyResult =
  | { ok: true; requestId: string }
  | { ok: false; reason: "invalid" | "expired" | "too_many_attempts" | "already_verified"; attemptsLeft?: number };

/** Checks a code typed (or clicked) by the requester. Wrong codes count; the right one verifies the request. */
export async function verifyCode(db: Executor, reference: string, input: string, clock: Clock = systemClock): Promise<VerifyResult> {
  const request = await getRequestByReference(db, reference);
  if (!request) return { ok: false, reason: "invalid" };
  if (request.status !== "pending_verification") {
    return request.verifiedAt ? { ok: false, reason: "already_verified" } : { ok: false, reason: "invalid" };
  }
  const now = clock();

  const result = await db.transaction(async (tx): Promise<VerifyResult> => {
    const challenge = await newestLiveChallenge(tx, request.id, "requester", true);
    if (!challenge) return { ok: false, reason: "invalid" };
    const check = { input, requestId: request.id, failedAction: "verification.failed", now };
    const refusal = await checkTypedCode(tx, CODE, challenge, check, clock);
    if (refusal) return refusal;

    await tx.update(verificationChallenges).set({ consumedAt: now }).where(eq(verificationChallenges.id, challenge.id));
    const updated = await tx
      .update(requests)
      .set({ status: "verified", verifiedAt: now, verificationLevel: sql`greatest(${requests.verificationLevel}, 1)`, updatedAt: now })
      .where(and(eq(requests.id, request.id), eq(requests.status, "pending_verification")))
      .returning({ id: requests.id });
    if (updated.length === 0) return { ok: false, reason: "already_verified" };
    await appendEvent(tx, { requestId: request.id, actorType: "subject", action: "request.verified", details: { method: "email_code", level: 1 } }, clock);
    return { ok: true, requestId: request.id };
  });

  if (result.ok) {
    // Approval policy (staff console): approve now if the request's (regime, type) is automatic and it reached its level.
    await applyApprovalPolicySafely(db, result.requestId, clock);
    await enqueue("send-acknowledgement", { requestId: result.requestId }).catch((err: unknown) =>
      logger.warn({ err, requestId: result.requestId }, "could not enqueue acknowledgement; reconcile will retry"),
    );
    // Extra data points (phone, postal code …) are matched against the stores now that the email is proven.
    if (request.suppliedDataPoints.length > 0) {
      await enqueue("match-data-points", { requestId: result.requestId }).catch((err: unknown) =>
        logger.warn({ err, requestId: result.requestId }, "could not enqueue data-point matching"),
      );
    }
  }
  return result;
}

/** A fresh code for a request still waiting for verification (the previous one stops working). */
export async function requestNewCode(db: Executor, reference: string, clock: Clock = systemClock) {
  const request = await getRequestByReference(db, reference);
  // An agent's request is verified only by the consumer's own confirmation (agents.server.ts), never by a code.
  if (!request || request.status !== "pending_verification" || request.submittedBy === "agent") {
    throw new DomainError("not_pending", "This request does not need a new code.", 409);
  }
  const now = clock();
  const challengeId = await db.transaction(async (tx) => {
    const cooldown = { seconds: RESEND_COOLDOWN_SECONDS, message: "Please wait a minute before asking for another code." };
    await assertCooldownPassed(tx, verificationChallenges, request.id, cooldown, now);
    const id = await insertEmptySecret(tx, verificationChallenges, { requestId: request.id }, now);
    await appendEvent(tx, { requestId: request.id, actorType: "subject", action: "verification.resend_requested", details: {} }, clock);
    return id;
  });
  await enqueue("send-verification", { challengeId }).catch((err: unknown) =>
    logger.warn({ err, requestId: request.id }, "could not enqueue verification email; reconcile will retry"),
  );
}
