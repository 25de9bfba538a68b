/**
 * Corrections confirmed by staff (docs/decisions/015-correction-and-opt-out.md). A correction request carries, in
 * the requester's words, what is wrong and what is right; before anything is written into a store, a processor
 * confirms the new values per subject attribute (name, email, phone, address parts). The confirmed values are kept
 * encrypted (`request_corrections`, bound to the request) and read by the execution — never put into a job payload,
 * a log line or an audit event (the event names the attributes only). A correction is approved and executed only
 * once they are confirmed.
 */
import { eq } from "drizzle-orm";
import type { CorrectionValues } from "#app/connectors/types.ts";
import type { Executor } from "#db/client.server.ts";
import { requestCorrections, requests, storeRuns, type RequestRow } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { decryptJson, encryptJson } from "#app/utils/crypto.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
export { correctionAttributeLabels, correctionAttributeWords, correctionFormSchema } from "./correction-form.ts";
import { normalizeIdentityEmail, normalizePhone, subjectAttributes, type SubjectAttribute } from "./data-map.ts";
import { DomainError } from "./errors.ts";
import { decryptDetails } from "./requests.server.ts";

const context = (requestId: string) => `request-correction:${requestId}`;

export type ConfirmedCorrection = { values: CorrectionValues; attributes: SubjectAttribute[]; confirmedAt: Date; confirmedBy: string | null };

/** The confirmed values (decrypted): for the execution and the confirmation page only. */
export async function getConfirmedCorrection(db: Executor, requestId: string): Promise<ConfirmedCorrection | undefined> {
  const [row] = await db.select().from(requestCorrections).where(eq(requestCorrections.requestId, requestId)).limit(1);
  if (!row) return undefined;
  return {
    values: decryptJson<CorrectionValues>(row.valuesCiphertext, context(requestId)),
    attributes: row.attributes as SubjectAttribute[],
    confirmedAt: row.confirmedAt,
    confirmedBy: row.confirmedBy,
  };
}

/** Whether staff confirmed the values (no decryption). */
export async function isCorrectionConfirmed(db: Executor, requestId: string): Promise<boolean> {
  const [row] = await db.select({ id: requestCorrections.requestId }).from(requestCorrections).where(eq(requestCorrections.requestId, requestId)).limit(1);
  return row !== undefined;
}

export const CORRECTION_NOT_CONFIRMED = "Confirm the corrected values first (Correction page): nothing is changed in our systems before a person has checked them.";

/**
 * For the approve action (inside its transaction): a correction cannot be approved before its values are confirmed.
 * Throws a DomainError (409) with a message fit to show.
 */
export async function assertCorrectionReady(db: Executor, row: Pick<RequestRow, "id" | "type">) {
  if (row.type !== "correction") return;
  if (!(await isCorrectionConfirmed(db, row.id))) throw new DomainError("correction_not_confirmed", CORRECTION_NOT_CONFIRMED, 409);
}

/** What the requester wrote (decrypted): shown next to the form. */
export function requestedCorrection(row: Pick<RequestRow, "id" | "detailsCiphertext">) {
  return decryptDetails(row).corrections;
}

/** Statuses in which the values may still be confirmed or changed (before anything ran in a store). */
const CONFIRMABLE = ["verified", "in_review", "awaiting_information", "action_required"] as const;

/**
 * A processor or admin confirms (or edits) the new values. Stored encrypted; audit `request.correction_confirmed`
 * names the attributes only. A correction that was approved before its values were confirmed waits in
 * action_required (code correction_not_confirmed, no store touched): confirming moves it back to approved and
 * queues its execution.
 */
export async function confirmCorrection(
  db: Executor,
  input: { requestId: string; actor: { id: string; role: "admin" | "processor" | "auditor" }; values: CorrectionValues },
  clock: Clock = systemClock,
) {
  if (input.actor.role === "auditor") throw new DomainError("forbidden", "Auditors can read requests but not act on them.", 403);
  const values: CorrectionValues = {};
  for (const a of subjectAttributes) {
    const v = input.values[a]?.trim();
    if (!v) continue;
    if (a === "email" && !normalizeIdentityEmail(v)) throw new DomainError("invalid_input", "Enter an email address like name@example.com.", 400);
    if (a === "phone" && !normalizePhone(v)) throw new DomainError("invalid_input", "Enter the phone number in international format, starting with +.", 400);
    values[a] = v;
  }
  const attributes = subjectAttributes.filter((a) => values[a] !== undefined);
  if (attributes.length === 0) throw new DomainError("invalid_input", "Enter at least one corrected value.", 400);

  const resumed = await db.transaction(async (tx) => {
    const [row] = await tx.select().from(requests).where(eq(requests.id, input.requestId)).for("update").limit(1);
    if (!row) throw new DomainError("not_found", "No such request.", 404);
    if (row.type !== "correction") throw new DomainError("not_a_correction", "Only a correction request has values to confirm.", 409);
    if (!(CONFIRMABLE as readonly string[]).includes(row.status)) {
      throw new DomainError("illegal_transition", `A request that is ${row.status.replaceAll("_", " ")} can no longer have its values changed.`, 409);
    }
    if (await hasStarted(tx, row.id)) {
      throw new DomainError("correction_started", "The correction has already run in our systems: its values can no longer be changed.", 409);
    }
    const [previous] = await tx.select({ id: requestCorrections.requestId }).from(requestCorrections).where(eq(requestCorrections.requestId, row.id)).limit(1);
    const now = clock();
    const valuesCiphertext = encryptJson(values, context(row.id));
    await tx
      .insert(requestCorrections)
      .values({ requestId: row.id, valuesCiphertext, attributes, confirmedBy: input.actor.id, confirmedAt: now, createdAt: now })
      .onConflictDoUpdate({ target: requestCorrections.requestId, set: { valuesCiphertext, attributes, confirmedBy: input.actor.id, confirmedAt: now } });
    // Approved while unconfirmed (the execution stopped before any store): now it can run.
    const waiting = row.status === "action_required" && !previous;
    if (waiting) await tx.update(requests).set({ status: "approved", updatedAt: now }).where(eq(requests.id, row.id));
    await appendEvent(
      tx,
      {
        requestId: row.id,
        actorType: "staff",
        actorId: input.actor.id,
        action: "request.correction_confirmed",
        details: { attributes, changed: previous !== undefined, ...(waiting ? { resumed: true } : {}) },
      },
      clock,
    );
    return waiting;
  });
  if (resumed) {
    // Its own job id: the first execute-request job (which stopped) may still be kept by the queue under the plain id.
    await enqueue("execute-request", { requestId: input.requestId }, { jobId: `execute-request-${input.requestId}-confirmed` }).catch((err: unknown) =>
      logger.warn({ err, requestId: input.requestId }, "could not enqueue the execution (the reconcile job will)"),
    );
  }
  return { attributes, resumed };
}

/** Whether any store has been given the correction (its values must then stay as they were). */
async function hasStarted(db: Executor, requestId: string) {
  const [run] = await db.select({ id: storeRuns.id }).from(storeRuns).where(eq(storeRuns.requestId, requestId)).limit(1);
  return run !== undefined;
}

/** The page's audited view of the requested correction (decrypting identity data is itself an event). */
export async function viewCorrection(db: Executor, input: { requestId: string; actor: { id: string } }, clock: Clock = systemClock) {
  const [row] = await db.select().from(requests).where(eq(requests.id, input.requestId)).limit(1);
  if (!row) throw new DomainError("not_found", "No such request.", 404);
  const requested = requestedCorrection(row);
  const confirmed = await getConfirmedCorrection(db, row.id);
  await appendEvent(db, { requestId: row.id, actorType: "staff", actorId: input.actor.id, action: "request.correction_viewed", details: {} }, clock);
  return { request: row, requested, confirmed, editable: (CONFIRMABLE as readonly string[]).includes(row.status) && !(await hasStarted(db, row.id)) };
}
