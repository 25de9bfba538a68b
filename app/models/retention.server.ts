/**
 * Data minimization (job `retention`): the portal forgets on time.
 *
 * 1. **Anonymize** closed requests (completed, denied, cancelled, expired, closed) RETENTION_MONTHS after they closed
 *    (default 24, the CCPA record-keeping period of Cal. Code Regs. tit. 11 §7101). Closed = `completed_at`, else
 *    `cancelled_at`, else the last update (when the status changed). What goes:
 *    - `identity_ciphertext` → an encrypted *anonymized marker* `{ email: "", anonymized: true }` (the column stays
 *      NOT NULL and every reader keeps working; the marker says nothing about anyone; a send to it fails for good);
 *    - `details_ciphertext`, `agent_ciphertext`, `extension_reason` (staff free text) → null;
 *    - `email_index` → `anonymized:<random>`, so the blind index no longer links the request to the subject's others;
 *    - `status_token_hash` → null (the status link dies); documents, verification challenges, staff notes, the texts
 *      staff wrote to the requester (`request_emails`), the requester's answers (`request_answers`), the confirmed
 *      values of a correction (`request_corrections`) and package download codes → deleted.
 *    A request under legal hold (`legal_hold_since`) is never anonymized while the hold lasts.
 *    What stays — the record of compliance and the metrics: reference, type, regime, jurisdiction, status, outcome
 *    reason code, verification levels, data-point *kinds*, every date and deadline, store-run reports (counts),
 *    reminders, and the audit trail (append-only, ids and codes only). `request_anonymizations` records when.
 * 2. **Purge** what has expired: verification challenges a day past expiry (or never sent and a week old), status
 *    tokens of anonymized requests, expired staff sessions, and — housekeeping — reminder rows after 90 days and
 *    scheduler-run records after 30. Access packages past their download window: see `purgeExpiredAccessPackages`.
 * Each anonymized request gets a `request.anonymized` event; each run a `retention.purged` event with the counts.
 * See docs/decisions/011-schedules-and-retention.md.
 */
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requestAnonymizations, type RequestStatus } from "#db/schema/index.ts";
import { addMonths, isoOfDay } from "#app/models/calendar/civil-date.ts";
import { localDay, startOfDay } from "#app/models/calendar/zone.ts";
import { encryptJson } from "#app/utils/crypto.server.ts";
import { purgeExpiredPackages } from "#app/models/packages.server.ts";
import { getEnv, type Env } from "#app/utils/env.server.ts";
import type { Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import type { SubjectIdentity } from "./requests.server.ts";
import { purgeSchedulerRuns, schedulerClock } from "./schedules.server.ts";
import { purgeExpiredStaffSessions } from "./staff.server.ts";

export const CLOSED_STATUSES: RequestStatus[] = ["completed", "denied", "cancelled", "expired", "closed"];

/** What an anonymized request's identity decrypts to. */
export const ANONYMIZED_IDENTITY = { email: "", anonymized: true } as const satisfies SubjectIdentity & { anonymized: true };
/** The prefix of an anonymized request's `email_index` (a real blind index is 64 hex digits: they never collide). */
export const ANONYMIZED_INDEX_PREFIX = "anonymized:";
/** Verification challenges are kept this long past their expiry (so "expired" can still be told apart from "wrong"). */
const CHALLENGE_GRACE_MS = 24 * 3600_000;
/** Challenges never sent are dropped after this (reconcile gives up on them after 24 h, agents' after 7 days). */
const UNSENT_CHALLENGE_MS = 8 * 24 * 3600_000;
const REMINDERS_KEEP_DAYS = 90;
const SCHEDULER_RUNS_KEEP_DAYS = 30;

/** Same context as `request-identity:<id>` in requests.server.ts: the marker decrypts with `decryptIdentity`. */
const identityContext = (requestId: string) => `request-identity:${requestId}`;

export function isAnonymizedIdentity(identity: SubjectIdentity): boolean {
  return (identity as { anonymized?: unknown }).anonymized === true;
}

export type RetentionSettings = { timeZone: string; months: number };

export function retentionSettings(env: Env = getEnv(), overrides: Partial<RetentionSettings> = {}): RetentionSettings {
  return { timeZone: env.ORG_TIMEZONE, months: env.RETENTION_MONTHS, ...overrides };
}

export type RetentionOptions = { clock?: Clock; settings?: RetentionSettings; batchSize?: number };

/**
 * Requests closed before this instant are past retention: the start of (today − months) in the organisation's zone,
 * so a request closed on 15 March 2024 is kept through 15 March 2026 and anonymized from 16 March 2026.
 */
export function retentionCutoff(now: Date, months: number, timeZone: string): Date {
  return new Date(startOfDay(addMonths(localDay(now, timeZone), -months), timeZone));
}

const count = async (db: Executor, query: ReturnType<typeof sql>) =>
  ((await db.execute<{ n: number }>(sql`with d as (${query} returning 1) select count(*)::int as n from d`)) as unknown as { n: number }[])[0]?.n ?? 0;

async function anonymizeBatch(db: Executor, cutoff: Date, limit: number, clock: Clock) {
  return db.transaction(async (tx) => {
    const now = clock();
    const picked = (await tx.execute<{ id: string }>(sql`
      select r.id from requests r
      where r.status = any(${`{${CLOSED_STATUSES.join(",")}}`}::request_status[])
        and coalesce(r.completed_at, r.cancelled_at, r.updated_at) < ${cutoff.toISOString()}::timestamptz
        and r.legal_hold_since is null
        and not exists (select 1 from request_anonymizations a where a.request_id = r.id)
      order by r.received_at
      limit ${limit}
      -- NO KEY UPDATE: the audit events below take KEY SHARE on the row (see lockRequest in request-actions.server.ts)
      for no key update of r skip locked`)) as unknown as { id: string }[];
    if (picked.length === 0) return { ids: [] as string[], documents: 0, notes: 0, emails: 0 };
    const ids = picked.map((p) => p.id);
    const idArray = sql`${`{${ids.join(",")}}`}::uuid[]`;

    const docs = (await tx.execute<{ requestId: string; n: number }>(sql`
      with d as (delete from request_documents where request_id = any(${idArray}) returning request_id)
      select request_id as "requestId", count(*)::int as n from d group by request_id`)) as unknown as { requestId: string; n: number }[];
    const docsOf = new Map(docs.map((d) => [d.requestId, Number(d.n)]));
    await tx.execute(sql`delete from verification_challenges where request_id = any(${idArray})`);
    // Staff notes and the texts staff wrote to the requester (denial reasons, questions, extension reasons).
    const notes = await count(tx, sql`delete from request_notes where request_id = any(${idArray})`);
    const emails = await count(tx, sql`delete from request_emails where request_id = any(${idArray})`);
    // What the requester wrote back, and the values a correction confirmed (both encrypted personal data).
    await tx.execute(sql`delete from request_answers where request_id = any(${idArray})`);
    await tx.execute(sql`delete from request_corrections where request_id = any(${idArray})`);
    await tx.execute(sql`delete from package_download_codes where request_id = any(${idArray})`);

    // Each row gets its own marker (bound to its id) and its own random index: one UPDATE from a VALUES list.
    const values = sql.join(
      ids.map((id) => sql`(${id}::uuid, ${encryptJson(ANONYMIZED_IDENTITY, identityContext(id))}, ${ANONYMIZED_INDEX_PREFIX + randomBytes(24).toString("base64url")})`),
      sql`, `,
    );
    await tx.execute(sql`
      update requests r set identity_ciphertext = v.identity, email_index = v.idx, details_ciphertext = null,
        agent_ciphertext = null, extension_reason = null, status_token_hash = null
      from (values ${values}) as v(id, identity, idx)
      where r.id = v.id`);
    await tx.insert(requestAnonymizations).values(ids.map((id) => ({ requestId: id, anonymizedAt: now, documentsDeleted: docsOf.get(id) ?? 0 })));
    for (const id of ids) {
      await appendEvent(tx, { requestId: id, actorType: "system", actorId: "retention", action: "request.anonymized", details: { documentsDeleted: docsOf.get(id) ?? 0 } }, clock);
    }
    return { ids, documents: [...docsOf.values()].reduce((a, b) => a + b, 0), notes, emails };
  });
}

/** Anonymizes every closed request past retention, in batches; returns the counts. Idempotent. */
export async function anonymizeClosedRequests(db: Executor, { clock = schedulerClock, settings = retentionSettings(), batchSize = 200 }: RetentionOptions = {}) {
  const cutoff = retentionCutoff(clock(), settings.months, settings.timeZone);
  let anonymized = 0;
  let documentsDeleted = 0;
  let notesDeleted = 0;
  let requesterEmailsDeleted = 0;
  for (;;) {
    const batch = await anonymizeBatch(db, cutoff, batchSize, clock);
    anonymized += batch.ids.length;
    documentsDeleted += batch.documents;
    notesDeleted += batch.notes;
    requesterEmailsDeleted += batch.emails;
    if (batch.ids.length < batchSize) break;
  }
  return { anonymized, documentsDeleted, notesDeleted, requesterEmailsDeleted, cutoff: isoOfDay(localDay(cutoff, settings.timeZone)) };
}

/** Access packages past their download window: file deleted and row marked, each audited, by the packages model. */
export async function purgeExpiredAccessPackages(db: Executor, now: Date): Promise<number> {
  return (await purgeExpiredPackages(db, () => now)).deleted;
}

/** Deletes what has expired; returns the counts (numbers only). */
export async function purgeExpired(db: Executor, { clock = schedulerClock, settings = retentionSettings() }: RetentionOptions = {}) {
  const now = clock();
  const challengeCutoff = new Date(now.getTime() - CHALLENGE_GRACE_MS).toISOString();
  const unsentCutoff = new Date(now.getTime() - UNSENT_CHALLENGE_MS).toISOString();
  const verificationChallenges = await count(
    db,
    sql`delete from verification_challenges
        where (expires_at is not null and expires_at < ${challengeCutoff}::timestamptz)
           or (expires_at is null and created_at < ${unsentCutoff}::timestamptz)`,
  );
  const statusTokens = await count(
    db,
    sql`update requests r set status_token_hash = null
        where r.status_token_hash is not null and exists (select 1 from request_anonymizations a where a.request_id = r.id)`,
  );
  const staffSessions = await purgeExpiredStaffSessions(db, clock);
  const accessPackages = await purgeExpiredAccessPackages(db, now);
  const oldestReminderDay = isoOfDay(localDay(now, settings.timeZone) - REMINDERS_KEEP_DAYS);
  const reminders =
    (await count(db, sql`delete from reminders_sent where day < ${oldestReminderDay}::date and (notified_at is not null or kind <> 'expiry_notice')`)) +
    (await count(db, sql`delete from reminder_digests where day < ${oldestReminderDay}::date`));
  const schedulerRunRecords = await purgeSchedulerRuns(db, now, SCHEDULER_RUNS_KEEP_DAYS);
  return { verificationChallenges, statusTokens, staffSessions, accessPackages, reminders, schedulerRuns: schedulerRunRecords };
}

/** Job `retention`: anonymize, purge, and one audit event with the counts. */
export async function runRetention(db: Executor, options: RetentionOptions = {}) {
  const clock = options.clock ?? schedulerClock;
  const anonymization = await anonymizeClosedRequests(db, options);
  const purged = await purgeExpired(db, options);
  const { cutoff, ...anonymized } = anonymization;
  const counts = { ...anonymized, ...purged };
  await appendEvent(db, { actorType: "system", actorId: "retention", action: "retention.purged", details: { ...counts, closedBefore: cutoff } }, clock);
  return counts;
}

/** Whether a request's personal data is gone. */
export async function isAnonymized(db: Executor, requestId: string) {
  const rows = await db.execute(sql`select 1 from ${requestAnonymizations} where request_id = ${requestId}::uuid`);
  return (rows as unknown as unknown[]).length > 0;
}
