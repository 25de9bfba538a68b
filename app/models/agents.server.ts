/**
 * Requests made by an authorized agent for a consumer (CCPA regulations §7063).
 *
 * The agent submits the consumer's email, region and request with the consumer's signed permission (a file, stored
 * encrypted — documents.server.ts). Nothing is acted on until the consumer confirms directly with us: the web process
 * commits the request and an *empty* `consumer_confirmation` challenge; the worker creates the link's secret (a
 * 256-bit token, only its keyed hash is stored — the pattern of ADR 006), mails it to the consumer and marks it sent.
 * Opening the link changes nothing; the consumer's POST records `agent_confirmed_at`, verification level 1 (they
 * control the email address), status `verified`, and queues the acknowledgement, which goes to the consumer.
 *
 * The agent's own details are encrypted (`request-agent:<request id>`); the audit trail holds ids and codes only.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests, verificationChallenges, type RequestRow } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { decryptJson, encryptJson, randomToken } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { agentRegions, agentTypeAvailable, type AgentRequestType } from "./agent-intake.ts";
import { applyApprovalPolicySafely } from "./approval-policy.server.ts";
import { appendEvent } from "./audit.server.ts";
import { listDocuments, storeDocument, type DocumentContentType } from "./documents.server.ts";
import { insertEmptySecret, isLiveSecret, mailNewSecret, type SecretKind } from "./emailed-secret.server.ts";
import { DomainError } from "./errors.ts";
import { requestEmailBasics } from "./request-email.server.ts";
import { requestTypeLabels } from "./request-types.ts";
import { decryptIdentity, getRequestByReference, insertRequest, maskEmail, type RequestDetails } from "./requests.server.ts";
import { challengeToSend, newestLiveChallenge } from "./verification.server.ts";

/** The agent as they described themselves; encrypted at rest. */
export type AgentDetails = { name: string; email: string; organisation?: string };

export type AgentSubmitInput = {
  type: AgentRequestType;
  consumerEmail: string;
  region: string;
  agent: AgentDetails;
  corrections?: RequestDetails["corrections"];
  /** The signed permission, already sniffed (documents.server.ts `sniffDocumentType`). */
  document: { bytes: Buffer; contentType: DocumentContentType };
};

/** How long the consumer's confirmation link works: they did not start this request and may read mail late. */
export const AGENT_CONFIRMATION_TTL_MINUTES = 7 * 24 * 60;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const agentContext = (requestId: string) => `request-agent:${requestId}`;

export function confirmAgentUrl(reference: string, token: string) {
  return `${getEnv().APP_URL}/requests/${reference}/confirm-agent/${token}`;
}

/**
 * A 256-bit link token. It travels in a URL path, so it is drawn until it holds an upper-case letter, a lower-case
 * letter and a digit: the logger's scrubber recognises random tokens by exactly that, so a log line of the path can
 * never carry it (costs < 0.1 % of draws, about one bit of 256).
 */
function newConfirmationToken(): string {
  for (;;) {
    const token = randomToken(32);
    if (/[A-Z]/.test(token) && /[a-z]/.test(token) && /\d/.test(token)) return token;
  }
}

/** The consumer's confirmation link token (emailed-secret.server.ts). */
const LINK: SecretKind = { table: verificationChallenges, purpose: "agent-confirmation", make: newConfirmationToken, sentAction: "agent_confirmation.sent", unsentOnly: true };

export function decryptAgent(row: Pick<RequestRow, "id" | "agentCiphertext">): AgentDetails | null {
  return row.agentCiphertext ? decryptJson<AgentDetails>(row.agentCiphertext, agentContext(row.id)) : null;
}

/** "Name (Organisation)", as the consumer reads it in our email and on the confirmation page. */
export function agentDisplayName(agent: AgentDetails) {
  return agent.organisation ? `${agent.name} (${agent.organisation})` : agent.name;
}

// ---------------------------------------------------------------------------------------------------------------
// Intake

/**
 * Records an agent's request in one transaction — the request (consumer identity encrypted, `submitted_by` agent,
 * the agent's details encrypted, waiting for the consumer whatever the type), the permission document, an empty
 * consumer-confirmation challenge and the audit events — then queues the consumer's confirmation email.
 */
export async function submitAgentRequest(db: Executor, input: AgentSubmitInput, clock: Clock = systemClock) {
  if (!agentRegions.some((r) => r.code === input.region)) throw new DomainError("unknown_region", "Please choose where the consumer lives from the list.");
  if (!agentTypeAvailable(input.type, input.region)) throw new DomainError("type_unavailable", "This request is not available where the consumer lives.");
  const receivedAt = clock();
  const agent: AgentDetails = {
    name: input.agent.name,
    email: input.agent.email.trim(),
    ...(input.agent.organisation ? { organisation: input.agent.organisation } : {}),
  };
  const created = await db.transaction(async (tx) => {
    const row = await insertRequest(tx, {
      type: input.type,
      email: input.consumerEmail,
      region: input.region,
      receivedAt,
      ...(input.corrections ? { details: { corrections: input.corrections } } : {}),
    });
    // Even an opt-out waits for the consumer here: nothing is acted on for an agent until the consumer confirms.
    await tx
      .update(requests)
      .set({ submittedBy: "agent", agentCiphertext: encryptJson(agent, agentContext(row.id)), status: "pending_verification" })
      .where(eq(requests.id, row.id));
    const document = await storeDocument(tx, { requestId: row.id, kind: "agent_authorization", ...input.document });
    const challengeId = await insertEmptySecret(tx, verificationChallenges, { requestId: row.id, purpose: "consumer_confirmation" }, receivedAt);
    // The agent acts here (actor `agent`, no id: the agent has no account; who they are is in the encrypted request).
    await appendEvent(
      tx,
      {
        requestId: row.id,
        actorType: "agent",
        action: "request.submitted",
        details: { type: input.type, regime: row.regime, jurisdiction: row.jurisdiction, requiredLevel: row.requiredVerificationLevel, submittedBy: "agent" },
      },
      clock,
    );
    await appendEvent(
      tx,
      {
        requestId: row.id,
        actorType: "agent",
        action: "document.received",
        details: { documentId: document.id, kind: "agent_authorization", contentType: document.contentType, sizeBytes: document.sizeBytes },
      },
      clock,
    );
    return { requestId: row.id, reference: row.reference, challengeId, documentId: document.id };
  });

  // After the commit; if Redis is down the request is safe and the reconcile job sends the email later.
  await enqueue("send-agent-confirmation", { challengeId: created.challengeId }).catch((err: unknown) =>
    logger.warn({ err, requestId: created.requestId }, "could not enqueue the consumer confirmation; reconcile will retry"),
  );
  return created;
}

// ---------------------------------------------------------------------------------------------------------------
// The consumer's confirmation email (worker)

/**
 * Job `send-agent-confirmation`: creates the link's token, stores its hash, emails the consumer. Safe to run twice: a
 * challenge already sent or used, superseded, or of a request no longer waiting, is skipped. A retry after a crash
 * between sending and recording issues a new token; the newest link works.
 */
export async function sendAgentConfirmation(db: Executor, challengeId: string, clock: Clock = systemClock) {
  const row = await challengeToSend(db, challengeId, "consumer_confirmation");
  if (typeof row === "string") return row;
  const { challenge, request } = row;
  if (request.agentConfirmedAt) return "skipped" as const;
  const agent = decryptAgent(request);
  if (!agent) return "skipped" as const;
  return mailNewSecret(
    db,
    LINK,
    { id: challenge.id, requestId: request.id, ttlMinutes: AGENT_CONFIRMATION_TTL_MINUTES },
    (token) =>
      sendEmail({
        to: decryptIdentity(request).email,
        template: "agent-confirmation",
        props: {
          ...requestEmailBasics(request),
          agentName: agentDisplayName(agent),
          confirmUrl: confirmAgentUrl(request.reference, token),
          expiresInMinutes: AGENT_CONFIRMATION_TTL_MINUTES,
        },
      }),
    clock,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The consumer confirms (web)

/** The live challenge a (reference, token) pair opens, or undefined — for whatever reason, told apart nowhere. */
async function openChallenge(db: Executor, reference: string, token: string, now: Date, lock: boolean) {
  if (!TOKEN_PATTERN.test(token)) return undefined;
  const request = await getRequestByReference(db, reference);
  if (!request || request.submittedBy !== "agent" || request.agentConfirmedAt || request.status !== "pending_verification") return undefined;
  const challenge = await newestLiveChallenge(db, request.id, "consumer_confirmation", lock);
  // A 256-bit token cannot be guessed, so wrong tries are not counted (a count would let anyone who knows the
  // reference kill the consumer's link).
  if (!challenge || !isLiveSecret(LINK, challenge, token, now)) return undefined;
  return { request, challenge };
}

export type AgentConfirmationView = { reference: string; requestTypeLabel: string; agentName: string };

/** What the confirmation page shows for a live link (read-only: mail scanners open links), or null. */
export async function findAgentConfirmation(db: Executor, reference: string, token: string, clock: Clock = systemClock): Promise<AgentConfirmationView | null> {
  const open = await openChallenge(db, reference, token, clock(), false);
  const agent = open && decryptAgent(open.request);
  if (!open || !agent) return null;
  return { reference: open.request.reference, requestTypeLabel: requestTypeLabels[open.request.type], agentName: agentDisplayName(agent) };
}

/**
 * The consumer confirms that the agent may act for them: the challenge is used up, the request gets
 * `agent_confirmed_at`, verification level 1 and status `verified`, with audit events; after that commit the
 * approval policy is applied (an automatic (regime, type) at its level is approved at once), then the acknowledgement
 * (to the consumer) is queued. False for a wrong, expired or used link or a request no longer waiting.
 */
export async function confirmAgent(db: Executor, reference: string, token: string, clock: Clock = systemClock): Promise<boolean> {
  const now = clock();
  const requestId = await db.transaction(async (tx) => {
    const open = await openChallenge(tx, reference, token, now, true);
    if (!open) return null;
    await tx.update(verificationChallenges).set({ consumedAt: now }).where(eq(verificationChallenges.id, open.challenge.id));
    const updated = await tx
      .update(requests)
      .set({
        status: "verified",
        agentConfirmedAt: now,
        verifiedAt: now,
        verificationLevel: sql`greatest(${requests.verificationLevel}, 1)`,
        updatedAt: now,
      })
      .where(and(eq(requests.id, open.request.id), eq(requests.status, "pending_verification"), isNull(requests.agentConfirmedAt)))
      .returning({ id: requests.id });
    if (updated.length === 0) return null;
    await appendEvent(tx, { requestId: open.request.id, actorType: "subject", action: "request.agent_confirmed", details: { method: "email_link" } }, clock);
    await appendEvent(tx, { requestId: open.request.id, actorType: "subject", action: "request.verified", details: { method: "consumer_confirmation", level: 1 } }, clock);
    return open.request.id;
  });
  if (!requestId) return false;
  await applyApprovalPolicySafely(db, requestId, clock);
  await enqueue("send-acknowledgement", { requestId }).catch((err: unknown) =>
    logger.warn({ err, requestId }, "could not enqueue acknowledgement; reconcile will retry"),
  );
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Staff

export type AgentSummary = {
  name: string;
  organisation: string | null;
  maskedEmail: string;
  confirmedAt: string | null;
  documents: { id: string; kind: string; contentType: string; sizeBytes: number }[];
};

/** The "Authorized agent" section of the staff request page; null for a request the subject made. */
export async function agentSummaryForStaff(db: Executor, row: Pick<RequestRow, "id" | "submittedBy" | "agentCiphertext" | "agentConfirmedAt">): Promise<AgentSummary | null> {
  if (row.submittedBy !== "agent") return null;
  const agent = decryptAgent(row);
  const documents = await listDocuments(db, row.id);
  return {
    name: agent?.name ?? "",
    organisation: agent?.organisation ?? null,
    maskedEmail: agent ? maskEmail(agent.email) : "",
    confirmedAt: row.agentConfirmedAt?.toISOString() ?? null,
    documents: documents.map((d) => ({ id: d.id, kind: d.kind, contentType: d.contentType, sizeBytes: d.sizeBytes })),
  };
}
