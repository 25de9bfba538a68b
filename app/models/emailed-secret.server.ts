/**
 * The emailed secret (docs/decisions/006-verification-secret-made-by-the-worker.md): a code or link token that
 * exists only in the email. The web process commits an *empty* row; the worker job that mails the secret makes it
 * (CSPRNG), stores its keyed hash bound to the row's id together with its expiry, sends the email, then records the
 * send. Checks compare in constant time; a typed code's wrong tries count against the row's limit.
 *
 * Serves the requester's verification code (verification.server.ts), the consumer's confirmation link of an agent's
 * request (agents.server.ts) and the package download code (packages.server.ts). Each of them keeps its own table,
 * skip rules, messages, audit events and limits; this module holds only what they do alike.
 */
import { and, desc, eq, isNotNull, isNull, type SQL } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { packageDownloadCodes, requests, verificationChallenges, type RequestRow } from "#db/schema/index.ts";
import { hashSecret, secretMatches } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import type { Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { DomainError } from "./errors.ts";

/** The tables of emailed secrets; they share the columns id, request_id, code_hash, attempts, max_attempts, expires_at, sent_at, consumed_at, created_at. */
export type EmailedSecretTable = typeof verificationChallenges | typeof packageDownloadCodes;

type SecretRow = { id: string; codeHash: string | null; attempts: number; maxAttempts: number; expiresAt: Date | null };

/** Why a typed code was refused; `attemptsLeft` after a wrong code that still leaves tries. */
export type CodeRefusal = { ok: false; reason: "invalid" | "expired" | "too_many_attempts"; attemptsLeft?: number };

/** The secret as hashed: bound to its row, so a hash cannot be moved to another row. */
const bound = (rowId: string, secret: string) => `${rowId}:${secret}`;

/** Normalizes what a person types ("123 456", "123-456") into 6 digits, or null. */
export function parseCode(input: string): string | null {
  const digits = input.replace(/[\s-]/g, "");
  return /^\d{6}$/.test(digits) ? digits : null;
}

/** One kind of emailed secret: where it lives and how it is made. */
export type SecretKind = {
  table: EmailedSecretTable;
  /** Separates the uses of the hashing key (one per kind of secret). */
  purpose: string;
  make: () => string;
  /** The audit event recorded once the email is sent. */
  sentAction: string;
  /** Store the hash only while the row is not marked sent (a concurrent run that already sent keeps its secret). */
  unsentOnly: boolean;
};

/**
 * The web's half: an empty row (the worker that mails the secret makes it, ADR 006) allowed
 * VERIFICATION_MAX_ATTEMPTS wrong tries; its id is what the send job carries.
 */
export async function insertEmptySecret<T extends EmailedSecretTable>(tx: Executor, table: T, values: Omit<T["$inferInsert"], "maxAttempts" | "createdAt">, now: Date) {
  const [row] = await tx
    .insert(table as EmailedSecretTable)
    .values({ ...values, maxAttempts: getEnv().VERIFICATION_MAX_ATTEMPTS, createdAt: now } as T["$inferInsert"])
    .returning({ id: table.id });
  return row!.id;
}

/**
 * The row a send job is for, with its request: "missing", or "skipped" when its secret was already sent or used
 * (the caller adds its own reasons to skip).
 */
export async function rowToSend<T extends EmailedSecretTable>(db: Executor, table: T, id: string) {
  const [found] = await db
    .select({ row: table as EmailedSecretTable, request: requests })
    .from(table as EmailedSecretTable)
    .innerJoin(requests, eq(requests.id, table.requestId))
    .where(eq(table.id, id))
    .limit(1);
  if (!found) return "missing" as const;
  if (found.row.sentAt || found.row.consumedAt) return "skipped" as const;
  return found as { row: T["$inferSelect"]; request: RequestRow };
}

/**
 * The worker's half: makes the secret, stores its keyed hash and expiry (wrong tries start again at 0), hands the
 * secret to `send` (the email), then marks the row sent with the kind's audit event. A retry after a crash between
 * sending and recording makes a new secret, replacing the first: the newest one works.
 */
export async function mailNewSecret(
  db: Executor,
  kind: SecretKind,
  row: { id: string; requestId: string; ttlMinutes: number },
  send: (secret: string) => Promise<unknown>,
  clock: Clock,
) {
  const { table } = kind;
  const { id } = row;
  const secret = kind.make();
  const expiresAt = new Date(clock().getTime() + row.ttlMinutes * 60_000);
  await db
    .update(table)
    .set({ codeHash: hashSecret(kind.purpose, bound(id, secret)), expiresAt, attempts: 0 })
    .where(kind.unsentOnly ? and(eq(table.id, id), isNull(table.sentAt)) : eq(table.id, id));
  await send(secret);
  await db.transaction(async (tx) => {
    await tx.update(table).set({ sentAt: clock() }).where(eq(table.id, id));
    await appendEvent(tx, { requestId: row.requestId, actorType: "system", action: kind.sentAction, details: { channel: "email" } }, clock);
  });
  return "sent" as const;
}

/**
 * The newest row of `table` matching all of `scope` whose secret exists (its hash is set just before the mail goes out) and
 * is not used up; `lock` takes it FOR UPDATE (inside the transaction that uses it up).
 */
export async function newestUnusedSecret<T extends EmailedSecretTable>(db: Executor, table: T, scope: SQL[], lock: boolean): Promise<T["$inferSelect"] | undefined> {
  const query = db
    .select()
    .from(table as EmailedSecretTable)
    .where(and(...scope, isNotNull(table.codeHash), isNull(table.consumedAt)))
    .orderBy(desc(table.createdAt))
    .limit(1);
  const [row] = lock ? await query.for("update") : await query;
  return row as T["$inferSelect"] | undefined;
}

/**
 * Checks a code the requester typed against `row` (the newest unused one, locked), in this order: no secret →
 * invalid; tries used up; expired; then the code, in constant time. A wrong code counts: the row's attempts go up
 * and `failedAction` is audited with the attempt's number; the last allowed wrong try answers too_many_attempts.
 * Null when the code is right (the caller then uses the row up).
 */
export async function checkTypedCode(
  tx: Executor,
  kind: SecretKind,
  row: SecretRow,
  check: { input: string; requestId: string; failedAction: string; now: Date },
  clock: Clock,
): Promise<CodeRefusal | null> {
  const { table } = kind;
  if (!row.codeHash || !row.expiresAt) return { ok: false, reason: "invalid" };
  if (row.attempts >= row.maxAttempts) return { ok: false, reason: "too_many_attempts" };
  if (row.expiresAt.getTime() <= check.now.getTime()) return { ok: false, reason: "expired" };
  const code = parseCode(check.input);
  if (code && secretMatches(kind.purpose, bound(row.id, code), row.codeHash)) return null;
  const attempts = row.attempts + 1;
  await tx.update(table).set({ attempts }).where(eq(table.id, row.id));
  await appendEvent(tx, { requestId: check.requestId, actorType: "subject", action: check.failedAction, details: { attempt: attempts } }, clock);
  const attemptsLeft = row.maxAttempts - attempts;
  return attemptsLeft > 0 ? { ok: false, reason: "invalid", attemptsLeft } : { ok: false, reason: "too_many_attempts" };
}

/** Whether `secret` is `row`'s live secret: made, not expired and, compared in constant time, the same. Counts nothing. */
export function isLiveSecret(kind: SecretKind, row: SecretRow, secret: string, now: Date): boolean {
  if (!row.codeHash || !row.expiresAt || row.expiresAt.getTime() <= now.getTime()) return false;
  return secretMatches(kind.purpose, bound(row.id, secret), row.codeHash);
}

/**
 * The web's "send me a code", inside its transaction: locks the request row, so two clicks cannot both pass, then
 * refuses (429, `message`) while the request's newest row of `table` is younger than `seconds`.
 */
export async function assertCooldownPassed(tx: Executor, table: EmailedSecretTable, requestId: string, cooldown: { seconds: number; message: string }, now: Date) {
  await tx.select({ id: requests.id }).from(requests).where(eq(requests.id, requestId)).for("update");
  const [latest] = await tx
    .select({ createdAt: table.createdAt })
    .from(table)
    .where(eq(table.requestId, requestId))
    .orderBy(desc(table.createdAt))
    .limit(1);
  if (latest && now.getTime() - latest.createdAt.getTime() < cooldown.seconds * 1000) {
    throw new DomainError("cooldown", cooldown.message, 429);
  }
}
