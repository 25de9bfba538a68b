/**
 * The requester's private status page. Its link carries a 256-bit random token that exists only in the
 * acknowledgement email; the database keeps its SHA-256. The page shows the request's public timeline, due date,
 * extension and outcome, lets the requester cancel a request that has not started processing, and answer when staff
 * asked for more information (`answerInformationRequest`, ADR 020).
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests, type RequestRow, type RequestStatus } from "#db/schema/index.ts";
import { randomToken, sha256Hex } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { recordAnswer } from "./answers.server.ts";
import { appendEvent, listEvents } from "./audit.server.ts";
import { DomainError } from "./errors.ts";

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** A status link keeps working this long after the request is closed, then answers 404. */
export const STATUS_LINK_DAYS_AFTER_CLOSE = 30;
const CLOSED: RequestStatus[] = ["completed", "denied", "cancelled", "expired", "closed"];
export const CANCELLABLE: RequestStatus[] = ["pending_verification", "verified", "in_review"];

export function statusUrl(token: string) {
  return `${getEnv().APP_URL}/status/${token}`;
}

/** A fresh status token for the request (replacing any earlier one); returns the token, stores only its hash. */
export async function issueStatusToken(tx: Executor, requestId: string) {
  const token = randomToken(32);
  await tx.update(requests).set({ statusTokenHash: sha256Hex(token) }).where(eq(requests.id, requestId));
  return token;
}

export async function getRequestByStatusToken(db: Executor, token: string, clock: Clock = systemClock): Promise<RequestRow | undefined> {
  if (!TOKEN_PATTERN.test(token)) return undefined;
  const [row] = await db.select().from(requests).where(eq(requests.statusTokenHash, sha256Hex(token))).limit(1);
  if (!row) return undefined;
  if (CLOSED.includes(row.status) && clock().getTime() - row.updatedAt.getTime() > STATUS_LINK_DAYS_AFTER_CLOSE * 86_400_000) return undefined;
  return row;
}

/** Audit actions the requester sees on the timeline, in their words. Everything else stays internal. */
const publicActions: Record<string, string> = {
  "request.submitted": "We received your request.",
  "request.verified": "You confirmed your email address.",
  "request.acknowledged": "We sent you an acknowledgement.",
  "request.agent_confirmed": "You confirmed that your authorized agent may act for you.",
  "request.info_requested": "We asked you for more information.",
  "request.information_received": "You sent us the information we asked for.",
  "request.extended": "We extended the deadline.",
  "request.approved": "Your request was approved and is being processed.",
  "request.processing_started": "We started processing your request.",
  "request.completed": "Your request is complete.",
  "request.denied": "We could not carry out your request.",
  "request.cancelled": "You cancelled your request.",
  "request.expired": "Your request expired because it was not confirmed.",
};

export async function publicTimeline(db: Executor, requestId: string) {
  const events = await listEvents(db, requestId);
  return events.filter((e) => publicActions[e.action]).map((e) => ({ at: e.createdAt, text: publicActions[e.action]! }));
}

/** The requester cancels; only before processing starts. */
export async function cancelRequest(db: Executor, token: string, clock: Clock = systemClock) {
  const row = await getRequestByStatusToken(db, token, clock);
  if (!row) throw new DomainError("not_found", "We could not find that request.", 404);
  return db.transaction(async (tx) => {
    const now = clock();
    const updated = await tx
      .update(requests)
      .set({ status: "cancelled", cancelledAt: now, updatedAt: now })
      .where(and(eq(requests.id, row.id), inArray(requests.status, CANCELLABLE)))
      .returning({ id: requests.id });
    if (updated.length === 0) throw new DomainError("not_cancellable", "This request is already being processed or has ended, so it can no longer be cancelled.", 409);
    await appendEvent(tx, { requestId: row.id, actorType: "subject", action: "request.cancelled", details: {} }, clock);
    return row.id;
  });
}

/**
 * The requester answers a request for more information from their status page: the answer is stored encrypted and
 * the request goes back to review (see `recordAnswer`). A `DomainError` with a message for the requester otherwise.
 */
export async function answerInformationRequest(db: Executor, token: string, body: string, clock: Clock = systemClock) {
  const row = await getRequestByStatusToken(db, token, clock);
  if (!row) throw new DomainError("not_found", "We could not find that request.", 404);
  return recordAnswer(db, { requestId: row.id, body }, clock);
}
