/**
 * Postgres is the source of truth; Redis may lose jobs. Reconcile finds work that Postgres says is pending and
 * enqueues it again (deterministic job ids make this a no-op for jobs Redis still holds).
 */
import { and, eq, gt, inArray, isNull, type SQL } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests, verificationChallenges, type VerificationChallengeRow } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { ACKNOWLEDGEABLE_STATUSES } from "./acknowledgement.server.ts";
import { reconcileExecutions } from "./execution.server.ts";
import { requeueUnsentRequestEmails } from "./request-actions.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";

/** Unsent challenges older than this are abandoned (the requester has asked for a new code or given up). */
const CHALLENGE_SEND_WINDOW_MS = 24 * 3600_000;
/** Consumer confirmations of agents' requests (the consumer cannot ask for a new link): as long as a link lives. */
const AGENT_CONFIRMATION_SEND_WINDOW_MS = 7 * 24 * 3600_000;

/** Challenges of `purpose` never sent nor used, of requests still waiting for verification, made within `windowMs`. */
async function unsentChallengeIds(db: Executor, purpose: VerificationChallengeRow["purpose"], windowMs: number, clock: Clock, ...also: SQL[]) {
  const since = new Date(clock().getTime() - windowMs);
  const rows = await db
    .select({ id: verificationChallenges.id })
    .from(verificationChallenges)
    .innerJoin(requests, eq(requests.id, verificationChallenges.requestId))
    .where(
      and(
        eq(verificationChallenges.purpose, purpose),
        isNull(verificationChallenges.sentAt),
        isNull(verificationChallenges.consumedAt),
        eq(requests.status, "pending_verification"),
        ...also,
        gt(verificationChallenges.createdAt, since),
      ),
    );
  return rows.map((c) => c.id);
}

export async function findPendingWork(db: Executor, clock: Clock = systemClock) {
  const challengeIds = await unsentChallengeIds(db, "requester", CHALLENGE_SEND_WINDOW_MS, clock);
  // An agent's request waits for the consumer, who cannot ask for a new link: their unsent email is retried for longer.
  const agentConfirmationIds = await unsentChallengeIds(db, "consumer_confirmation", AGENT_CONFIRMATION_SEND_WINDOW_MS, clock, isNull(requests.agentConfirmedAt));
  const unacknowledged = await db
    .select({ id: requests.id })
    .from(requests)
    .where(and(isNull(requests.acknowledgedAt), inArray(requests.status, ACKNOWLEDGEABLE_STATUSES)));
  return { challengeIds, agentConfirmationIds, requestIds: unacknowledged.map((r) => r.id) };
}

/** Job `reconcile`: re-enqueues every piece of pending work; returns the counts. */
export async function reconcile(db: Executor, clock: Clock = systemClock) {
  const work = await findPendingWork(db, clock);
  for (const challengeId of work.challengeIds) await enqueue("send-verification", { challengeId });
  for (const challengeId of work.agentConfirmationIds) await enqueue("send-agent-confirmation", { challengeId });
  for (const requestId of work.requestIds) await enqueue("send-acknowledgement", { requestId });
  // Approved requests whose execution flow Redis lost, and completion emails never sent.
  const executions = await reconcileExecutions(db, clock);
  // Requester emails written by staff (denial, extension, more information) whose job Redis lost.
  const requestEmails = await requeueUnsentRequestEmails(db);
  return {
    verifications: work.challengeIds.length,
    agentConfirmations: work.agentConfirmationIds.length,
    acknowledgements: work.requestIds.length,
    executions,
    requestEmails,
  };
}
