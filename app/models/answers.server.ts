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
import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requestAnswers, requestEvents, requests, staffUsers, type RequestStatus } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { decrypt, encrypt } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { formatDueDate } from "./deadlines.ts";
import { DomainError } from "./errors.ts";
import { requestTypeLabels } from "./request-types.ts";

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
  const recorded = await db.transaction(async (tx) => {
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
  // The team is told by email (after the commit; ids only in the job). A lost job loses only the email: the request
  // is back in review in the queue, and the request page shows the answer.
  try {
    await enqueue("send-answer-notice", { answerId: recorded.answerId });
  } catch (err) {
    logger.warn({ err, requestId: input.requestId }, "could not queue the answer notice to staff");
  }
  return recorded;
}

/**
 * Job `send-answer-notice`: tells the request's assignee (or, for an unassigned request, every active admin and
 * processor) that the requester answered — reference, type and due date only, never the answer. Recorded with the
 * audit event `request.answer_notice_sent`; a second run finds it and sends nothing.
 */
export async function sendAnswerNotice(db: Executor, answerId: string, clock: Clock = systemClock) {
  const [found] = await db
    .select({ answer: requestAnswers, request: requests })
    .from(requestAnswers)
    .innerJoin(requests, eq(requests.id, requestAnswers.requestId))
    .where(eq(requestAnswers.id, answerId))
    .limit(1);
  if (!found) return { sent: 0 };
  const { request } = found;
  const already = await db
    .select({ id: requestEvents.id })
    .from(requestEvents)
    .where(and(eq(requestEvents.requestId, request.id), eq(requestEvents.action, "request.answer_notice_sent"), sql`${requestEvents.details}->>'answerId' = ${answerId}`))
    .limit(1);
  if (already.length > 0) return { sent: 0 };
  const team = await db
    .select({ id: staffUsers.id, email: staffUsers.email })
    .from(staffUsers)
    .where(
      and(
        isNull(staffUsers.disabledAt),
        inArray(staffUsers.role, ["admin", "processor"]),
        request.assigneeId ? eq(staffUsers.id, request.assigneeId) : sql`true`,
      ),
    );
  const props = {
    reference: request.reference,
    requestTypeLabel: requestTypeLabels[request.type],
    requestUrl: `${getEnv().APP_URL}/admin/requests/${request.reference}`,
    dueLabel: formatDueDate(request.extendedDueAt ?? request.dueAt),
    assigned: request.assigneeId !== null,
  };
  for (const member of team) await sendEmail({ to: member.email, template: "answer-received", props });
  await appendEvent(db, { requestId: request.id, actorType: "system", actorId: "send-answer-notice", action: "request.answer_notice_sent", details: { answerId, recipients: team.length } }, clock);
  return { sent: team.length };
}

export type RequestAnswer = { id: string; body: string; createdAt: Date };

/** A request's answers, oldest first, decrypted (for the staff request page). */
export async function listAnswers(db: Executor, requestId: string): Promise<RequestAnswer[]> {
  const rows = await db.select().from(requestAnswers).where(eq(requestAnswers.requestId, requestId)).orderBy(asc(requestAnswers.createdAt), asc(requestAnswers.id));
  return rows.map((r) => ({ id: r.id, body: decrypt(r.bodyCiphertext, answerContext(r.requestId, r.id)), createdAt: r.createdAt }));
}
