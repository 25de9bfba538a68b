/**
 * The requester's answer to "more information needed" (ADR 020). Staff ask from the request page
 * (`requestMoreInformation`: status `awaiting_information`, email with the status link); the requester answers on
 * their private status page. The answer is personal data: it is stored encrypted (AES-256-GCM, bound to the answer
 * and its request), never enters the audit trail (the event `request.information_received` records the answer's id
 * and its length only) and never a log line. The request goes back to `in_review` for its assignee (or the queue).
 *
 * The deadline does not move: the legal calendar (app/models/deadlines.ts, ADR 007) has no rule that stops the clock
 * while the organisation waits for a clarification, so none is invented here.
 */
import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requestAnswers, requests, type RequestStatus } from "#db/schema/index.ts";
import { decrypt, encrypt } from "#app/utils/crypto.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { DomainError } from "./errors.ts";

export const MAX_ANSWER_LENGTH = 4000;

/** The status in which a requester can answer, and the one the answer moves the request to. */
export const ANSWERABLE: readonly RequestStatus[] = ["awaiting_information"];
export const AFTER_ANSWER: RequestStatus = "in_review";

const answerContext = (requestId: string, answerId: string) => `request-answer:${requestId}:${answerId}`;

/** Normalizes an answer's text; a `DomainError` (400) with a message for the requester when it is empty or too long. */
export function cleanAnswer(body: string): string {
  const text = body.replace(/\r\n?/g, "\n").trim();
  if (!text) throw new DomainError("invalid_input", "Please write your answer.", 400);
  if (text.length > MAX_ANSWER_LENGTH) throw new DomainError("invalid_input", `Your answer can be at most ${MAX_ANSWER_LENGTH.toLocaleString("en")} characters.`, 400);
  return text;
}

/**
 * Records the requester's answer: in one transaction, the request row locked (FOR NO KEY UPDATE, see
 * `lockRequest` in request-actions.server.ts), the answer stored encrypted, the status `awaiting_information` →
 * `in_review`, the audit event `request.information_received` (actor: the subject) last. Refused when the request
 * is not waiting for information (answered already, closed by the expiry job, decided by staff).
 */
export async function recordAnswer(db: Executor, input: { requestId: string; body: string }, clock: Clock = systemClock): Promise<{ answerId: string }> {
  const body = cleanAnswer(input.body);
  return db.transaction(async (tx) => {
    const [row] = await tx.select({ id: requests.id, status: requests.status }).from(requests).where(eq(requests.id, input.requestId)).for("no key update");
    if (!row) throw new DomainError("not_found", "We could not find that request.", 404);
    if (!ANSWERABLE.includes(row.status)) {
      throw new DomainError("not_awaiting_information", "We are not waiting for information on this request any more, so the answer was not sent.", 409);
    }
    const now = clock();
    const answerId = randomUUID();
    await tx.insert(requestAnswers).values({ id: answerId, requestId: row.id, bodyCiphertext: encrypt(body, answerContext(row.id, answerId)), createdAt: now });
    await tx.update(requests).set({ status: AFTER_ANSWER, updatedAt: now }).where(eq(requests.id, row.id));
    await appendEvent(
      tx,
      { requestId: row.id, actorType: "subject", action: "request.information_received", details: { answerId, characters: body.length, from: row.status, to: AFTER_ANSWER } },
      clock,
    );
    return { answerId };
  });
}

export type RequestAnswer = { id: string; body: string; createdAt: Date };

/** A request's answers, oldest first, decrypted (for the staff request page). */
export async function listAnswers(db: Executor, requestId: string): Promise<RequestAnswer[]> {
  const rows = await db.select().from(requestAnswers).where(eq(requestAnswers.requestId, requestId)).orderBy(asc(requestAnswers.createdAt), asc(requestAnswers.id));
  return rows.map((r) => ({ id: r.id, body: decrypt(r.bodyCiphertext, answerContext(r.requestId, r.id)), createdAt: r.createdAt }));
}
