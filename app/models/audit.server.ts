/**
 * The audit trail: one append-only, hash-chained table (`request_events`).
 *
 * - The database refuses UPDATE, DELETE and TRUNCATE on the table (trigger, migration 0001).
 * - Every row carries `hash` = SHA-256 (hex) of a canonical encoding of its content plus `prev_hash`, the hash of the
 *   row appended just before it (64 zeros for the first row). Anything done around the trigger (a superuser disabling
 *   it, a restored dump edited by hand) breaks the chain, and `verifyAuditChain` says where.
 * - Appends are serialized by a transaction-scoped advisory lock, so the chain never forks; the lock is held until
 *   the surrounding transaction commits. See docs/decisions/004-audit-hash-chain.md.
 *
 * `details` hold ids, counts, enum-like codes and reason codes only — never personal data (no emails, names, free
 * text from the subject or staff). The trail outlives the request's anonymization and cannot be edited, so anything
 * written here stays forever. `appendEvent` enforces a coarse guard (no string containing an email address, no
 * string over 200 characters) and throws `AuditDetailsError` otherwise.
 */
import { asc, desc, eq, gt, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { Executor } from "#db/client.server.ts";
import { requestEvents, type RequestEventRow } from "#db/schema/index.ts";
import { sha256Hex } from "#app/utils/crypto.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";

export type ActorType = "subject" | "staff" | "system";

export type AuditEventInput = {
  requestId?: string | null;
  actorType: ActorType;
  /** A staff id, a request id, a job name — never an email or a name. */
  actorId?: string | null;
  /** Dotted, lower-case: "request.submitted", "verification.code_sent", "store.erasure_completed". */
  action: string;
  /** Ids, counts and codes only (see the module comment). */
  details?: Record<string, unknown>;
};

export type AuditEvent = RequestEventRow;

/** The hash a first row points back to. */
export const GENESIS_HASH = "0".repeat(64);

/** The advisory lock key every append takes (`pg_advisory_xact_lock`): ASCII "audit" as a bigint. */
export const AUDIT_CHAIN_LOCK_KEY = 0x6175646974n;

/** Limits of the personal-data guard. */
export const MAX_DETAIL_STRING_LENGTH = 200;
const MAX_DETAILS_BYTES = 16 * 1024;
const MAX_DETAILS_DEPTH = 8;

const ACTION_RE = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Deliberately loose: anything shaped like local@domain.tld counts as an email address. */
const EMAIL_RE = /[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type AuditDetailsProblem = "email" | "too_long" | "not_json" | "too_deep" | "too_large";

/**
 * `details` (or `actorId`) look like they carry personal data or are not plain JSON. Programming error: the
 * message names the path and the problem, never the value.
 */
export class AuditDetailsError extends Error {
  constructor(
    public readonly path: string,
    public readonly problem: AuditDetailsProblem,
  ) {
    const what: Record<AuditDetailsProblem, string> = {
      email: "contains an email address",
      too_long: `is a string longer than ${MAX_DETAIL_STRING_LENGTH} characters`,
      not_json: "is not a plain JSON value (finite number, string, boolean, null, array or plain object)",
      too_deep: `nests deeper than ${MAX_DETAILS_DEPTH} levels`,
      too_large: `is larger than ${MAX_DETAILS_BYTES} bytes`,
    };
    super(`Audit event refused: ${path} ${what[problem]}. Audit details hold ids, counts and codes only.`);
    this.name = "AuditDetailsError";
  }
}

/** A malformed event (bad action name, actor type, request id or clock). Programming error. */
export class InvalidAuditEventError extends Error {
  constructor(message: string) {
    super(`Invalid audit event: ${message}`);
    this.name = "InvalidAuditEventError";
  }
}

function checkString(value: string, path: string) {
  if (value.length > MAX_DETAIL_STRING_LENGTH) throw new AuditDetailsError(path, "too_long");
  if (EMAIL_RE.test(value)) throw new AuditDetailsError(path, "email");
  // Postgres jsonb refuses NUL and unpaired surrogates; refuse them here with a clear error instead.
  if (value.includes("\u0000") || LONE_SURROGATE_RE.test(value)) throw new AuditDetailsError(path, "not_json");
}

/** Validates `details` deeply and returns a plain-JSON copy (what jsonb will store and give back). */
function cleanDetails(value: unknown, path: string, depth: number): unknown {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new AuditDetailsError(path, "not_json");
    return Object.is(value, -0) ? 0 : value;
  }
  if (typeof value === "string") {
    checkString(value, path);
    return value;
  }
  if (typeof value !== "object") throw new AuditDetailsError(path, "not_json");
  if (depth >= MAX_DETAILS_DEPTH) throw new AuditDetailsError(path, "too_deep");
  if (Array.isArray(value)) return value.map((v, i) => cleanDetails(v, `${path}[${i}]`, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new AuditDetailsError(path, "not_json");
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const keyPath = `${path}.${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : "[key]"}`;
    checkString(key, `${path} (a key)`);
    if (v === undefined) continue; // JSON has no undefined; dropping it keeps hash and stored value in step
    out[key] = cleanDetails(v, keyPath, depth + 1);
  }
  return out;
}

/** JSON with object keys sorted (by UTF-16 code unit) at every level and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("canonicalJson: non-finite number");
      return JSON.stringify(value);
    case "object": {
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: unsupported ${typeof value}`);
  }
}

type HashedFields = Pick<RequestEventRow, "prevHash" | "requestId" | "actorType" | "actorId" | "action" | "details" | "createdAt">;

/** SHA-256 (hex) of the canonical encoding of a row's content and its link to the previous row. */
export function computeEventHash(row: HashedFields): string {
  return sha256Hex(
    canonicalJson({
      prevHash: row.prevHash,
      requestId: row.requestId ?? null,
      actorType: row.actorType,
      actorId: row.actorId ?? null,
      action: row.action,
      details: row.details ?? {},
      createdAt: row.createdAt.toISOString(),
    }),
  );
}

function prepare(input: AuditEventInput) {
  if (!ACTION_RE.test(input.action) || input.action.length > 100) {
    throw new InvalidAuditEventError('action must be a dotted lower-case name such as "request.submitted"');
  }
  if (!["subject", "staff", "system"].includes(input.actorType)) throw new InvalidAuditEventError("unknown actor type");
  let requestId: string | null = null;
  if (input.requestId != null) {
    if (!UUID_RE.test(input.requestId)) throw new InvalidAuditEventError("requestId must be a UUID");
    requestId = input.requestId.toLowerCase(); // Postgres returns uuids lower-case; hash what will be read back
  }
  const actorId = input.actorId ?? null;
  if (actorId !== null) checkString(actorId, "actorId");
  if (input.details != null && (typeof input.details !== "object" || Array.isArray(input.details))) {
    throw new AuditDetailsError("details", "not_json");
  }
  const details = cleanDetails(input.details ?? {}, "details", 0) as Record<string, unknown>;
  if (Buffer.byteLength(JSON.stringify(details)) > MAX_DETAILS_BYTES) throw new AuditDetailsError("details", "too_large");
  return { requestId, actorType: input.actorType, actorId, action: input.action, details };
}

/**
 * Appends one event to the chain and returns the stored row.
 *
 * `executor` is the database or a transaction. Given the database, the append runs in its own transaction; given a
 * transaction, it joins it — the event commits or rolls back with the caller's change, and the chain lock is held
 * until the caller's transaction ends (so append near the end of long transactions). The transaction must be
 * READ COMMITTED (Postgres' default): an older snapshot could miss the latest row and fork the chain.
 */
export async function appendEvent(executor: Executor, input: AuditEventInput, clock: Clock = systemClock): Promise<AuditEvent> {
  const prepared = prepare(input); // validate before taking the lock
  const run = async (tx: Executor) => {
    const lock = await tx.execute<{ isolation: string }>(
      sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_KEY.toString()}::bigint), current_setting('transaction_isolation') as isolation`,
    );
    const isolation = (lock as unknown as { isolation: string }[])[0]?.isolation;
    if (isolation !== "read committed") {
      throw new InvalidAuditEventError(`appendEvent needs a READ COMMITTED transaction, not ${String(isolation)}`);
    }
    const [last] = await tx.select({ hash: requestEvents.hash }).from(requestEvents).orderBy(desc(requestEvents.id)).limit(1);
    const now = clock();
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new InvalidAuditEventError("the clock returned an invalid date");
    const createdAt = new Date(now.getTime()); // Date is millisecond precision, like the column
    const row = { ...prepared, createdAt, prevHash: last?.hash ?? GENESIS_HASH };
    const [inserted] = await tx
      .insert(requestEvents)
      .values({ ...row, hash: computeEventHash(row) })
      .returning();
    return inserted!;
  };
  return executor instanceof PgTransaction ? run(executor) : executor.transaction((tx) => run(tx));
}

/** The events of one request, oldest first. */
export async function listEvents(db: Executor, requestId: string): Promise<AuditEvent[]> {
  if (!UUID_RE.test(requestId)) return [];
  return db.select().from(requestEvents).where(eq(requestEvents.requestId, requestId.toLowerCase())).orderBy(asc(requestEvents.id));
}

export type AuditChainReport =
  | { ok: true; count: number }
  | {
      ok: false;
      /** Rows checked, including the broken one. */
      count: number;
      /** The first row whose hash or link is wrong. */
      brokenAtId: number;
      /**
       * - hash_mismatch: the row's content no longer matches its hash (edited).
       * - prev_hash_mismatch: the row does not point at the row before it — a row before it was deleted (or
       *   inserted, or its hash rewritten), or the row was appended around `appendEvent`.
       * - gap: reserved; not reported by this implementation. bigserial ids skip on rollbacks and sequence caching,
       *   so a missing id is no evidence on its own; a deletion is caught by the prev-hash link instead.
       */
      reason: "hash_mismatch" | "prev_hash_mismatch" | "gap";
    };

/**
 * Walks the whole chain by id in batches of `batchSize` (keyset pagination: memory stays flat however long the
 * trail), recomputing every hash and checking every link. Stops at the first broken row.
 *
 * Appends that commit while the walk runs are simply included: ids are taken under the chain lock, so rows become
 * visible in id order. What this cannot catch on its own is removal of the newest rows (there is no successor whose
 * link breaks); compare the returned count / last hash with an earlier run or an external copy for that.
 */
export async function verifyAuditChain(
  db: Executor,
  { batchSize = 1000 }: { batchSize?: number } = {},
): Promise<AuditChainReport> {
  const size = Math.max(1, Math.min(Math.floor(batchSize), 50_000));
  let prevHash = GENESIS_HASH;
  let lastId = 0;
  let count = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(requestEvents)
      .where(gt(requestEvents.id, lastId))
      .orderBy(asc(requestEvents.id))
      .limit(size);
    for (const row of rows) {
      count++;
      if (computeEventHash(row) !== row.hash) return { ok: false, count, brokenAtId: row.id, reason: "hash_mismatch" };
      if (row.prevHash !== prevHash) return { ok: false, count, brokenAtId: row.id, reason: "prev_hash_mismatch" };
      prevHash = row.hash;
      lastId = row.id;
    }
    if (rows.length < size) return { ok: true, count };
  }
}
