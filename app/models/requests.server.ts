/**
 * Data subject requests: intake, lookup and the staff list. The subject's identity is encrypted before it is
 * stored; lookups by email go through the keyed blind index. A state change commits before its job is enqueued.
 */
import { randomInt, randomUUID } from "node:crypto";
import { desc, eq } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests, verificationChallenges, type RequestRow, type RequestType } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { decryptJson, emailBlindIndex, encryptJson, normalizeEmail } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { computeDeadlines } from "./deadlines.ts";
import { DomainError } from "./errors.ts";
import { regionByCode } from "./regions.ts";

export type SubjectIdentity = { email: string; name?: string; dataPoints?: Record<string, string> };


const identityContext = (requestId: string) => `request-identity:${requestId}`;

/** PR-XXXX-XXXX from an alphabet without look-alikes (40 bits of randomness). */
export function newReference() {
  const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  let s = "";
  for (let i = 0; i < 8; i++) s += alphabet[randomInt(alphabet.length)];
  return `PR-${s.slice(0, 4)}-${s.slice(4)}`;
}

export const referencePattern = /^PR-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/;

export type SubmitInput = { type: RequestType; email: string; name?: string; region: string };

/**
 * Inserts the request row (identity encrypted, blind index, deadlines from the legal calendar) inside the caller's
 * transaction and returns its id and reference. Used by intake and by the demo seed.
 */
export async function insertRequest(tx: Executor, input: SubmitInput & { receivedAt: Date }) {
  const region = regionByCode(input.region);
  if (!region) throw new DomainError("unknown_region", "Please choose where you live from the list.");
  const id = randomUUID();
  const deadlines = computeDeadlines(region.regime, input.type, input.receivedAt);
  const identity: SubjectIdentity = { email: normalizeEmail(input.email), ...(input.name ? { name: input.name } : {}) };
  let reference = newReference();
  for (let attempt = 0; ; attempt++) {
    const [clash] = await tx.select({ id: requests.id }).from(requests).where(eq(requests.reference, reference)).limit(1);
    if (!clash) break;
    if (attempt > 5) throw new Error("could not allocate a unique reference");
    reference = newReference();
  }
  await tx.insert(requests).values({
    id,
    reference,
    type: input.type,
    regime: region.regime,
    jurisdiction: region.jurisdiction,
    status: "pending_verification",
    identityCiphertext: encryptJson(identity, identityContext(id)),
    emailIndex: emailBlindIndex(identity.email),
    receivedAt: input.receivedAt,
    dueAt: deadlines.dueAt,
  });
  return { id, reference, regime: region.regime, jurisdiction: region.jurisdiction };
}

/**
 * Records a new request with its verification challenge and audit event in one transaction, then queues the
 * verification email. The caller answers the same way whatever data we hold: nothing here looks at the stores.
 */
export async function submitRequest(db: Executor, input: SubmitInput, clock: Clock = systemClock) {
  if (!regionByCode(input.region)) throw new DomainError("unknown_region", "Please choose where you live from the list.");
  const receivedAt = clock();
  const { requestId, challengeId, reference } = await db.transaction(async (tx) => {
    const created = await insertRequest(tx, { ...input, receivedAt });
    const [challenge] = await tx
      .insert(verificationChallenges)
      .values({ requestId: created.id, maxAttempts: getEnv().VERIFICATION_MAX_ATTEMPTS })
      .returning({ id: verificationChallenges.id });
    await appendEvent(
      tx,
      {
        requestId: created.id,
        actorType: "subject",
        action: "request.submitted",
        details: { type: input.type, regime: created.regime, jurisdiction: created.jurisdiction },
      },
      clock,
    );
    return { requestId: created.id, challengeId: challenge!.id, reference: created.reference };
  });

  // After the commit. If Redis is unavailable the request is still safe: the reconcile job re-enqueues it.
  await enqueue("send-verification", { challengeId }).catch((err: unknown) =>
    logger.warn({ err, requestId }, "could not enqueue verification email; reconcile will retry"),
  );
  return { requestId, reference };
}

export async function getRequestById(db: Executor, id: string): Promise<RequestRow | undefined> {
  const [row] = await db.select().from(requests).where(eq(requests.id, id)).limit(1);
  return row;
}

export async function getRequestByReference(db: Executor, reference: string): Promise<RequestRow | undefined> {
  if (!referencePattern.test(reference)) return undefined;
  const [row] = await db.select().from(requests).where(eq(requests.reference, reference)).limit(1);
  return row;
}

export function decryptIdentity(row: Pick<RequestRow, "id" | "identityCiphertext">): SubjectIdentity {
  return decryptJson<SubjectIdentity>(row.identityCiphertext, identityContext(row.id));
}

/** Requests whose subject used this email (found through the blind index, nothing decrypted). */
export async function findRequestsByEmail(db: Executor, email: string) {
  return db.select().from(requests).where(eq(requests.emailIndex, emailBlindIndex(email))).orderBy(desc(requests.receivedAt));
}

export type RequestListItem = Pick<
  RequestRow,
  "id" | "reference" | "type" | "regime" | "jurisdiction" | "status" | "receivedAt" | "dueAt" | "extendedDueAt" | "verificationLevel"
>;

/** The staff queue: newest first, no identity. (Filters, search and sorting come with the staff console.) */
export async function listRequests(db: Executor, { limit = 50, offset = 0 } = {}): Promise<RequestListItem[]> {
  return db
    .select({
      id: requests.id,
      reference: requests.reference,
      type: requests.type,
      regime: requests.regime,
      jurisdiction: requests.jurisdiction,
      status: requests.status,
      receivedAt: requests.receivedAt,
      dueAt: requests.dueAt,
      extendedDueAt: requests.extendedDueAt,
      verificationLevel: requests.verificationLevel,
    })
    .from(requests)
    .orderBy(desc(requests.receivedAt))
    .limit(Math.min(Math.max(limit, 1), 200))
    .offset(Math.max(offset, 0));
}
