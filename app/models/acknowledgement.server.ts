/** The acknowledgement sent once a request is verified: reference, what happens next, and the due date. */
import { eq } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests, type RequestStatus } from "#db/schema/index.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { formatDueDate } from "./deadlines.ts";
import { regimeLabels } from "./regions.ts";
import { requestEmailBasics } from "./request-email.server.ts";
import { requestTypeInfo } from "./request-types.ts";
import { issueStatusToken, statusUrl } from "./status.server.ts";
import { decryptIdentity, getRequestById } from "./requests.server.ts";

/** Statuses in which a request is acknowledged: verified (or needing no verification) and not withdrawn. */
export const ACKNOWLEDGEABLE_STATUSES: RequestStatus[] = ["verified", "in_review", "approved", "processing", "action_required"];

/** Job `send-acknowledgement`; skipped when already acknowledged or the request is not (yet) acknowledgeable. */
export async function acknowledgeRequest(db: Executor, requestId: string, clock: Clock = systemClock) {
  const request = await getRequestById(db, requestId);
  if (!request) return "missing" as const;
  if (request.acknowledgedAt || !ACKNOWLEDGEABLE_STATUSES.includes(request.status)) return "skipped" as const;

  // The status link's secret is made here, by the job that mails it (as the verification code is): it never
  // travels through Redis. A retried job issues a new token, replacing the unsent one.
  const token = await issueStatusToken(db, request.id);
  await sendEmail({
    to: decryptIdentity(request).email,
    template: "acknowledgement",
    props: {
      ...requestEmailBasics(request),
      regimeLabel: regimeLabels[request.regime],
      dueDate: formatDueDate(request.extendedDueAt ?? request.dueAt),
      statusUrl: statusUrl(token),
      nextSteps: requestTypeInfo[request.type].nextSteps,
    },
  });

  await db.transaction(async (tx) => {
    const now = clock();
    await tx.update(requests).set({ acknowledgedAt: now, updatedAt: now }).where(eq(requests.id, request.id));
    await appendEvent(tx, { requestId: request.id, actorType: "system", action: "request.acknowledged", details: { channel: "email" } }, clock);
  });
  return "sent" as const;
}
