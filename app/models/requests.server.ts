/**
 * Data subject requests: intake, lookup and the staff list. The subject's identity is encrypted before it is
 * stored; lookups by email go through the keyed blind index. A state change commits before its job is enqueued.
 */
import { randomInt, randomUUID } from "node:crypto";
import { Param, Placeholder, desc, eq, sql } from "drizzle-orm";
import { PgDialect, PgTransaction } from "drizzle-orm/pg-core";
import type { Sql } from "postgres";
import type { Executor } from "#db/client.server.ts";
import { requests, type AccessScope, type RequestRow, type RequestType } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { decryptJson, emailBlindIndex, encryptJson, normalizeEmail } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { applyApprovalPolicySafely } from "./approval-policy.server.ts";
import { appendCall, prepareEvent, rethrowAppendError, type AppendedRow } from "./audit.server.ts";
import { computeDeadlines, verificationLevelFor } from "./deadlines.ts";
import { DomainError } from "./errors.ts";
import { dataPointKinds, type DataPointKind, type IntakeValues } from "./intake.ts";
import { regionByCode } from "./regions.ts";

export type SubjectIdentity = { email: string; name?: string; dataPoints?: Partial<Record<DataPointKind, string>> };

/** What a request asks beyond who the subject is; encrypted like the identity. */
export type RequestDetails = {
  corrections?: { incorrect: string; correct: string };
  reason?: string;
  /** CCPA specific pieces: the declaration under penalty of perjury, signed by typing the full name. */
  declaration?: { typedName: string; signedAt: string };
};

const identityContext = (requestId: string) => `request-identity:${requestId}`;

/** PR-XXXX-XXXX from an alphabet without look-alikes (40 bits of randomness). */
export function newReference() {
  const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  let s = "";
  for (let i = 0; i < 8; i++) s += alphabet[randomInt(alphabet.length)];
  return `PR-${s.slice(0, 4)}-${s.slice(4)}`;
}

export const referencePattern = /^PR-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/;

const detailsContext = (requestId: string) => `request-details:${requestId}`;

export type SubmitInput = {
  type: RequestType;
  email: string;
  name?: string;
  region: string;
  dataPoints?: Partial<Record<DataPointKind, string>>;
  accessScope?: AccessScope;
  details?: RequestDetails;
  gpc?: boolean;
};

/** The intake form's values as the model's input (form field names → the request's shape). */
export function submitInputFrom(type: RequestType, v: IntakeValues, now: Date, gpc = false): SubmitInput {
  const dataPoints = Object.fromEntries(dataPointKinds.filter((k) => v[k]).map((k) => [k, v[k]!])) as SubmitInput["dataPoints"];
  const details: RequestDetails = {};
  if (v.incorrect && v.correct) details.corrections = { incorrect: v.incorrect, correct: v.correct };
  if (v.reason) details.reason = v.reason;
  if (v.accessScope === "specific" && v.declarationName && v.declarationAccepted === "on") {
    details.declaration = { typedName: v.declarationName, signedAt: now.toISOString() };
  }
  return {
    type,
    email: v.email,
    ...(v.name ? { name: v.name } : {}),
    region: v.region,
    dataPoints,
    ...(type === "access" && v.accessScope ? { accessScope: v.accessScope } : {}),
    ...(Object.keys(details).length > 0 ? { details } : {}),
    gpc,
  };
}

/** The request row to insert (identity encrypted, blind index, deadlines from the legal calendar, the verification it needs). */
function requestRowFor(input: SubmitInput & { receivedAt: Date }) {
  const region = regionByCode(input.region);
  if (!region) throw new DomainError("unknown_region", "Please choose where you live from the list.");
  const id = randomUUID();
  const deadlines = computeDeadlines(region.regime, input.type, input.receivedAt);
  const dataPoints = input.dataPoints ?? {};
  const identity: SubjectIdentity = {
    email: normalizeEmail(input.email),
    ...(input.name ? { name: input.name } : {}),
    ...(Object.keys(dataPoints).length > 0 ? { dataPoints } : {}),
  };
  const required = verificationLevelFor(region.regime, input.type, input.accessScope);
  const values = {
    id,
    type: input.type,
    regime: region.regime,
    jurisdiction: region.jurisdiction,
    // Requests that need no verification (opt-outs) go straight to the queue.
    status: required === 0 ? ("verified" as const) : ("pending_verification" as const),
    requiredVerificationLevel: required,
    accessScope: input.accessScope ?? null,
    suppliedDataPoints: dataPointKinds.filter((k) => dataPoints[k]),
    gpc: input.gpc ?? false,
    identityCiphertext: encryptJson(identity, identityContext(id)),
    detailsCiphertext: input.details ? encryptJson(input.details, detailsContext(id)) : null,
    emailIndex: emailBlindIndex(identity.email),
    receivedAt: input.receivedAt,
    acknowledgeBy: deadlines.acknowledgeBy,
    dueAt: deadlines.dueAt,
    extensionNoticeBy: deadlines.extensionNoticeBy,
  };
  return { values, row: { id, regime: region.regime, jurisdiction: region.jurisdiction, requiredVerificationLevel: required } };
}

/** References are random (40 bits); a clash with an existing one is retried with a fresh reference this many times. */
const REFERENCE_ATTEMPTS = 6;

/** The INSERT of a request row that yields no row instead of failing when the reference is taken (no transaction aborted). */
const insertUnlessReferenceTaken = (db: Executor, values: ReturnType<typeof requestRowFor>["values"], reference: string) =>
  db.insert(requests).values({ ...values, reference }).onConflictDoNothing({ target: requests.reference }).returning({ id: requests.id });

type RequestValues = ReturnType<typeof requestRowFor>["values"] & { reference: string };

/** The columns the intake sets, in a fixed order (every key of `RequestValues`). */
const requestColumns = [
  "id", "reference", "type", "regime", "jurisdiction", "status", "requiredVerificationLevel", "accessScope", "suppliedDataPoints",
  "gpc", "identityCiphertext", "detailsCiphertext", "emailIndex", "receivedAt", "acknowledgeBy", "dueAt", "extensionNoticeBy",
] as const satisfies readonly (keyof RequestValues)[];
// Fails to compile when RequestValues gains a key that the list lacks.
const allColumnsListed: Exclude<keyof RequestValues, (typeof requestColumns)[number]> extends never ? true : never = true;
void allColumnsListed;

/**
 * The submission as one statement. `r` is fenced (offset 0) so the request and the challenge are inserted before the
 * event: the function's argument r.id puts it on the inner side of the join. The commit does not wait for its WAL
 * flush (synchronous_commit off for this one transaction), so the chain lock is released without waiting for the disk;
 * the durability barrier in `submitRequest` waits for the flush before anyone is told the request was received.
 */
function submitStatementTemplate(db: Executor) {
  const p = (name: string) => sql.placeholder(name);
  const insert = db
    .insert(requests)
    .values(Object.fromEntries(requestColumns.map((c) => [c, p(c)])) as unknown as RequestValues)
    .onConflictDoNothing({ target: requests.reference })
    .returning({ id: requests.id });
  const eventArgs = Array.from({ length: 7 }, (_, i) => p(`event${i}`));
  return sql`with req as (${insert.getSQL()}),
      ch as (insert into verification_challenges (request_id, max_attempts)
             select id, ${p("maxAttempts")}::integer from req where ${p("needsChallenge")}::boolean returning id)
      select r.challenge_id, ev.id, ev.prev_hash, ev.hash
      from (select req.id, (select ch.id from ch) as challenge_id, set_config('synchronous_commit', 'off', true) from req offset 0) r,
           lateral ${appendCall(sql`r.id`, eventArgs)} ev`;
}

/**
 * The statement's text is the same for every submission; it is rendered once (drizzle's query building was ~10 % of
 * the intake's CPU) and each submission only fills in its values — converted for the driver by each column's own
 * mapping, as drizzle does. postgres.js prepares the statement once per connection.
 */
let compiled: { text: string; params: { name: string; encoder?: { mapToDriverValue(value: unknown): unknown } }[] } | undefined;

/** The submission statement's text and, for this submission, its parameter values (mapped for the driver). */
function submitStatement(db: Executor, values: RequestValues, maxAttempts: number, needsChallenge: boolean, eventArgs: readonly unknown[]) {
  if (!compiled) {
    const { sql: text, params } = new PgDialect().sqlToQuery(submitStatementTemplate(db));
    compiled = {
      text,
      params: params.map((param) => {
        // A value of the insert is a Param around the placeholder, with its column as the encoder.
        if (param instanceof Param && param.value instanceof Placeholder) {
          return { name: param.value.name, encoder: param.encoder as { mapToDriverValue(value: unknown): unknown } };
        }
        if (param instanceof Placeholder) return { name: param.name };
        throw new Error("submit statement: a value is not a placeholder");
      }),
    };
  }
  const fill: Record<string, unknown> = { ...values, maxAttempts, needsChallenge };
  eventArgs.forEach((v, i) => (fill[`event${i}`] = v));
  const params = compiled.params.map(({ name, encoder }) => {
    if (!(name in fill)) throw new Error(`submit statement: no value for ${name}`);
    const value = fill[name] ?? null;
    return value === null || !encoder ? value : encoder.mapToDriverValue(value);
  });
  return { text: compiled.text, params };
}

/**
 * Returns once everything committed so far on this cluster is on disk: a transaction that wrote WAL and has a
 * transaction id, committed with synchronous_commit on, flushes the WAL up to its own commit record — which comes
 * after every earlier commit, including one made with synchronous_commit off (ADR 014). The transaction is one
 * transactional logical message (`pg_logical_emit_message(true, …)`: it takes an id and writes a WAL record, any
 * role may call it, no table is touched). A transaction that only takes an id (`select pg_current_xact_id()`) is NOT
 * enough: PostgreSQL commits a transaction that wrote no WAL record of its own asynchronously
 * (RecordTransactionCommit), so it would return before the flush — tests/integration/request-flow.test.ts checks this.
 *
 * One barrier serves every caller that arrived before it was sent: callers arriving while a barrier is in flight (it
 * may have been sent before their commit) share the next one, sent when that one is done. So concurrent submissions
 * of a web process make one barrier per flush rather than one each.
 */
export function durabilityBarrier(client: Sql): Promise<void> {
  let state = barriers.get(client);
  if (!state) barriers.set(client, (state = {}));
  if (state.next) return state.next;
  const s = state;
  const next = (async () => {
    await s.inFlight?.catch(() => {});
    s.next = undefined; // from here on, a new caller may have committed after this barrier is sent: it queues another
    const inFlight = client`select pg_logical_emit_message(true, 'portal-durability-barrier', '')`.then(() => undefined);
    s.inFlight = inFlight;
    await inFlight;
  })();
  s.next = next;
  return next;
}

const barriers = new WeakMap<Sql, { next?: Promise<void>; inFlight?: Promise<void> }>();

/**
 * Inserts the request row inside the caller's transaction and returns its id and reference. Used by the agent
 * intake, the demo seed and tests (the subject's intake folds it into one statement, see `submitRequest`).
 */
export async function insertRequest(tx: Executor, input: SubmitInput & { receivedAt: Date }) {
  const { values, row } = requestRowFor(input);
  for (let attempt = 0; attempt < REFERENCE_ATTEMPTS; attempt++) {
    const reference = newReference();
    const inserted = await insertUnlessReferenceTaken(tx, values, reference);
    if (inserted.length > 0) return { ...row, reference };
  }
  throw new Error("could not allocate a unique reference");
}

/**
 * Records a new request with its audit event — and, when the request needs a verified email, its challenge — then
 * queues the email (verification code, or the acknowledgement for requests that need no verification). The answer
 * is the same whatever data we hold: nothing here looks at the connected stores.
 *
 * The three inserts are one statement, i.e. one round trip and one implicit transaction (ADR 014): the request row
 * (skipped when its random reference is taken — then the statement returns nothing and is retried with a fresh
 * reference), the challenge, and last the audit event through `request_events_append`, so the audit chain's lock is
 * held only from the event's insert to the commit that ends the same statement.
 */
export async function submitRequest(db: Executor, input: SubmitInput, clock: Clock = systemClock) {
  if (!regionByCode(input.region)) throw new DomainError("unknown_region", "Please choose where you live from the list.");
  const receivedAt = clock();
  const { values, row } = requestRowFor({ ...input, receivedAt });
  const event = prepareEvent(
    {
      requestId: row.id,
      actorType: "subject",
      action: "request.submitted",
      details: {
        type: input.type,
        regime: row.regime,
        jurisdiction: row.jurisdiction,
        requiredLevel: row.requiredVerificationLevel,
        dataPointKinds: dataPointKinds.filter((k) => input.dataPoints?.[k]),
        ...(input.gpc ? { gpc: true } : {}),
      },
    },
    clock,
  );
  const needsChallenge = row.requiredVerificationLevel > 0;
  const client = (db as { $client?: Sql }).$client;
  // The submission is its own transaction (its commit settings, the barrier after it): it cannot join a caller's.
  if (!client || db instanceof PgTransaction) throw new TypeError("submitRequest needs the database, not a transaction");
  let created: { reference: string; challengeId: string | null } | undefined;
  for (let attempt = 0; attempt < REFERENCE_ATTEMPTS && !created; attempt++) {
    const reference = newReference();
    const { text, params } = submitStatement(db, { ...values, reference }, getEnv().VERIFICATION_MAX_ATTEMPTS, needsChallenge, event.args);
    // A named prepared statement (drizzle's own queries are unnamed: parsed, described and planned on every call).
    const result = await client.unsafe(text, params as never[], { prepare: true }).catch(rethrowAppendError);
    const [inserted] = result as unknown as (AppendedRow & { challenge_id: string | null })[];
    if (inserted) created = { reference, challengeId: inserted.challenge_id };
  }
  if (!created) throw new Error("could not allocate a unique reference");
  await durabilityBarrier(client);

  // Approval policy (staff console): a request that needs no verification may be approved automatically.
  if (!created.challengeId) await applyApprovalPolicySafely(db, row.id, clock);
  // After the commit. If Redis is unavailable the request is still safe: the reconcile job re-enqueues it.
  const job = created.challengeId
    ? enqueue("send-verification", { challengeId: created.challengeId })
    : enqueue("send-acknowledgement", { requestId: row.id });
  await job.catch((err: unknown) => logger.warn({ err, requestId: row.id }, "could not enqueue the request's email; reconcile will retry"));
  return { requestId: row.id, reference: created.reference, verificationRequired: created.challengeId !== null };
}

export function decryptDetails(row: Pick<RequestRow, "id" | "detailsCiphertext">): RequestDetails {
  return row.detailsCiphertext ? decryptJson<RequestDetails>(row.detailsCiphertext, detailsContext(row.id)) : {};
}

export async function getRequestById(db: Executor, id: string): Promise<RequestRow | undefined> {
  const [row] = await db.select().from(requests).where(eq(requests.id, id)).limit(1);
  return row;
}

export async function getRequestByReference(db: Executor, reference: string): Promise<RequestRow | undefined> {
  if (!referencePattern.test(reference)) return undefined;
  const [row] = await db.select().from(requests).where(eq(requests.reference, reference)).limit(1);
  return row;
}

export function decryptIdentity(row: Pick<RequestRow, "id" | "identityCiphertext">): SubjectIdentity {
  return decryptJson<SubjectIdentity>(row.identityCiphertext, identityContext(row.id));
}

/** Requests whose subject used this email (found through the blind index, nothing decrypted). */
export async function findRequestsByEmail(db: Executor, email: string) {
  return db.select().from(requests).where(eq(requests.emailIndex, emailBlindIndex(email))).orderBy(desc(requests.receivedAt));
}

/** Other requests by the same subject (same blind index), newest first — for spotting manifestly excessive repeats. */
export async function listSubjectHistory(db: Executor, request: Pick<RequestRow, "id" | "emailIndex">) {
  const rows = await db
    .select({ reference: requests.reference, type: requests.type, status: requests.status, receivedAt: requests.receivedAt, outcomeReason: requests.outcomeReason })
    .from(requests)
    .where(eq(requests.emailIndex, request.emailIndex))
    .orderBy(desc(requests.receivedAt))
    .limit(100);
  return rows;
}

/** "a•••@example.com": enough for staff to recognise a subject without showing the full address by default. */
export function maskEmail(email: string) {
  const at = email.lastIndexOf("@");
  if (at < 1) return "•••";
  return `${email[0]}${"•".repeat(Math.min(6, Math.max(3, at - 1)))}${email.slice(at)}`;
}
