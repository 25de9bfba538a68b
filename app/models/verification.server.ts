/**
 * Email verification of a requester. The worker creates the secret when it sends the mail: a 6-digit code from a
 * CSPRNG, also carried by the one-click link; only its keyed hash is stored. Codes are single use, expire after
 * VERIFICATION_CODE_TTL_MINUTES, and die after VERIFICATION_MAX_ATTEMPTS wrong tries (a new code must be requested).
 */
import { and, desc, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests, verificationChallenges } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { randomCode, hashSecret, secretMatches } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { applyApprovalPolicySafely } from "./approval-policy.server.ts";
import { appendEvent } from "./audit.server.ts";
import { DomainError } from "./errors.ts";
import { requestTypeLabels } from "./request-types.ts";
import { decryptIdentity, getRequestByReference } from "./requests.server.ts";

const PURPOSE = "verification-code";
export const RESEND_COOLDOWN_SECONDS = 60;

export function verifyUrl(reference: string, code: string) {
  return `${getEnv().APP_URL}/requests/${reference}/verify/${code}`;
}

/** Normalizes what a person types ("123 456", "123-456") into 6 digits, or null. */
export function parseCode(input: string): string | null {
  const digits = input.replace(/[\s-]/g, "");
  return /^\d{6}$/.test(digits) ? digits : null;
}

/**
 * Job `send-verification`: creates the code, stores its hash, emails it. Safe to run twice: a challenge already
 * sent or used, or a request no longer waiting for verification, is skipped.
 */
export async function sendVerificationChallenge(db: Executor, challengeId: string, clock: Clock = systemClock) {
  const [row] = await db
    .select({ challenge: verificationChallenges, request: requests })
    .from(verificationChallenges)
    .innerJoin(requests, eq(requests.id, verificationChallenges.requestId))
    .where(eq(verificationChallenges.id, challengeId))
    .limit(1);
  if (!row) return "missing" as const;
  const { challenge, request } = row;
  if (challenge.purpose !== "requester" || challenge.sentAt || challenge.consumedAt || request.status !== "pending_verification") {
    return "skipped" as const;
  }
  const [latest] = await db
    .select({ id: verificationChallenges.id })
    .from(verificationChallenges)
    .where(and(eq(verificationChallenges.requestId, request.id), eq(verificationChallenges.purpose, "requester")))
    .orderBy(desc(verificationChallenges.createdAt))
    .limit(1);
  if (latest && latest.id !== challenge.id) return "skipped" as const; // superseded by a newer code request

  const env = getEnv();
  const code = randomCode(6);
  const expiresAt = new Date(clock().getTime() + env.VERIFICATION_CODE_TTL_MINUTES * 60_000);
  await db
    .update(verificationChallenges)
    .set({ codeHash: hashSecret(PURPOSE, `${challenge.id}:${code}`), expiresAt, attempts: 0 })
    .where(and(eq(verificationChallenges.id, challenge.id), isNull(verificationChallenges.sentAt)));

  const identity = decryptIdentity(request);
  await sendEmail({
    to: identity.email,
    template: "verification-code",
    props: {
      orgName: env.ORG_NAME,
      code,
      verifyUrl: verifyUrl(request.reference, code),
      expiresInMinutes: env.VERIFICATION_CODE_TTL_MINUTES,
      requestTypeLabel: requestTypeLabels[request.type],
    },
  });

  await db.transaction(async (tx) => {
    await tx.update(verificationChallenges).set({ sentAt: clock() }).where(eq(verificationChallenges.id, challenge.id));
    await appendEvent(tx, { requestId: request.id, actorType: "system", action: "verification.sent", details: { channel: "email" } }, clock);
  });
  return "sent" as const;
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
  const code = parseCode(input);
  const now = clock();

  const result = await db.transaction(async (tx): Promise<VerifyResult> => {
    const [challenge] = await tx
      .select()
      .from(verificationChallenges)
      // The newest challenge whose code exists (hash is set just before the mail goes out).
      .where(
        and(
          eq(verificationChallenges.requestId, request.id),
          eq(verificationChallenges.purpose, "requester"),
          isNotNull(verificationChallenges.codeHash),
          isNull(verificationChallenges.consumedAt),
        ),
      )
      .orderBy(desc(verificationChallenges.createdAt))
      .limit(1)
      .for("update");
    if (!challenge?.codeHash || !challenge.expiresAt) return { ok: false, reason: "invalid" };
    if (challenge.attempts >= challenge.maxAttempts) return { ok: false, reason: "too_many_attempts" };
    if (challenge.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: "expired" };

    if (!code || !secretMatches(PURPOSE, `${challenge.id}:${code}`, challenge.codeHash)) {
      const attempts = challenge.attempts + 1;
      await tx.update(verificationChallenges).set({ attempts }).where(eq(verificationChallenges.id, challenge.id));
      await appendEvent(tx, { requestId: request.id, actorType: "subject", action: "verification.failed", details: { attempt: attempts } }, clock);
      const attemptsLeft = challenge.maxAttempts - attempts;
      return attemptsLeft > 0 ? { ok: false, reason: "invalid", attemptsLeft } : { ok: false, reason: "too_many_attempts" };
    }

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
    // Lock the request row so two clicks cannot both pass the cooldown check.
    await tx.select({ id: requests.id }).from(requests).where(eq(requests.id, request.id)).for("update");
    const [latest] = await tx
      .select({ createdAt: verificationChallenges.createdAt })
      .from(verificationChallenges)
      .where(eq(verificationChallenges.requestId, request.id))
      .orderBy(desc(verificationChallenges.createdAt))
      .limit(1);
    if (latest && now.getTime() - latest.createdAt.getTime() < RESEND_COOLDOWN_SECONDS * 1000) {
      throw new DomainError("cooldown", `Please wait a minute before asking for another code.`, 429);
    }
    const [challenge] = await tx
      .insert(verificationChallenges)
      .values({ requestId: request.id, maxAttempts: getEnv().VERIFICATION_MAX_ATTEMPTS, createdAt: now })
      .returning({ id: verificationChallenges.id });
    await appendEvent(tx, { requestId: request.id, actorType: "subject", action: "verification.resend_requested", details: {} }, clock);
    return challenge!.id;
  });
  await enqueue("send-verification", { challengeId }).catch((err: unknown) =>
    logger.warn({ err, requestId: request.id }, "could not enqueue verification email; reconcile will retry"),
  );
}
