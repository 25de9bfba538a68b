/**
 * What staff do to a request, one function per action. Each runs in one transaction that locks the request row,
 * checks the action is allowed in the request's state (otherwise a `RequestActionError` with a message fit to show
 * as is), changes the row, and appends an audit event naming the staff member as its last statement (ADR 004).
 * Auditors read only: every action refuses them, here and in the routes.
 *
 * Emails to the requester never leave from the web process: an action that needs one writes an outbox row
 * (`request_emails`, what staff wrote encrypted) in its transaction and, after the commit, queues
 * `send-request-email` with the row's id. The worker issues a fresh status link (the token is made by the job that
 * mails it, as in ADR 006), sends, and marks the row sent. See docs/decisions/012-staff-console.md.
 */
import { randomUUID } from "node:crypto";
import { and, desc, eq, gt, inArray, isNull } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import {
  endedRequestStatuses,
  openRequestStatuses,
  requestAnonymizations,
  requestEmails,
  requests,
  staffUsers,
  type Regime,
  type RequestEmailKind,
  type RequestRow,
  type RequestStatus,
} from "#db/schema/index.ts";
import { enqueue, type JobName } from "#jobs/queues.ts";
import type { ComplaintInfo } from "#app/emails/denial.tsx";
import { decrypt, decryptJson, encrypt, encryptJson } from "#app/utils/crypto.server.ts";
import { getEnv, type Env } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { requiredText, sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { assertCorrectionReady, CORRECTION_NOT_CONFIRMED } from "./corrections.server.ts";
import { computeDeadlines, formatDueDate, ruleFor, type Period } from "./deadlines.ts";
import { DomainError } from "./errors.ts";
import { resumeAfterLegalHold } from "./execution.server.ts";
import { regimeLabels } from "./regions.ts";
import { requestEmailBasics } from "./request-email.server.ts";
import { decryptIdentity, type SubjectIdentity } from "./requests.server.ts";
import { issueStatusToken, statusUrl } from "./status.server.ts";

// ---------------------------------------------------------------------------------------------------------------
// Who, and what can go wrong

/** The staff member acting (from `requireStaff`). */
export type Actor = { id: string; role: "admin" | "processor" | "auditor" };

export type RequestActionErrorCode =
  | "forbidden"
  | "not_found"
  | "illegal_transition"
  | "verification_insufficient"
  | "legal_hold"
  | "no_extension"
  | "already_extended"
  | "extension_window_closed"
  | "unknown_assignee"
  | "invalid_input";

/** An action refused: a code for programs, a message for people (safe to show as is), an HTTP status. */
export class RequestActionError extends DomainError {
  constructor(
    public override readonly code: RequestActionErrorCode,
    userMessage: string,
    status = 409,
  ) {
    super(code, userMessage, status);
    this.name = "RequestActionError";
  }
}

/** Admins and processors act on requests; auditors read. */
export function canAct(actor: Pick<Actor, "role">): boolean {
  return actor.role === "admin" || actor.role === "processor";
}

export function assertCanAct(actor: Pick<Actor, "role">) {
  if (!canAct(actor)) throw new RequestActionError("forbidden", "Auditors can read requests but not act on them.", 403);
}

// ---------------------------------------------------------------------------------------------------------------
// States

export const ENDED_STATUSES: readonly RequestStatus[] = endedRequestStatuses;
export const OPEN_STATUSES: readonly RequestStatus[] = openRequestStatuses;

/** Where each status-changing action may start. */
export const TRANSITIONS = {
  approve: ["verified", "in_review", "awaiting_information"],
  deny: ["verified", "in_review", "awaiting_information", "approved"],
  requestInformation: ["verified", "in_review", "awaiting_information"],
  close: ["pending_verification", "verified", "in_review", "awaiting_information"],
  extend: OPEN_STATUSES,
  assign: OPEN_STATUSES,
} as const satisfies Record<string, readonly RequestStatus[]>;

export type TransitionAction = keyof typeof TRANSITIONS;

const verbs: Record<TransitionAction, string> = {
  approve: "approved",
  deny: "denied",
  requestInformation: "asked for more information",
  close: "closed",
  extend: "extended",
  assign: "assigned",
};

export function statusLabel(status: RequestStatus) {
  return status.replaceAll("_", " ");
}

function assertTransition(action: TransitionAction, row: Pick<RequestRow, "status">) {
  if ((TRANSITIONS[action] as readonly RequestStatus[]).includes(row.status)) return;
  throw new RequestActionError("illegal_transition", `A request that is ${statusLabel(row.status)} cannot be ${verbs[action]}.`);
}

// ---------------------------------------------------------------------------------------------------------------
// Reason templates

/** Why a request is denied: a code (stored in `outcome_reason`), a label for staff, the text the requester reads. */
export const denialReasons = {
  identity_not_verified: {
    label: "Identity could not be verified",
    text:
      "We could not confirm that you are the person the data is about. To protect your data from anyone else, we only act " +
      "on a request when we are sure of that.",
  },
  manifestly_unfounded_or_excessive: {
    label: "Manifestly unfounded or excessive",
    text: "Your request is manifestly unfounded or excessive, for example because it repeats a request we answered recently.",
  },
  legal_obligation_to_keep: {
    label: "We must keep the data by law",
    text: "The law requires us to keep the data concerned (for example invoices, which tax law requires us to keep), so we cannot delete it.",
  },
  rights_of_others: {
    label: "Would affect the rights of others",
    text: "Doing what you asked would reveal personal data about other people or adversely affect their rights and freedoms.",
  },
  legal_exemption: {
    label: "An exemption in the law applies",
    text: "An exemption in the law applies to the data concerned, so we are not required to do what you asked.",
  },
  not_a_right_here: {
    label: "Not a right under the law that applies",
    text: "The law your request falls under does not give this right, and we are not able to honour it voluntarily.",
  },
  other: { label: "Other (explain below)", text: null },
} as const satisfies Record<string, { label: string; text: string | null }>;

export type DenialReasonCode = keyof typeof denialReasons;
export const denialReasonCodes = Object.keys(denialReasons) as [DenialReasonCode, ...DenialReasonCode[]];

/** Why staff close a request without a decision (no email is sent). */
export const closeReasons = {
  duplicate: "Duplicate of another request",
  withdrawn: "Withdrawn by the requester",
  resolved_otherwise: "Resolved another way",
} as const;
export type CloseReasonCode = keyof typeof closeReasons;
export const closeReasonCodes = Object.keys(closeReasons) as [CloseReasonCode, ...CloseReasonCode[]];

export const MAX_TEXT_LENGTH = 4000;

function cleanText(value: string | undefined | null, what: string, { required }: { required: boolean }): string | null {
  const text = (value ?? "").replace(/\r\n?/g, "\n").trim();
  if (!text) {
    if (required) throw new RequestActionError("invalid_input", `Please write ${what}.`, 400);
    return null;
  }
  if (text.length > MAX_TEXT_LENGTH) throw new RequestActionError("invalid_input", `${what[0]!.toUpperCase()}${what.slice(1)} can be at most ${MAX_TEXT_LENGTH.toLocaleString("en")} characters.`, 400);
  return text;
}

/** The reason text the requester reads: the template's text, then what staff added. */
export function denialText(code: DenialReasonCode, explanation: string | null): string {
  const template = denialReasons[code].text;
  return [template, explanation].filter(Boolean).join("\n\n");
}

/** Where a requester can take a denial (Art. 12(4) GDPR; appeals under the US state laws). */
export function complaintInfoFor(regime: Regime, jurisdiction: string, env: Pick<Env, "EU_LEAD_AUTHORITY_NAME" | "EU_LEAD_AUTHORITY_URL" | "MAIL_FROM"> = getEnv()): ComplaintInfo {
  switch (regime) {
    case "uk_gdpr":
      return { kind: "authority", authorityName: "the Information Commissioner's Office (ICO)", authorityUrl: "https://ico.org.uk/make-a-complaint/" };
    case "gdpr":
      return { kind: "authority", authorityName: env.EU_LEAD_AUTHORITY_NAME, authorityUrl: env.EU_LEAD_AUTHORITY_URL };
    case "ccpa":
    case "us_state": {
      const address = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(env.MAIL_FROM)?.[1] ?? env.MAIL_FROM.trim();
      const regulators: Record<string, { name: string; url: string }> = {
        "US-CA": { name: "the California Privacy Protection Agency", url: "https://cppa.ca.gov/" },
        "US-VA": { name: "the Virginia Attorney General", url: "https://www.oag.state.va.us/" },
        "US-CO": { name: "the Colorado Attorney General", url: "https://coag.gov/" },
        "US-CT": { name: "the Connecticut Attorney General", url: "https://portal.ct.gov/ag" },
      };
      const regulator = regulators[jurisdiction];
      return {
        kind: "appeal",
        instructions:
          `Write to ${address} within 45 days of this email, quote your reference, and tell us why you think our decision is wrong. ` +
          "Someone who did not make the first decision will review it, and we will answer your appeal in writing, with our reasons, " +
          "within the time your state's law sets.",
        ...(regulator ? { regulator } : {}),
      };
    }
  }
}

function periodLabel(p: Period): string {
  if ("months" in p) return `${p.months} month${p.months === 1 ? "" : "s"}`;
  if ("days" in p) return `${p.days} days`;
  return `${p.businessDays} business days`;
}

// ---------------------------------------------------------------------------------------------------------------
// Plumbing

/**
 * Locks the request row for the action's transaction. FOR NO KEY UPDATE, not FOR UPDATE: every audit event inserted
 * for this request (by anyone, holding the chain lock) checks its foreign key with FOR KEY SHARE on this row, which
 * FOR UPDATE would block — while we wait for the chain lock in `appendEvent`: a deadlock. NO KEY UPDATE still
 * serializes the actions (they all take it) and is what our UPDATE takes anyway (the key never changes).
 */
export async function lockRequest(tx: Executor, requestId: string): Promise<RequestRow> {
  const [row] = await tx.select().from(requests).where(eq(requests.id, requestId)).for("no key update");
  if (!row) throw new RequestActionError("not_found", "We could not find that request.", 404);
  return row;
}

/** Outbox content, per kind; encrypted (it is what staff wrote, and may hold personal data). */
type EmailContent =
  | { kind: "denial"; reason: string }
  | { kind: "more_information"; message: string; answerBy: string }
  | { kind: "extension_notice"; reason: string };

const emailContext = (requestId: string, emailId: string) => `request-email:${requestId}:${emailId}`;

async function insertEmail(tx: Executor, requestId: string, actor: Actor, content: EmailContent, now: Date): Promise<string> {
  const id = randomUUID();
  await tx.insert(requestEmails).values({
    id,
    requestId,
    kind: content.kind,
    contentCiphertext: encryptJson(content, emailContext(requestId, id)),
    createdBy: actor.id,
    createdAt: now,
  });
  return id;
}

/** After the commit: queue the email. If Redis is down the row waits; `requeueUnsentRequestEmails` sends it later. */
async function queueEmail(emailId: string, requestId: string) {
  await enqueue("send-request-email", { emailId }).catch((err: unknown) =>
    logger.warn({ err, requestId }, "could not enqueue the requester email; requeueUnsentRequestEmails will retry"),
  );
}

/**
 * After an approval committed: queue `execute-request` (app/models/execution.server.ts moves the request
 * approved → processing and runs it across the stores). If Redis is down the request stays `approved`; the job is
 * idempotent, so queueing it again later is safe.
 */
export const EXECUTION_JOB = "execute-request" satisfies JobName;
export async function queueExecution(requestId: string): Promise<"enqueued" | "failed"> {
  try {
    await enqueue(EXECUTION_JOB, { requestId });
    return "enqueued";
  } catch (err) {
    logger.warn({ err, requestId }, "could not enqueue the execution of an approved request");
    return "failed";
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The actions

/**
 * Assigns the request to a staff member (an active admin or processor), or unassigns it (`assigneeId: null`).
 * A `verified` request being assigned moves to `in_review`. Audit: `request.assigned`.
 */
export async function assignRequest(db: Executor, input: { requestId: string; actor: Actor; assigneeId: string | null }, clock: Clock = systemClock) {
  assertCanAct(input.actor);
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    assertTransition("assign", row);
    if (input.assigneeId !== null) {
      const [assignee] = await tx
        .select({ id: staffUsers.id, role: staffUsers.role, disabledAt: staffUsers.disabledAt })
        .from(staffUsers)
        .where(eq(staffUsers.id, input.assigneeId))
        .limit(1);
      if (!assignee || assignee.disabledAt || assignee.role === "auditor") {
        throw new RequestActionError("unknown_assignee", "Choose an active admin or processor to assign the request to.", 400);
      }
    }
    if (row.assigneeId === input.assigneeId) return { status: row.status, changed: false };
    const now = clock();
    const status: RequestStatus = row.status === "verified" && input.assigneeId ? "in_review" : row.status;
    await tx.update(requests).set({ assigneeId: input.assigneeId, status, updatedAt: now }).where(eq(requests.id, row.id));
    await appendEvent(
      tx,
      {
        requestId: row.id,
        actorType: "staff",
        actorId: input.actor.id,
        action: "request.assigned",
        details: { assigneeId: input.assigneeId, previousAssigneeId: row.assigneeId, ...(status !== row.status ? { status } : {}) },
      },
      clock,
    );
    return { status, changed: true };
  });
}

/**
 * Approves: status `approved` (from verified, in review or awaiting information), then the execution starts
 * (`queueExecution`). Refused while the verification is below the required level, and for an erasure under legal
 * hold. Audit: `request.approved` (public timeline).
 */
export async function approveRequest(db: Executor, input: { requestId: string; actor: Actor }, clock: Clock = systemClock) {
  assertCanAct(input.actor);
  const id = await db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    assertTransition("approve", row);
    if (row.verificationLevel < row.requiredVerificationLevel) {
      throw new RequestActionError(
        "verification_insufficient",
        `The requester is verified to level ${row.verificationLevel} of the ${row.requiredVerificationLevel} this request needs. Ask for more information, or deny it.`,
      );
    }
    if (row.legalHoldSince && row.type === "deletion") {
      throw new RequestActionError("legal_hold", "This request is under a legal hold: its data must not be erased until the hold is lifted.");
    }
    await assertCorrectionReady(tx, row);
    const now = clock();
    await tx.update(requests).set({ status: "approved", updatedAt: now }).where(eq(requests.id, row.id));
    await appendEvent(tx, { requestId: row.id, actorType: "staff", actorId: input.actor.id, action: "request.approved", details: { from: row.status } }, clock);
    return row.id;
  });
  const execution = await queueExecution(id);
  return { status: "approved" as const, execution };
}

/**
 * Denies, with a reason from the template list (`outcome_reason` keeps its code) and, optionally (required for
 * `other`), staff's own words. The denial email (reason, and where to complain or appeal) is queued.
 * Audit: `request.denied` (public timeline) with the reason code; the text stays out of the trail.
 */
export async function denyRequest(
  db: Executor,
  input: { requestId: string; actor: Actor; reasonCode: DenialReasonCode; explanation?: string | null },
  clock: Clock = systemClock,
) {
  assertCanAct(input.actor);
  if (!Object.hasOwn(denialReasons, input.reasonCode)) throw new RequestActionError("invalid_input", "Choose a reason from the list.", 400);
  const explanation = cleanText(input.explanation, "the explanation for the requester", { required: input.reasonCode === "other" });
  const { id, emailId } = await db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    assertTransition("deny", row);
    const now = clock();
    await tx.update(requests).set({ status: "denied", outcomeReason: input.reasonCode, updatedAt: now }).where(eq(requests.id, row.id));
    const emailId = await insertEmail(tx, row.id, input.actor, { kind: "denial", reason: denialText(input.reasonCode, explanation) }, now);
    await appendEvent(
      tx,
      { requestId: row.id, actorType: "staff", actorId: input.actor.id, action: "request.denied", details: { reason: input.reasonCode, from: row.status, emailId } },
      clock,
    );
    return { id: row.id, emailId };
  });
  await queueEmail(emailId, id);
  return { status: "denied" as const, emailId };
}

/**
 * Asks the requester for more information: status `awaiting_information` (the expiry job closes it after
 * INFO_REQUEST_EXPIRY_DAYS without an answer), and the more-information email with the status link.
 * Audit: `request.info_requested` (public timeline).
 */
export async function requestMoreInformation(db: Executor, input: { requestId: string; actor: Actor; message: string }, clock: Clock = systemClock) {
  assertCanAct(input.actor);
  const message = cleanText(input.message, "what you need from the requester", { required: true })!;
  const { id, emailId } = await db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    assertTransition("requestInformation", row);
    const now = clock();
    const answerBy = new Date(now.getTime() + getEnv().INFO_REQUEST_EXPIRY_DAYS * 86_400_000);
    await tx.update(requests).set({ status: "awaiting_information", updatedAt: now }).where(eq(requests.id, row.id));
    const emailId = await insertEmail(tx, row.id, input.actor, { kind: "more_information", message, answerBy: answerBy.toISOString() }, now);
    await appendEvent(tx, { requestId: row.id, actorType: "staff", actorId: input.actor.id, action: "request.info_requested", details: { from: row.status, emailId } }, clock);
    return { id: row.id, emailId };
  });
  await queueEmail(emailId, id);
  return { status: "awaiting_information" as const, emailId };
}

export type ExtensionAvailability =
  | { available: true; newDueAt: Date; noticeBy: Date; length: string }
  | { available: false; code: "no_extension" | "already_extended" | "extension_window_closed" | "illegal_transition"; message: string };

/** Whether the one extension the law allows can still be taken, and to which date. */
export function extensionAvailability(row: RequestRow, now: Date): ExtensionAvailability {
  if (!(TRANSITIONS.extend as readonly RequestStatus[]).includes(row.status)) {
    return { available: false, code: "illegal_transition", message: `A request that is ${statusLabel(row.status)} cannot be extended.` };
  }
  const rule = ruleFor(row.regime, row.type);
  if (!rule.extension) return { available: false, code: "no_extension", message: "The law gives no extension for this kind of request." };
  if (row.extendedDueAt) {
    return { available: false, code: "already_extended", message: `The deadline was already extended once, to ${formatDueDate(row.extendedDueAt)}; the law allows one extension.` };
  }
  const deadlines = computeDeadlines(row.regime, row.type, row.receivedAt);
  const noticeBy = row.extensionNoticeBy ?? deadlines.extensionNoticeBy ?? row.dueAt;
  if (now.getTime() > noticeBy.getTime()) {
    return { available: false, code: "extension_window_closed", message: `An extension had to be notified by ${formatDueDate(noticeBy)}; that date has passed.` };
  }
  return { available: true, newDueAt: deadlines.extendedDueAt!, noticeBy, length: periodLabel(rule.extension.length) };
}

/**
 * Extends the deadline — once, only until `extension_notice_by`, with a reason the requester reads (also shown on
 * the status page): `extended_due_at` from the legal calendar, and the extension notice is queued.
 * Audit: `request.extended` (public timeline) with the new date; the reason stays out of the trail.
 */
export async function extendDeadline(db: Executor, input: { requestId: string; actor: Actor; reason: string }, clock: Clock = systemClock) {
  assertCanAct(input.actor);
  const reason = cleanText(input.reason, "why you need more time", { required: true })!;
  const { id, emailId, newDueAt } = await db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    const now = clock();
    const availability = extensionAvailability(row, now);
    if (!availability.available) throw new RequestActionError(availability.code, availability.message);
    await tx
      .update(requests)
      .set({ extendedDueAt: availability.newDueAt, extensionReason: reason, updatedAt: now })
      .where(and(eq(requests.id, row.id), isNull(requests.extendedDueAt)));
    const emailId = await insertEmail(tx, row.id, input.actor, { kind: "extension_notice", reason }, now);
    await appendEvent(
      tx,
      {
        requestId: row.id,
        actorType: "staff",
        actorId: input.actor.id,
        action: "request.extended",
        details: { dueAt: row.dueAt.toISOString(), extendedDueAt: availability.newDueAt.toISOString(), length: availability.length, emailId },
      },
      clock,
    );
    return { id: row.id, emailId, newDueAt: availability.newDueAt };
  });
  await queueEmail(emailId, id);
  return { extendedDueAt: newDueAt, emailId };
}

const holdContext = (requestId: string) => `request-legal-hold:${requestId}`;

/**
 * Places a legal hold (any state, closed requests included): while it lasts, nothing may erase or anonymize the
 * request's data — the execution engine and the retention job must check `legal_hold_since` (see `isUnderLegalHold`).
 * The reason is encrypted. Audit: `request.legal_hold_placed`.
 */
export async function placeLegalHold(db: Executor, input: { requestId: string; actor: Actor; reason: string }, clock: Clock = systemClock) {
  assertCanAct(input.actor);
  const reason = cleanText(input.reason, "the reason for the hold", { required: true })!;
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    if (row.legalHoldSince) throw new RequestActionError("legal_hold", "This request is already under a legal hold.");
    const now = clock();
    await tx
      .update(requests)
      .set({ legalHoldSince: now, legalHoldBy: input.actor.id, legalHoldReasonCiphertext: encrypt(reason, holdContext(row.id)), updatedAt: now })
      .where(eq(requests.id, row.id));
    await appendEvent(tx, { requestId: row.id, actorType: "staff", actorId: input.actor.id, action: "request.legal_hold_placed", details: {} }, clock);
    return { legalHoldSince: now };
  });
}

/** Lifts the legal hold. Admins only (lifting one re-enables erasure). Audit: `request.legal_hold_lifted`. */
export async function liftLegalHold(db: Executor, input: { requestId: string; actor: Actor }, clock: Clock = systemClock) {
  assertCanAct(input.actor);
  if (input.actor.role !== "admin") throw new RequestActionError("forbidden", "Only an admin can lift a legal hold.", 403);
  const result = await db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    if (!row.legalHoldSince) throw new RequestActionError("legal_hold", "This request is not under a legal hold.");
    const now = clock();
    await tx
      .update(requests)
      .set({ legalHoldSince: null, legalHoldBy: null, legalHoldReasonCiphertext: null, updatedAt: now })
      .where(eq(requests.id, row.id));
    await appendEvent(
      tx,
      { requestId: row.id, actorType: "staff", actorId: input.actor.id, action: "request.legal_hold_lifted", details: { heldSince: row.legalHoldSince.toISOString() } },
      clock,
    );
    return { lifted: true };
  });
  // An erasure the hold stopped resumes now (the reconcile job would also pick it up later).
  try {
    await resumeAfterLegalHold(db, clock, input.requestId);
  } catch (err) {
    logger.warn({ err, requestId: input.requestId }, "could not resume the erasure after lifting the legal hold; reconcile will");
  }
  return result;
}

/** True while a legal hold blocks erasure and anonymization of the request's data. */
export function isUnderLegalHold(row: Pick<RequestRow, "legalHoldSince">): boolean {
  return row.legalHoldSince !== null;
}

export function legalHoldReason(row: Pick<RequestRow, "id" | "legalHoldReasonCiphertext">): string | null {
  return row.legalHoldReasonCiphertext ? decrypt(row.legalHoldReasonCiphertext, holdContext(row.id)) : null;
}

/** Closes without a decision (duplicate, withdrawn, resolved another way); no email. Audit: `request.closed`. */
export async function closeRequest(db: Executor, input: { requestId: string; actor: Actor; reasonCode: CloseReasonCode }, clock: Clock = systemClock) {
  assertCanAct(input.actor);
  if (!Object.hasOwn(closeReasons, input.reasonCode)) throw new RequestActionError("invalid_input", "Choose why the request is closed.", 400);
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    assertTransition("close", row);
    const now = clock();
    await tx.update(requests).set({ status: "closed", outcomeReason: input.reasonCode, updatedAt: now }).where(eq(requests.id, row.id));
    await appendEvent(tx, { requestId: row.id, actorType: "staff", actorId: input.actor.id, action: "request.closed", details: { reason: input.reasonCode, from: row.status } }, clock);
    return { status: "closed" as const };
  });
}

/**
 * The full identity (email, name, data points) for a staff member who passed a step-up (the route checks it).
 * Every view is an audit event `request.identity_viewed`, written before the identity is returned.
 */
export async function revealIdentity(db: Executor, input: { requestId: string; actor: Actor; sessionId?: string }, clock: Clock = systemClock): Promise<SubjectIdentity> {
  assertCanAct(input.actor);
  const [row] = await db.select().from(requests).where(eq(requests.id, input.requestId)).limit(1);
  if (!row) throw new RequestActionError("not_found", "We could not find that request.", 404);
  const identity = decryptIdentity(row);
  await appendEvent(
    db,
    {
      requestId: row.id,
      actorType: "staff",
      actorId: input.actor.id,
      action: "request.identity_viewed",
      details: { fields: ["email", ...(identity.name ? ["name"] : []), ...Object.keys(identity.dataPoints ?? {}).map((k) => `dataPoints.${k}`)] },
    },
    clock,
  );
  return identity;
}

// ---------------------------------------------------------------------------------------------------------------
// What the detail page offers

export type AvailableActions = {
  canAct: boolean;
  assign: boolean;
  approve: { allowed: boolean; blockedBy?: string };
  deny: boolean;
  requestInformation: boolean;
  extend: ExtensionAvailability;
  close: boolean;
  placeHold: boolean;
  liftHold: boolean;
  note: boolean;
};

/** Which forms the detail page shows (the actions check the same rules again). */
/** `facts.correctionConfirmed`: for a correction, whether staff confirmed its new values (see corrections.server.ts). */
export function availableActions(row: RequestRow, actor: Pick<Actor, "role">, now: Date, facts: { correctionConfirmed?: boolean } = {}): AvailableActions {
  const acting = canAct(actor);
  const allowed = (a: TransitionAction) => acting && (TRANSITIONS[a] as readonly RequestStatus[]).includes(row.status);
  let approveBlockedBy: string | undefined;
  if (allowed("approve") && row.verificationLevel < row.requiredVerificationLevel) {
    approveBlockedBy = `Verified to level ${row.verificationLevel} of the ${row.requiredVerificationLevel} required.`;
  } else if (allowed("approve") && row.legalHoldSince && row.type === "deletion") {
    approveBlockedBy = "Under a legal hold: no erasure until it is lifted.";
  } else if (allowed("approve") && row.type === "correction" && !facts.correctionConfirmed) {
    approveBlockedBy = CORRECTION_NOT_CONFIRMED;
  }
  return {
    canAct: acting,
    assign: allowed("assign"),
    approve: { allowed: allowed("approve") && !approveBlockedBy, ...(approveBlockedBy ? { blockedBy: approveBlockedBy } : {}) },
    deny: allowed("deny"),
    requestInformation: allowed("requestInformation"),
    extend: acting ? extensionAvailability(row, now) : { available: false, code: "illegal_transition", message: "Auditors cannot act on requests." },
    close: allowed("close"),
    placeHold: acting && !row.legalHoldSince,
    liftHold: actor.role === "admin" && row.legalHoldSince !== null,
    note: acting,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The worker side: job `send-request-email`

/**
 * Job `send-request-email`: sends one outbox row. Skipped when already sent (or the request was anonymized since).
 * Issues a fresh status token for the link (replacing the one in earlier emails: only the newest link works), sends,
 * then marks the row sent with the audit event `request.email_sent`. A crash between sending and marking sends again
 * on retry — at least once, like every email of the portal.
 */
export async function sendRequestEmail(db: Executor, emailId: string, clock: Clock = systemClock) {
  const [found] = await db
    .select({ email: requestEmails, request: requests, anonymizedAt: requestAnonymizations.anonymizedAt })
    .from(requestEmails)
    .innerJoin(requests, eq(requests.id, requestEmails.requestId))
    .leftJoin(requestAnonymizations, eq(requestAnonymizations.requestId, requests.id))
    .where(eq(requestEmails.id, emailId))
    .limit(1);
  if (!found) return "missing" as const;
  const { email, request } = found;
  if (email.sentAt || found.anonymizedAt) return "skipped" as const;

  const content = decryptJson<EmailContent>(email.contentCiphertext, emailContext(request.id, email.id));
  const to = decryptIdentity(request).email;
  const token = await issueStatusToken(db, request.id);
  const link = statusUrl(token);
  const env = getEnv();
  const common = requestEmailBasics(request);
  switch (content.kind) {
    case "denial":
      await sendEmail({
        to,
        template: "denial",
        props: {
          ...common,
          reason: requiredText(content.reason, "denial reason"),
          regimeLabel: regimeLabels[request.regime],
          complaintInfo: complaintInfoFor(request.regime, request.jurisdiction, env),
          statusUrl: link,
        },
      });
      break;
    case "more_information":
      await sendEmail({
        to,
        template: "more-information",
        props: { ...common, message: requiredText(content.message, "message"), respondUrl: link, dueDate: formatDueDate(new Date(content.answerBy)) },
      });
      break;
    case "extension_notice":
      await sendEmail({
        to,
        template: "extension-notice",
        props: {
          ...common,
          originalDueDate: formatDueDate(request.dueAt),
          newDueDate: formatDueDate(request.extendedDueAt ?? request.dueAt),
          reason: requiredText(content.reason, "extension reason"),
          statusUrl: link,
        },
      });
      break;
  }

  await db.transaction(async (tx) => {
    const now = clock();
    const marked = await tx
      .update(requestEmails)
      .set({ sentAt: now })
      .where(and(eq(requestEmails.id, email.id), isNull(requestEmails.sentAt)))
      .returning({ id: requestEmails.id });
    if (marked.length === 0) return;
    await appendEvent(
      tx,
      { requestId: request.id, actorType: "system", actorId: "send-request-email", action: "request.email_sent", details: { kind: email.kind, emailId: email.id } },
      clock,
    );
  });
  return "sent" as const;
}

/** Outbox rows not sent yet, newest last, created within `withinDays` (default 7). */
export async function findUnsentRequestEmails(db: Executor, { withinDays = 7, clock = systemClock }: { withinDays?: number; clock?: Clock } = {}) {
  const since = new Date(clock().getTime() - withinDays * 86_400_000);
  return db
    .select({ id: requestEmails.id, requestId: requestEmails.requestId, kind: requestEmails.kind })
    .from(requestEmails)
    .where(and(isNull(requestEmails.sentAt), gt(requestEmails.createdAt, since)))
    .orderBy(requestEmails.createdAt);
}

/**
 * For the reconcile job: queue every unsent outbox row again (deterministic job ids make this a no-op for jobs Redis
 * still holds). Returns how many were queued.
 */
export async function requeueUnsentRequestEmails(db: Executor, options: { withinDays?: number; clock?: Clock } = {}) {
  const rows = await findUnsentRequestEmails(db, options);
  for (const r of rows) await enqueue("send-request-email", { emailId: r.id });
  return rows.length;
}

/**
 * What staff last asked the requester (the newest "more information" email's text and answer-by date), for the
 * requester's status page while the request waits for their answer; null when nothing was asked.
 */
export async function latestInformationRequest(db: Executor, requestId: string): Promise<{ message: string; answerBy: Date; askedAt: Date } | null> {
  const [row] = await db
    .select()
    .from(requestEmails)
    .where(and(eq(requestEmails.requestId, requestId), eq(requestEmails.kind, "more_information")))
    .orderBy(desc(requestEmails.createdAt))
    .limit(1);
  if (!row) return null;
  const content = decryptJson<EmailContent>(row.contentCiphertext, emailContext(requestId, row.id));
  if (content.kind !== "more_information") return null;
  return { message: content.message, answerBy: new Date(content.answerBy), askedAt: row.createdAt };
}

/** The outbox rows of a request (kind and when sent), for the detail page. */
export async function listRequestEmails(db: Executor, requestId: string): Promise<{ id: string; kind: RequestEmailKind; createdAt: Date; sentAt: Date | null }[]> {
  return db
    .select({ id: requestEmails.id, kind: requestEmails.kind, createdAt: requestEmails.createdAt, sentAt: requestEmails.sentAt })
    .from(requestEmails)
    .where(inArray(requestEmails.requestId, [requestId]))
    .orderBy(requestEmails.createdAt);
}
