/**
 * Expiry (job `expire-requests`): requests that wait on the requester do not wait forever.
 * - `pending_verification` received more than UNVERIFIED_EXPIRY_DAYS days ago → status `expired`
 *   (outcome `not_verified`);
 * - `awaiting_information` whose latest `request.info_requested` event (or, without one, last update) is more than
 *   INFO_REQUEST_EXPIRY_DAYS days old → status `closed` (outcome `information_not_provided`).
 * Days are calendar days in ORG_TIMEZONE: a request received on day D expires on the run of day D + N + 1.
 *
 * Each change commits with its audit event and an outbox row (`reminders_sent`, kind `expiry_notice`) in one
 * transaction, then the notice is queued (`send-expiry-notice`). The job sends the notice once: it locks the outbox
 * row, sends, and marks it. Every run also re-queues notices still unsent, so a lost Redis loses no notice.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { remindersSent, type RequestStatus } from "#db/schema/index.ts";
import { isoOfDay } from "#app/models/calendar/civil-date.ts";
import { localDay, startOfDay } from "#app/models/calendar/zone.ts";
import { getEnv, type Env } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import type { Clock } from "#app/utils/clock.ts";
import type { RequestExpiredReason } from "#app/emails/request-expired.tsx";
import { appendEvent } from "./audit.server.ts";
import { requestTypeLabels } from "./request-types.ts";
import { decryptIdentity, getRequestById } from "./requests.server.ts";
import { enqueueAgain, schedulerClock } from "./schedules.server.ts";

export type ExpirySettings = { timeZone: string; unverifiedDays: number; informationDays: number };

export function expirySettings(env: Env = getEnv(), overrides: Partial<ExpirySettings> = {}): ExpirySettings {
  return { timeZone: env.ORG_TIMEZONE, unverifiedDays: env.UNVERIFIED_EXPIRY_DAYS, informationDays: env.INFO_REQUEST_EXPIRY_DAYS, ...overrides };
}

export type ExpiryOptions = { clock?: Clock; settings?: ExpirySettings; batchSize?: number };

/** What each expiry does to a request. */
const RULES = {
  not_verified: { from: "pending_verification", to: "expired", action: "request.expired" },
  information_not_provided: { from: "awaiting_information", to: "closed", action: "request.closed" },
} as const satisfies Record<RequestExpiredReason, { from: RequestStatus; to: RequestStatus; action: string }>;

/** The first instant at which a wait that started before it has lasted more than `days` calendar days. */
export function expiryCutoff(now: Date, days: number, timeZone: string): Date {
  return new Date(startOfDay(localDay(now, timeZone) - days, timeZone));
}

async function expireBatch(db: Executor, reason: RequestExpiredReason, cutoff: Date, afterDays: number, now: Date, day: string, limit: number, clock: Clock) {
  const rule = RULES[reason];
  return db.transaction(async (tx) => {
    const waitingSince =
      reason === "not_verified"
        ? sql`r.received_at`
        : sql`coalesce((select max(e.created_at) from request_events e where e.request_id = r.id and e.action = 'request.info_requested'), r.updated_at)`;
    const picked = (await tx.execute<{ id: string }>(sql`
      select r.id from requests r
      where r.status = ${rule.from}::request_status and ${waitingSince} < ${cutoff.toISOString()}::timestamptz
      order by r.received_at
      limit ${limit}
      -- NO KEY UPDATE: the audit events below take KEY SHARE on the row (see lockRequest in request-actions.server.ts)
      for no key update of r skip locked`)) as unknown as { id: string }[];
    if (picked.length === 0) return [];
    const ids = picked.map((p) => p.id);
    const updated = (await tx.execute<{ id: string }>(sql`
      update requests set status = ${rule.to}::request_status, outcome_reason = ${reason}, updated_at = ${now.toISOString()}::timestamptz
      where id = any(${`{${ids.join(",")}}`}::uuid[]) and status = ${rule.from}::request_status
      returning id`)) as unknown as { id: string }[];
    if (updated.length === 0) return [];
    await tx
      .insert(remindersSent)
      .values(updated.map((u) => ({ requestId: u.id, kind: "expiry_notice" as const, day, createdAt: now })))
      .onConflictDoNothing();
    // Audit events last: the chain lock is held until commit (ADR 004).
    for (const u of updated) {
      await appendEvent(tx, { requestId: u.id, actorType: "system", actorId: "expire-requests", action: rule.action, details: { reason, afterDays } }, clock);
    }
    return updated.map((u) => u.id);
  });
}

/**
 * Expires and closes what is due, in batches, then queues the notices (the new ones and any still unsent).
 * Idempotent: a request changes status once; a second run finds nothing.
 */
export async function expireRequests(db: Executor, { clock = schedulerClock, settings = expirySettings(), batchSize = 200 }: ExpiryOptions = {}) {
  const now = clock();
  const day = isoOfDay(localDay(now, settings.timeZone));
  const result = { expired: 0, closed: 0, noticesQueued: 0 };
  for (const reason of ["not_verified", "information_not_provided"] as const) {
    const days = reason === "not_verified" ? settings.unverifiedDays : settings.informationDays;
    const cutoff = expiryCutoff(now, days, settings.timeZone);
    for (;;) {
      const ids = await expireBatch(db, reason, cutoff, days, now, day, batchSize, clock);
      if (reason === "not_verified") result.expired += ids.length;
      else result.closed += ids.length;
      if (ids.length < batchSize) break;
    }
  }
  // Every unsent notice of the last 30 days (this run's, and any whose job Redis lost or gave up on).
  const unsent = await db
    .select({ requestId: remindersSent.requestId })
    .from(remindersSent)
    .where(
      and(
        eq(remindersSent.kind, "expiry_notice"),
        isNull(remindersSent.notifiedAt),
        sql`${remindersSent.day} >= ${isoOfDay(localDay(now, settings.timeZone) - 30)}::date`,
      ),
    );
  for (const { requestId } of unsent) {
    try {
      if ((await enqueueAgain("send-expiry-notice", { requestId })) !== "pending") result.noticesQueued += 1;
    } catch (err) {
      logger.warn({ err, requestId }, "could not queue an expiry notice; the next run retries");
    }
  }
  return result;
}

/**
 * Job `send-expiry-notice`: emails the requester that their request expired or was closed, once. The outbox row is
 * locked while sending, so a concurrent duplicate job waits and then finds it sent. A crash between the SMTP
 * server's acceptance and the commit sends it again on retry (at-least-once, like every email).
 */
export async function sendExpiryNotice(db: Executor, requestId: string, clock: Clock = schedulerClock) {
  const request = await getRequestById(db, requestId);
  if (!request) return "missing" as const;
  const reason = request.outcomeReason as RequestExpiredReason | null;
  if (reason !== "not_verified" && reason !== "information_not_provided") return "skipped" as const;
  const env = getEnv();
  return db.transaction(async (tx) => {
    const [outbox] = await tx
      .select({ id: remindersSent.id })
      .from(remindersSent)
      .where(and(eq(remindersSent.requestId, requestId), eq(remindersSent.kind, "expiry_notice"), isNull(remindersSent.notifiedAt)))
      .limit(1)
      .for("update");
    if (!outbox) return "skipped" as const;
    const afterDays = reason === "not_verified" ? env.UNVERIFIED_EXPIRY_DAYS : env.INFO_REQUEST_EXPIRY_DAYS;
    await sendEmail({
      to: decryptIdentity(request).email,
      template: "request-expired",
      props: { reference: request.reference, requestTypeLabel: requestTypeLabels[request.type], reason, afterDays, newRequestUrl: `${env.APP_URL}/` },
    });
    await tx.update(remindersSent).set({ notifiedAt: clock() }).where(eq(remindersSent.id, outbox.id));
    await appendEvent(tx, { requestId, actorType: "system", actorId: "send-expiry-notice", action: "request.expiry_notice_sent", details: { reason } }, clock);
    return "sent" as const;
  });
}

/** The requests' statuses this module moves between (for tests and docs). */
export const expiryRules = RULES;
