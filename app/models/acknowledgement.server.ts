/** The acknowledgement sent once a request is verified: reference, what happens next, and the due date. */
import { eq } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests } from "#db/schema/index.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { formatDueDate } from "./deadlines.ts";
import { regimeLabels } from "./regions.ts";
import { requestTypeLabels } from "./request-types.ts";
import { decryptIdentity, getRequestById } from "./requests.server.ts";

/** Job `send-acknowledgement`; skipped when already acknowledged or the request is not verified. */
export async function acknowledgeRequest(db: Executor, requestId: string, clock: Clock = systemClock) {
  const request = await getRequestById(db, requestId);
  if (!request) return "missing" as const;
  if (request.acknowledgedAt || !request.verifiedAt) return "skipped" as const;

  await sendEmail({
    to: decryptIdentity(request).email,
    template: "acknowledgement",
    props: {
      orgName: getEnv().ORG_NAME,
      reference: request.reference,
      requestTypeLabel: requestTypeLabels[request.type],
      regimeLabel: regimeLabels[request.regime],
      dueDate: formatDueDate(request.extendedDueAt ?? request.dueAt),
    },
  });

  await db.transaction(async (tx) => {
    const now = clock();
    await tx.update(requests).set({ acknowledgedAt: now, updatedAt: now }).where(eq(requests.id, request.id));
    await appendEvent(tx, { requestId: request.id, actorType: "system", action: "request.acknowledged", details: { channel: "email" } }, clock);
  });
  return "sent" as const;
}
