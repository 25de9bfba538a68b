/**
 * The audit trail: one append-only, hash-chained table (`request_events`).
 *
 * - The database refuses UPDATE, DELETE and TRUNCATE on the table (trigger, migration 0001).
 * - Every row carries `hash` = SHA-256 (hex) of a canonical encoding of its content plus `prev_hash`, the hash of the
 *   row appended just before it (64 zeros for the first row). Anything done around the trigger (a superuser disabling
 *   it, a restored dump edited by hand) breaks the chain, and `verifyAuditChain` says where.
 * - Appends are serialized by a transaction-scoped advisory lock, so the chain never forks; the lock is held until
 *   the surrounding transaction commits. Lock, head read and insert are one statement — the SQL function
 *   `request_events_append` (migration 0013) — so the lock is held for that statement and the commit only when the
 *   append is the transaction's last statement. See docs/decisions/004-audit-hash-chain.md and 014.
 *
 * `details` hold ids, counts, enum-like codes and reason codes only — never personal data (no emails, names, free
 * text from the subject or staff). The trail outlives the request's anonymization and cannot be edited, so anything
 * written here stays forever. `appendEvent` enforces a coarse guard (no string containing an email address, no
 * string over 200 characters) and throws `AuditDetailsError` otherwise.
 */
import { asc, eq, gt, sql, type SQL } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { actorType, requestEvents, type RequestEventRow } from "#db/schema/index.ts";
import { sha256Hex } from "#app/utils/crypto.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";

export type ActorType = (typeof actorType.enumValues)[number];

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

/** What the hash covers (ADR 004): a row's content and its link to the previous row. */
function hashedContent(row: HashedFields) {
  return {
    prevHash: row.prevHash,
    requestId: row.requestId ?? null,
    actorType: row.actorType,
    actorId: row.actorId ?? null,
    action: row.action,
    details: row.details ?? {},
    createdAt: row.createdAt.toISOString(),
  };
}

/** SHA-256 (hex) of the canonical encoding of a row's content and its link to the previous row. */
export function computeEventHash(row: HashedFields): string {
  return sha256Hex(canonicalJson(hashedContent(row)));
}

/** Stands in for the previous hash while the canonical text is cut; JSON-escaped, so no other value can produce it. */
const PREV_HASH_SLOT = "\u0000";
const PREV_HASH_MARKER = `"prevHash":${JSON.stringify(PREV_HASH_SLOT)}`;

/**
 * The canonical text `computeEventHash` hashes, cut around the value of `prevHash`: for every previous hash `p`
 * (64 hex digits, which need no escaping), `head + p + tail` is exactly the text `computeEventHash` hashes for the
 * row linked to `p`. The database appends with it without knowing the encoding (migration 0013).
 */
export function canonicalTextAroundPrevHash(row: Omit<HashedFields, "prevHash">): { head: string; tail: string } {
  const text = canonicalJson(hashedContent({ ...row, prevHash: PREV_HASH_SLOT }));
  const at = text.indexOf(PREV_HASH_MARKER);
  // Strings inside the text are escaped (a quote becomes \"), so the marker can only be the top-level key.
  if (at < 0 || text.indexOf(PREV_HASH_MARKER, at + 1) >= 0) throw new Error("audit: the canonical text has no unique prevHash slot");
  return { head: `${text.slice(0, at)}"prevHash":"`, tail: `"${text.slice(at + PREV_HASH_MARKER.length)}` };
}

function prepare(input: AuditEventInput) {
  if (!ACTION_RE.test(input.action) || input.action.length > 100) {
    throw new InvalidAuditEventError('action must be a dotted lower-case name such as "request.submitted"');
  }
  if (!(actorType.enumValues as readonly string[]).includes(input.actorType)) throw new InvalidAuditEventError("unknown actor type");
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
 * `request_events_append(request_id, actor_type, actor_id, action, details, created_at, hash_head, hash_tail)` with
 * the given argument values (or SQL such as placeholders): the one call that appends an event (migration 0013).
 */
export function appendCall(requestId: unknown, args: readonly unknown[]): SQL {
  const [actorType, actorId, action, details, createdAt, head, tail] = args;
  return sql`request_events_append(${requestId}::uuid, ${actorType}::actor_type, ${actorId}::text, ${action}::text, ${details}::jsonb, ${createdAt}::timestamptz, ${head}::text, ${tail}::text)`;
}

/**
 * One event, validated and ready to append: `statement` is the single SQL statement that appends it
 * (`select id, prev_hash, hash from request_events_append(…)`: chain lock, head read, insert), `row(...)` the stored
 * row given what the statement returned. For callers that fold the append into a larger statement (intake, see
 * `submitRequest`), `args` are the call's arguments after the request id, in `appendCall`'s order, and
 * `call(requestId)` the call itself, to be used as the statement's last step.
 */
export function prepareEvent(input: AuditEventInput, clock: Clock = systemClock) {
  const prepared = prepare(input);
  const now = clock();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new InvalidAuditEventError("the clock returned an invalid date");
  const createdAt = new Date(now.getTime()); // Date is millisecond precision, like the column
  const content = { ...prepared, createdAt };
  const { head, tail } = canonicalTextAroundPrevHash(content);
  const args = [prepared.actorType, prepared.actorId, prepared.action, JSON.stringify(prepared.details), createdAt.toISOString(), head, tail] as const;
  const call = (requestId: SQL | string | null = prepared.requestId) => appendCall(requestId, args);
  return {
    args,
    call,
    statement: sql`select id, prev_hash, hash from ${call()}`,
    row: (appended: AppendedRow): AuditEvent => ({
      id: Number(appended.id),
      ...content,
      prevHash: appended.prev_hash,
      hash: appended.hash,
    }),
  };
}

/** What `request_events_append` returns. */
export type AppendedRow = { id: string | number | bigint; prev_hash: string; hash: string };

/** The database refused the append: request_events_append raises this for a REPEATABLE READ / SERIALIZABLE transaction. */
function isolationRefusal(err: unknown) {
  for (let e = err; e && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === "25000" && String((e as { message?: unknown }).message).includes("request_events_append")) return true;
  }
  return false;
}

/** Throws InvalidAuditEventError for the database's isolation refusal, the original error otherwise. */
export function rethrowAppendError(err: unknown): never {
  if (isolationRefusal(err)) {
    const level = /not (.+)$/.exec(String((err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message))?.[1];
    throw new InvalidAuditEventError(`appendEvent needs a READ COMMITTED transaction, not ${level ?? "another isolation level"}`);
  }
  throw err;
}

/**
 * Appends one event to the chain and returns the stored row.
 *
 * `executor` is the database or a transaction. Given the database, the append is one statement in its own implicit
 * transaction; given a transaction, it joins it — the event commits or rolls back with the caller's change, and the
 * chain lock is held until the caller's transaction ends (so make the append the transaction's last statement). The
 * transaction must be READ COMMITTED (Postgres' default): an older snapshot could miss the latest row and fork the
 * chain; the database function refuses any other level.
 */
export async function appendEvent(executor: Executor, input: AuditEventInput, clock: Clock = systemClock): Promise<AuditEvent> {
  const event = prepareEvent(input, clock); // validate before taking the lock
  const result = await executor.execute<AppendedRow>(event.statement).catch(rethrowAppendError);
  const [appended] = result as unknown as AppendedRow[];
  if (!appended) throw new Error("audit: request_events_append returned no row");
  return event.row(appended);
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
