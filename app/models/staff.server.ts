/**
 * Staff accounts, sign-in with lockout, database-backed sessions and invitations.
 *
 * - Passwords: argon2id (OWASP minimum: 19 MiB, 2 passes, 1 lane); a hash made with weaker parameters is
 *   upgraded on the next successful sign-in. The policy (length, common passwords, no email local part) is in
 *   ./passwords.ts; the list of common passwords ships in ./data/common-passwords.txt.
 * - Sign-in does the same argon2 work whether the email is unknown, the password wrong or the account locked, and
 *   callers show one message for all of them, so neither timing nor wording reveals accounts.
 * - Lockout: after 5 consecutive failures an account is locked for 1 minute, doubling with every further failure
 *   up to 15 minutes. Attempts during a lock are refused without counting, so nobody can push a lock beyond
 *   15 minutes; a lock that ended over an hour ago starts the count afresh. The per-IP rate limit of the login
 *   route bounds how fast one client can try.
 * - Sessions: the cookie carries a 256-bit random token, the row only its SHA-256, so a database leak does not
 *   hand out sessions. A session ends after 30 minutes without a request (idle) or 12 hours after sign-in
 *   (absolute), whichever comes first; `lastSeenAt` is written at most once a minute. A session starts without
 *   MFA (`mfaVerifiedAt` null) and reaches only the MFA pages until the second factor is shown (mfa.server.ts);
 *   such a half-signed-in session ends after 10 minutes.
 * - Invitations: single-use, 72 hours, only the token's SHA-256 is stored. The console's invitations are emailed: the
 *   invite row starts with the hash of a token nobody knows, and the worker that mails the link makes the real token
 *   (ADR 006's pattern, ADR 019), so the token is never shown, logged or put in a job payload. Re-sending makes a new
 *   token (the older link stops working) and restarts the 72 hours. The CLI (`staff:create --invite`) still prints a
 *   link it made itself.
 *
 * Functions return `Staff` (public columns), so a loader cannot leak the password hash or the MFA secret.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { hash, parseOptions, verify, type Algorithm, type Options } from "@node-rs/argon2";
import { and, asc, desc, eq, gt, isNull, lt, lte, ne, or, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { staffInvites, staffRoles, staffSessions, staffUsers, type StaffRole, type StaffUserRow } from "#db/schema/index.ts";
import { normalizeEmail, randomToken, sha256Hex } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { enqueue } from "#jobs/queues.ts";
import { appendEvent } from "./audit.server.ts";
import { DomainError } from "./errors.ts";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, parsePasswordList, passwordProblem } from "./passwords.ts";
import { staffRoleLabels } from "./staff-roles.ts";

export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH };
export type { StaffRole };

/** What the app may know of a staff member: never the password hash or the MFA secret. */
export type Staff = Pick<StaffUserRow, "id" | "email" | "name" | "role" | "createdAt" | "disabledAt">;

export const SESSION_IDLE_TIMEOUT_MS = 30 * 60 * 1000;
export const SESSION_ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** A session that has not shown its second factor this long after sign-in ends. */
export const SESSION_MFA_PENDING_TIMEOUT_MS = 10 * 60 * 1000;
/** `lastSeenAt` is refreshed at most this often (one write per minute per active session, not per request). */
export const SESSION_TOUCH_INTERVAL_MS = 60 * 1000;
/** Consecutive failed sign-ins before an account is locked. */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_BASE_MS = 60 * 1000;
export const LOCKOUT_MAX_MS = 15 * 60 * 1000;
/** A lock that ended this long ago no longer counts: the next failure starts from one. */
export const LOCKOUT_FORGET_AFTER_MS = 60 * 60 * 1000;
export const INVITE_TTL_MS = 72 * 60 * 60 * 1000;
const USER_AGENT_MAX = 200;

// `Algorithm` is a const enum in the typings; its runtime object exists, but isolatedModules forbids reading it.
const ARGON2ID = 2 as Algorithm;
export const PASSWORD_HASH_OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Invalid staff input; `userMessage` is safe to show next to `field` in the form. */
export class StaffInputError extends DomainError {
  constructor(
    public readonly field: "email" | "name" | "role" | "password",
    code: string,
    userMessage: string,
  ) {
    super(code, userMessage, 400);
    this.name = "StaffInputError";
  }
}

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const publicColumns = {
  id: staffUsers.id,
  email: staffUsers.email,
  name: staffUsers.name,
  role: staffUsers.role,
  createdAt: staffUsers.createdAt,
  disabledAt: staffUsers.disabledAt,
};

function toStaff(row: StaffUserRow): Staff {
  return { id: row.id, email: row.email, name: row.name, role: row.role, createdAt: row.createdAt, disabledAt: row.disabledAt };
}

// ---------------------------------------------------------------------------------------------------------------
// Password policy

/** Where the list of common passwords lives, relative to the working directory (the repository root, as for build/). */
export const COMMON_PASSWORDS_FILE = "app/models/data/common-passwords.txt";
let commonPasswordSet: Set<string> | undefined;

/** The shipped list of common passwords (lower-case), read once. Missing file → throws (fail closed). */
export function commonPasswords(): ReadonlySet<string> {
  commonPasswordSet ??= parsePasswordList(readFileSync(resolve(COMMON_PASSWORDS_FILE), "utf8"));
  return commonPasswordSet;
}

/** The password rules, for forms that want to check before submitting; throws `StaffInputError`. */
export function checkPasswordPolicy(password: string, email: string) {
  const problem = passwordProblem(password, { email: normalizeEmail(email), commonPasswords: commonPasswords() });
  if (problem) throw new StaffInputError("password", problem.code, problem.message);
}

/**
 * STAFF_MAX_PASSWORD_AGE_DAYS (validated with the rest of the configuration at boot, app/utils/env.server.ts):
 * 0 (default) = passwords never expire, as NIST SP 800-63B advises (forced periodic changes lead to weaker
 * passwords; change on evidence of compromise instead).
 */
export function maxPasswordAgeDays(): number {
  return getEnv().STAFF_MAX_PASSWORD_AGE_DAYS;
}

/** True when a maximum password age is configured and the password is older. */
export function isPasswordExpired(passwordChangedAt: Date, now: Date, maxAgeDays = maxPasswordAgeDays()): boolean {
  return maxAgeDays > 0 && now.getTime() - passwordChangedAt.getTime() > maxAgeDays * 86_400_000;
}

export async function hashPassword(password: string): Promise<string> {
  return hash(password, PASSWORD_HASH_OPTIONS);
}

/** True when a stored hash was made with other parameters than today's policy (then rehash on sign-in). */
export function passwordNeedsRehash(stored: string): boolean {
  try {
    const p = parseOptions(stored);
    return (
      p.algorithm !== PASSWORD_HASH_OPTIONS.algorithm ||
      p.memoryCost < PASSWORD_HASH_OPTIONS.memoryCost! ||
      p.timeCost < PASSWORD_HASH_OPTIONS.timeCost! ||
      p.parallelism !== PASSWORD_HASH_OPTIONS.parallelism
    );
  } catch {
    return true;
  }
}

function validateAccount(input: { email: string; name: string; role: StaffRole }) {
  const email = normalizeEmail(input.email);
  if (!EMAIL_SHAPE.test(email) || email.length > 254) {
    throw new StaffInputError("email", "invalid_email", "Enter a valid email address.");
  }
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) {
    throw new StaffInputError("name", "invalid_name", "Enter a name of 1 to 200 characters.");
  }
  if (!staffRoles.includes(input.role)) throw new StaffInputError("role", "invalid_role", "Choose a role from the list.");
  return { email, name, role: input.role };
}

export async function createStaff(
  db: Executor,
  input: { email: string; name: string; role: StaffRole; password: string },
  clock: Clock = systemClock,
): Promise<Staff> {
  const { email, name, role } = validateAccount(input);
  checkPasswordPolicy(input.password, email);

  const passwordHash = await hashPassword(input.password);
  const [row] = await db
    .insert(staffUsers)
    .values({ email, name, role, passwordHash, passwordChangedAt: clock() })
    .onConflictDoNothing({ target: staffUsers.email })
    .returning(publicColumns);
  if (!row) throw new StaffInputError("email", "email_taken", "A staff account with this email already exists.");
  return row;
}

export async function getStaffById(db: Executor, id: string): Promise<Staff | undefined> {
  if (!UUID_RE.test(id)) return undefined;
  const [row] = await db.select(publicColumns).from(staffUsers).where(eq(staffUsers.id, id)).limit(1);
  return row;
}

export async function getStaffByEmail(db: Executor, email: string): Promise<Staff | undefined> {
  const [row] = await db.select(publicColumns).from(staffUsers).where(eq(staffUsers.email, normalizeEmail(email))).limit(1);
  return row;
}

export type StaffListEntry = Staff & { mfaEnrolled: boolean };

/** Every staff account, admins first, then by name. */
export async function listStaff(db: Executor): Promise<StaffListEntry[]> {
  const rows = await db
    .select({ ...publicColumns, totpEnrolledAt: staffUsers.totpEnrolledAt })
    .from(staffUsers)
    .orderBy(asc(staffUsers.role), asc(staffUsers.name));
  return rows.map(({ totpEnrolledAt, ...staff }) => ({ ...staff, mfaEnrolled: totpEnrolledAt !== null }));
}

// ---------------------------------------------------------------------------------------------------------------
// Sign-in with lockout

/**
 * A real argon2id hash (of a random password nobody knows) with today's parameters, verified against when the
 * email is unknown or the account locked, so those paths cost the same as a wrong password. Precomputed, so even
 * the first unknown email in a process is not slower; if the policy changes, a fresh one is made once instead.
 */
const DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$38J32o6k4YL0Ert6FXgWkg$duOOpcP9+jDy4Tk4Gtzfzj4JghdVadpwdyHxPDYMmVE";
let dummyHash: Promise<string> | undefined;
function getDummyHash() {
  dummyHash ??= passwordNeedsRehash(DUMMY_HASH) ? hashPassword(randomToken()) : Promise.resolve(DUMMY_HASH);
  return dummyHash;
}

/** How long the `failures`-th consecutive failure locks the account (0 below the threshold). */
export function lockoutDurationMs(failures: number): number {
  if (failures < LOCKOUT_THRESHOLD) return 0;
  return Math.min(LOCKOUT_BASE_MS * 2 ** Math.min(failures - LOCKOUT_THRESHOLD, 20), LOCKOUT_MAX_MS);
}

export type SignInFailure = "unknown_account" | "wrong_password" | "locked" | "disabled";
export type SignInResult =
  | { ok: true; staff: Staff; passwordExpired: boolean }
  | { ok: false; reason: SignInFailure; staffId?: string; lockedUntil?: Date };

/**
 * Checks an email and password, counting failures and locking the account as described at the top. Appends the
 * audit events (`staff.sign_in_failed` with a reason code, `staff.locked_out`); never an email in them. A success
 * is only the first factor: the caller starts a session that still needs MFA. Show one message for every failure.
 */
export async function signInWithPassword(db: Executor, email: string, password: string, clock: Clock = systemClock): Promise<SignInResult> {
  const normalized = normalizeEmail(email);
  const [row] = normalized ? await db.select().from(staffUsers).where(eq(staffUsers.email, normalized)).limit(1) : [];
  const now = clock();
  const tooLong = [...password].length > MAX_PASSWORD_LENGTH;
  const locked = row?.lockedUntil != null && row.lockedUntil.getTime() > now.getTime();
  // Same argon2 work on every path: the stored hash, or the dummy one when there is no usable account.
  const stored = row && !tooLong && !locked ? row.passwordHash : await getDummyHash();
  let matches = false;
  try {
    matches = await verify(stored, tooLong ? "" : password);
  } catch {
    matches = false; // a corrupt stored hash fails closed
  }

  const fail = async (reason: SignInFailure, extra: { lockedUntil?: Date } = {}): Promise<SignInResult> => {
    await appendEvent(db, { actorType: "system", action: "staff.sign_in_failed", details: { reason, staffId: row?.id } }, clock);
    return { ok: false, reason, staffId: row?.id, ...extra };
  };
  if (!row) return fail("unknown_account");
  if (locked) return fail("locked", { lockedUntil: row.lockedUntil! });
  if (row.disabledAt !== null) return fail("disabled");
  if (tooLong || !matches) {
    const forgetBefore = new Date(now.getTime() - LOCKOUT_FORGET_AFTER_MS);
    const [counted] = await db
      .update(staffUsers)
      .set({
        failedSignIns: sql`(case when ${staffUsers.lockedUntil} is not null and ${staffUsers.lockedUntil} < ${forgetBefore.toISOString()}::timestamptz then 0 else ${staffUsers.failedSignIns} end) + 1`,
      })
      .where(eq(staffUsers.id, row.id))
      .returning({ failures: staffUsers.failedSignIns });
    const failures = counted?.failures ?? 1;
    const lockMs = lockoutDurationMs(failures);
    if (lockMs === 0) return fail("wrong_password");
    const lockedUntil = new Date(now.getTime() + lockMs);
    await db.update(staffUsers).set({ lockedUntil }).where(eq(staffUsers.id, row.id));
    await appendEvent(db, { actorType: "system", action: "staff.locked_out", details: { staffId: row.id, failures, seconds: lockMs / 1000 } }, clock);
    return fail("wrong_password", { lockedUntil });
  }

  const updates: Partial<typeof staffUsers.$inferInsert> = {};
  if (row.failedSignIns !== 0 || row.lockedUntil !== null) Object.assign(updates, { failedSignIns: 0, lockedUntil: null });
  if (passwordNeedsRehash(row.passwordHash)) updates.passwordHash = await hashPassword(password);
  if (Object.keys(updates).length > 0) await db.update(staffUsers).set(updates).where(eq(staffUsers.id, row.id));
  return { ok: true, staff: toStaff(row), passwordExpired: isPasswordExpired(row.passwordChangedAt, now) };
}

/** The staff member for this email and password, or null (any failure; see `signInWithPassword`). */
export async function authenticateStaff(db: Executor, email: string, password: string, clock: Clock = systemClock): Promise<Staff | null> {
  const result = await signInWithPassword(db, email, password, clock);
  return result.ok ? result.staff : null;
}

/** Checks the current password of a signed-in staff member (password change), without touching the lockout. */
export async function verifyStaffPassword(db: Executor, staffId: string, password: string): Promise<boolean> {
  const [row] = await db.select({ passwordHash: staffUsers.passwordHash }).from(staffUsers).where(eq(staffUsers.id, staffId)).limit(1);
  const tooLong = [...password].length > MAX_PASSWORD_LENGTH;
  try {
    return (await verify(row && !tooLong ? row.passwordHash : await getDummyHash(), tooLong ? "" : password)) && !!row && !tooLong;
  } catch {
    return false;
  }
}

/**
 * Sets a new password (policy applied) and signs out every session of the account — except `keepSessionId`, the
 * session of the staff member changing their own password.
 */
export async function setStaffPassword(
  db: Executor,
  staffId: string,
  password: string,
  { clock = systemClock, keepSessionId }: { clock?: Clock; keepSessionId?: string } = {},
): Promise<void> {
  const staff = await getStaffById(db, staffId);
  if (!staff) throw new Error("staff not found");
  checkPasswordPolicy(password, staff.email);
  await db
    .update(staffUsers)
    .set({ passwordHash: await hashPassword(password), passwordChangedAt: clock(), failedSignIns: 0, lockedUntil: null })
    .where(eq(staffUsers.id, staffId));
  await destroyAllStaffSessions(db, staffId, { exceptSessionId: keepSessionId });
  await appendEvent(db, { actorType: "staff", actorId: staffId, action: "staff.password_changed", details: {} }, clock);
}

/** Disables the account and ends its sessions; sign-in and existing cookies stop working at once. */
export async function disableStaff(db: Executor, staffId: string, clock: Clock = systemClock): Promise<void> {
  await db.update(staffUsers).set({ disabledAt: clock() }).where(eq(staffUsers.id, staffId));
  await destroyAllStaffSessions(db, staffId);
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions

/** The form `randomToken()` produces (32 bytes, base64url); anything else is rejected without a query. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const tokenHash = (token: string) => sha256Hex(token);

export type StaffSession = {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  mfaVerifiedAt: Date | null;
  stepUpAt: Date | null;
  userAgent: string | null;
};

/** A live session with its staff member and what the session layer needs to route them. */
export type StaffSessionContext = {
  staff: Staff;
  session: StaffSession;
  mfaEnrolled: boolean;
  passwordChangedAt: Date;
};

const sessionColumns = {
  id: staffSessions.id,
  createdAt: staffSessions.createdAt,
  lastSeenAt: staffSessions.lastSeenAt,
  expiresAt: staffSessions.expiresAt,
  mfaVerifiedAt: staffSessions.mfaVerifiedAt,
  stepUpAt: staffSessions.stepUpAt,
  userAgent: staffSessions.userAgent,
};

export async function createStaffSession(
  db: Executor,
  staffId: string,
  clock: Clock = systemClock,
  { userAgent }: { userAgent?: string | null } = {},
): Promise<{ token: string; expiresAt: Date; sessionId: string }> {
  const now = clock();
  const token = randomToken();
  const expiresAt = new Date(now.getTime() + SESSION_ABSOLUTE_TIMEOUT_MS);
  const [row] = await db
    .insert(staffSessions)
    .values({ staffId, tokenHash: tokenHash(token), createdAt: now, lastSeenAt: now, expiresAt, userAgent: userAgent ? userAgent.slice(0, USER_AGENT_MAX) : null })
    .returning({ id: staffSessions.id });
  return { token, expiresAt, sessionId: row!.id };
}

function sessionExpired(session: StaffSession, now: number) {
  return (
    now >= session.expiresAt.getTime() ||
    now - session.lastSeenAt.getTime() >= SESSION_IDLE_TIMEOUT_MS ||
    (session.mfaVerifiedAt === null && now - session.createdAt.getTime() >= SESSION_MFA_PENDING_TIMEOUT_MS)
  );
}

/**
 * The live session for a token with its staff member, or null. An expired session (idle, absolute, or MFA not
 * shown in time) is deleted, and so is the session of a disabled account. Whether MFA was shown is for the caller
 * to check (`session.mfaVerifiedAt`).
 */
export async function getStaffSession(db: Executor, token: string, clock: Clock = systemClock): Promise<StaffSessionContext | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const [found] = await db
    .select({ session: sessionColumns, staff: publicColumns, totpEnrolledAt: staffUsers.totpEnrolledAt, passwordChangedAt: staffUsers.passwordChangedAt })
    .from(staffSessions)
    .innerJoin(staffUsers, eq(staffUsers.id, staffSessions.staffId))
    .where(eq(staffSessions.tokenHash, tokenHash(token)))
    .limit(1);
  if (!found) return null;
  const { session, staff } = found;
  const now = clock().getTime();
  if (sessionExpired(session, now) || staff.disabledAt !== null) {
    await db.delete(staffSessions).where(eq(staffSessions.id, session.id));
    return null;
  }
  if (now - session.lastSeenAt.getTime() >= SESSION_TOUCH_INTERVAL_MS) {
    await db
      .update(staffSessions)
      .set({ lastSeenAt: new Date(now) })
      .where(and(eq(staffSessions.id, session.id), lt(staffSessions.lastSeenAt, new Date(now))));
    session.lastSeenAt = new Date(now);
  }
  return { staff, session, mfaEnrolled: found.totpEnrolledAt !== null, passwordChangedAt: found.passwordChangedAt };
}

/** The staff member of a live session (with or without MFA shown), or null. */
export async function getStaffBySessionToken(db: Executor, token: string, clock: Clock = systemClock): Promise<Staff | null> {
  return (await getStaffSession(db, token, clock))?.staff ?? null;
}

/**
 * Gives a session a new token (the old one stops working at once) and optionally records the second factor:
 * `mfaVerified` sets `mfaVerifiedAt`, `stepUp` sets `stepUpAt`. Returns the new token, or null if the session
 * is gone. Called when privileges change (MFA shown), against session fixation.
 */
export async function rotateStaffSession(
  db: Executor,
  sessionId: string,
  { mfaVerified = false, stepUp = false, clock = systemClock }: { mfaVerified?: boolean; stepUp?: boolean; clock?: Clock } = {},
): Promise<string | null> {
  const now = clock();
  const token = randomToken();
  const [row] = await db
    .update(staffSessions)
    .set({ tokenHash: tokenHash(token), lastSeenAt: now, ...(mfaVerified ? { mfaVerifiedAt: now } : {}), ...(stepUp ? { stepUpAt: now } : {}) })
    .where(eq(staffSessions.id, sessionId))
    .returning({ id: staffSessions.id });
  return row ? token : null;
}

/**
 * Marks a session MFA-verified without rotating its token. The sign-in flow uses `rotateStaffSession`; this is
 * for callers that just created the session and hold its only token (tests, tools).
 */
export async function markStaffSessionMfaVerified(db: Executor, sessionId: string, clock: Clock = systemClock): Promise<void> {
  await db.update(staffSessions).set({ mfaVerifiedAt: clock() }).where(eq(staffSessions.id, sessionId));
}

/** Records a fresh second factor for sensitive actions (see `requireStepUp`). */
export async function markStaffSessionStepUp(db: Executor, sessionId: string, clock: Clock = systemClock): Promise<void> {
  await db.update(staffSessions).set({ stepUpAt: clock() }).where(eq(staffSessions.id, sessionId));
}

/** The live sessions of a staff member, most recently used first. */
export async function listStaffSessions(db: Executor, staffId: string, clock: Clock = systemClock): Promise<StaffSession[]> {
  const rows = await db.select(sessionColumns).from(staffSessions).where(eq(staffSessions.staffId, staffId)).orderBy(desc(staffSessions.lastSeenAt));
  const now = clock().getTime();
  return rows.filter((s) => !sessionExpired(s, now));
}

export async function destroyStaffSession(db: Executor, token: string): Promise<void> {
  if (!TOKEN_SHAPE.test(token)) return;
  await db.delete(staffSessions).where(eq(staffSessions.tokenHash, tokenHash(token)));
}

/** Ends one session of this staff member (never another's); true if it existed. */
export async function destroyStaffSessionById(db: Executor, staffId: string, sessionId: string): Promise<boolean> {
  if (!UUID_RE.test(sessionId)) return false;
  const rows = await db
    .delete(staffSessions)
    .where(and(eq(staffSessions.id, sessionId), eq(staffSessions.staffId, staffId)))
    .returning({ id: staffSessions.id });
  return rows.length > 0;
}

/** Signs a staff member out everywhere (but `exceptSessionId`); returns how many sessions ended. */
export async function destroyAllStaffSessions(db: Executor, staffId: string, { exceptSessionId }: { exceptSessionId?: string } = {}): Promise<number> {
  const rows = await db
    .delete(staffSessions)
    .where(and(eq(staffSessions.staffId, staffId), exceptSessionId ? ne(staffSessions.id, exceptSessionId) : undefined))
    .returning({ id: staffSessions.id });
  return rows.length;
}

/** Deletes sessions past their absolute, idle or MFA-pending limit (for a scheduled cleanup job); returns how many. */
export async function purgeExpiredStaffSessions(db: Executor, clock: Clock = systemClock): Promise<number> {
  const now = clock();
  const idleCutoff = new Date(now.getTime() - SESSION_IDLE_TIMEOUT_MS);
  const pendingCutoff = new Date(now.getTime() - SESSION_MFA_PENDING_TIMEOUT_MS);
  const rows = await db
    .delete(staffSessions)
    .where(
      or(
        lte(staffSessions.expiresAt, now),
        lte(staffSessions.lastSeenAt, idleCutoff),
        and(isNull(staffSessions.mfaVerifiedAt), lte(staffSessions.createdAt, pendingCutoff)),
      ),
    )
    .returning({ id: staffSessions.id });
  return rows.length;
}

// ---------------------------------------------------------------------------------------------------------------
// Invitations

export type StaffInvite = { id: string; email: string; role: StaffRole; expiresAt: Date; createdAt: Date };

const inviteColumns = { id: staffInvites.id, email: staffInvites.email, role: staffInvites.role, expiresAt: staffInvites.expiresAt, createdAt: staffInvites.createdAt };
const inviteHash = (token: string) => sha256Hex(`staff-invite\0${token}`);

/** The link an invitee opens (APP_URL + /admin/invite/<token>). */
export function staffInviteUrl(token: string): string {
  return `${getEnv().APP_URL}/admin/invite/${token}`;
}

/**
 * Writes a pending invitation whose token hash is `tokenHash`, ending earlier unused invitations for the same email,
 * and appends `staff.invited` (ids, role and how the link travels; never the email). Returns the event id too.
 */
async function insertInvite(
  db: Executor,
  input: { email: string; role: StaffRole; invitedBy?: string | null; tokenHash: string; delivery: "email" | "cli" },
  clock: Clock,
): Promise<{ invite: StaffInvite; eventId: number }> {
  const { email, role } = validateAccount({ ...input, name: "-" });
  if (await getStaffByEmail(db, email)) throw new StaffInputError("email", "email_taken", "A staff account with this email already exists.");
  const now = clock();
  return db.transaction(async (tx) => {
    await tx
      .update(staffInvites)
      .set({ expiresAt: now })
      .where(and(eq(staffInvites.email, email), isNull(staffInvites.usedAt), gt(staffInvites.expiresAt, now)));
    const [invite] = await tx
      .insert(staffInvites)
      .values({ email, role, tokenHash: input.tokenHash, invitedBy: input.invitedBy ?? null, createdAt: now, expiresAt: new Date(now.getTime() + INVITE_TTL_MS) })
      .returning(inviteColumns);
    const event = await appendEvent(
      tx,
      {
        actorType: input.invitedBy ? "staff" : "system",
        actorId: input.invitedBy ?? "cli",
        action: "staff.invited",
        details: { inviteId: invite!.id, role, delivery: input.delivery },
      },
      clock,
    );
    return { invite: invite!, eventId: Number(event.id) };
  });
}

/**
 * Invites someone to become staff with `role` and returns the link's token (the CLI prints the link): single-use,
 * valid for 72 hours, only its hash is stored. Earlier unused invitations for the same email stop working.
 * The console emails invitations instead (`inviteStaffByEmail`).
 */
export async function createStaffInvite(
  db: Executor,
  input: { email: string; role: StaffRole; invitedBy?: string | null },
  clock: Clock = systemClock,
): Promise<{ token: string; invite: StaffInvite }> {
  const token = randomToken();
  const { invite } = await insertInvite(db, { ...input, tokenHash: inviteHash(token), delivery: "cli" }, clock);
  return { token, invite };
}

/** An invitation that cannot be re-sent or revoked (used, revoked, expired or unknown); safe to show. */
export class StaffInviteError extends DomainError {
  constructor() {
    super("invite_not_pending", "This invitation was used, revoked or has expired. Invite the person again.", 404);
    this.name = "StaffInviteError";
  }
}

/**
 * Queues the email of an invitation. The job id is made of the invite and the audit event that asked for the
 * send, so a re-send is a new job while a retried enqueue of the same send is not. If Redis is down the invitation
 * stays pending, unsent: the admin re-sends it from the console.
 */
async function queueInvitationEmail(inviteId: string, eventId: number): Promise<boolean> {
  try {
    await enqueue("send-staff-invitation", { inviteId }, { jobId: `send-staff-invitation-${inviteId}-${eventId}` });
    return true;
  } catch (err) {
    logger.warn({ err, inviteId }, "could not queue the staff invitation email; re-send it from the staff page");
    return false;
  }
}

/**
 * Invites someone by email (the console): the invitation is stored with the hash of a token nobody knows, then the
 * `send-staff-invitation` job makes the real token and mails the link (ADR 006's pattern). `queued` is false when
 * the job could not be queued (the invitation exists; re-send it).
 */
export async function inviteStaffByEmail(
  db: Executor,
  input: { email: string; role: StaffRole; invitedBy: string },
  clock: Clock = systemClock,
): Promise<{ invite: StaffInvite; queued: boolean }> {
  const { invite, eventId } = await insertInvite(db, { ...input, tokenHash: inviteHash(randomToken()), delivery: "email" }, clock);
  return { invite, queued: await queueInvitationEmail(invite.id, eventId) };
}

/** A pending invitation by id, or null (unknown, used, revoked or expired). */
async function pendingInvite(db: Executor, inviteId: string, now: Date): Promise<StaffInvite | null> {
  if (!UUID_RE.test(inviteId)) return null;
  const [row] = await db
    .select(inviteColumns)
    .from(staffInvites)
    .where(and(eq(staffInvites.id, inviteId), isNull(staffInvites.usedAt), gt(staffInvites.expiresAt, now)))
    .limit(1);
  return row ?? null;
}

/** Sends a pending invitation again (a new link; the older one stops working). Appends `staff.invite_resent`. */
export async function resendStaffInvite(db: Executor, input: { inviteId: string; by: string }, clock: Clock = systemClock): Promise<{ queued: boolean }> {
  const invite = await pendingInvite(db, input.inviteId, clock());
  if (!invite) throw new StaffInviteError();
  const event = await appendEvent(db, { actorType: "staff", actorId: input.by, action: "staff.invite_resent", details: { inviteId: invite.id } }, clock);
  return { queued: await queueInvitationEmail(invite.id, Number(event.id)) };
}

/** Ends a pending invitation at once (its link stops working). Appends `staff.invite_revoked`. */
export async function revokeStaffInvite(db: Executor, input: { inviteId: string; by: string }, clock: Clock = systemClock): Promise<void> {
  if (!UUID_RE.test(input.inviteId)) throw new StaffInviteError();
  const now = clock();
  await db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(staffInvites)
      .set({ expiresAt: now })
      .where(and(eq(staffInvites.id, input.inviteId), isNull(staffInvites.usedAt), gt(staffInvites.expiresAt, now)))
      .returning({ id: staffInvites.id });
    if (!revoked) throw new StaffInviteError();
    await appendEvent(tx, { actorType: "staff", actorId: input.by, action: "staff.invite_revoked", details: { inviteId: revoked.id } }, clock);
  });
}

/** "28 November 2026, 15:04 UTC": unambiguous for an invitee anywhere. */
const utcLabel = (d: Date) =>
  `${new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(d)}, ${d.toISOString().slice(11, 16)} UTC`;

/**
 * The `send-staff-invitation` job: if the invitation is still pending, makes a fresh token (stores only its hash,
 * the 72 hours start now), mails the link, and appends `staff.invite_sent`. A used, revoked or expired invitation
 * is skipped. Run twice, it sends twice and only the newest link works. Returns no token and no address (the
 * worker logs the result).
 */
export async function sendStaffInvitation(db: Executor, inviteId: string, clock: Clock = systemClock): Promise<{ sent: boolean }> {
  if (!UUID_RE.test(inviteId)) return { sent: false };
  const now = clock();
  const token = randomToken();
  const expiresAt = new Date(now.getTime() + INVITE_TTL_MS);
  const [invite] = await db
    .update(staffInvites)
    .set({ tokenHash: inviteHash(token), expiresAt })
    .where(and(eq(staffInvites.id, inviteId), isNull(staffInvites.usedAt), gt(staffInvites.expiresAt, now)))
    .returning(inviteColumns);
  if (!invite) return { sent: false };
  await sendEmail({
    to: invite.email,
    template: "staff-invitation",
    props: { inviteUrl: staffInviteUrl(token), roleLabel: staffRoleLabels[invite.role], expiresLabel: utcLabel(expiresAt) },
  });
  await appendEvent(db, { actorType: "system", actorId: "send-staff-invitation", action: "staff.invite_sent", details: { inviteId: invite.id } }, clock);
  return { sent: true };
}

/** The pending invitation for a token, or null (unknown, used or expired). */
export async function findStaffInvite(db: Executor, token: string, clock: Clock = systemClock): Promise<StaffInvite | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const [row] = await db
    .select(inviteColumns)
    .from(staffInvites)
    .where(and(eq(staffInvites.tokenHash, inviteHash(token)), isNull(staffInvites.usedAt), gt(staffInvites.expiresAt, clock())))
    .limit(1);
  return row ?? null;
}

/** Invitations not yet used and not expired, newest first. */
export async function listPendingInvites(db: Executor, clock: Clock = systemClock): Promise<StaffInvite[]> {
  return db
    .select(inviteColumns)
    .from(staffInvites)
    .where(and(isNull(staffInvites.usedAt), gt(staffInvites.expiresAt, clock())))
    .orderBy(desc(staffInvites.createdAt));
}

export class InviteInvalidError extends DomainError {
  constructor() {
    super("invite_invalid", "This invitation link is not valid any more. Ask an administrator for a new one.", 410);
    this.name = "InviteInvalidError";
  }
}

/**
 * Accepts an invitation: creates the account (password policy applied) and uses up the token, atomically — a
 * refused password leaves the invitation usable, and two concurrent acceptances create one account.
 */
export async function acceptStaffInvite(
  db: Executor,
  token: string,
  input: { name: string; password: string },
  clock: Clock = systemClock,
): Promise<Staff> {
  if (!TOKEN_SHAPE.test(token)) throw new InviteInvalidError();
  const now = clock();
  return db.transaction(async (tx) => {
    const [invite] = await tx
      .update(staffInvites)
      .set({ usedAt: now })
      .where(and(eq(staffInvites.tokenHash, inviteHash(token)), isNull(staffInvites.usedAt), gt(staffInvites.expiresAt, now)))
      .returning(inviteColumns);
    if (!invite) throw new InviteInvalidError();
    const staff = await createStaff(tx, { email: invite.email, name: input.name, role: invite.role, password: input.password }, clock);
    await appendEvent(tx, { actorType: "staff", actorId: staff.id, action: "staff.created", details: { via: "invite", inviteId: invite.id, role: staff.role } }, clock);
    return staff;
  });
}

