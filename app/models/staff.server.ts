/**
 * Staff accounts and their database-backed sessions.
 *
 * - Passwords: argon2id (OWASP minimum: 19 MiB, 2 passes, 1 lane); a hash made with weaker parameters is
 *   upgraded on the next successful sign-in.
 * - Sign-in does the same argon2 work whether or not the email exists, so timing does not reveal accounts.
 * - Sessions: the cookie carries a 256-bit random token, the row only its SHA-256, so a database leak does not
 *   hand out sessions. A session ends after 30 minutes without a request (idle) or 12 hours after sign-in
 *   (absolute), whichever comes first; `lastSeenAt` is written at most once a minute.
 *
 * Functions return `Staff` (the row without `passwordHash`), so a loader cannot leak the hash by returning it.
 * MFA and role checks layer on top: a session row can later carry an MFA step, `requireStaff` a role list.
 */
import { hash, parseOptions, verify, type Algorithm, type Options } from "@node-rs/argon2";
import { and, eq, lt, lte, or } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { staffRoles, staffSessions, staffUsers, type StaffRole, type StaffUserRow } from "#db/schema/index.ts";
import { normalizeEmail, randomToken, sha256Hex } from "#app/utils/crypto.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { DomainError } from "./errors.ts";

/** What the app may know of a staff member: never the password hash or the MFA secret. */
export type Staff = Pick<StaffUserRow, "id" | "email" | "name" | "role" | "createdAt" | "disabledAt">;

export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase or manager-generated password; bounds the work an attacker can make us do. */
export const MAX_PASSWORD_LENGTH = 256;
export const SESSION_IDLE_TIMEOUT_MS = 30 * 60 * 1000;
export const SESSION_ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** `lastSeenAt` is refreshed at most this often (one write per minute per active session, not per request). */
export const SESSION_TOUCH_INTERVAL_MS = 60 * 1000;

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

function toStaff({ passwordHash: _omit, ...staff }: StaffUserRow): Staff {
  return staff;
}

/** The password rules, for forms that want to check before submitting; throws `StaffInputError`. */
export function checkPasswordPolicy(password: string, email: string) {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw new StaffInputError("password", "password_too_short", `Use at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw new StaffInputError("password", "password_too_long", `Use at most ${MAX_PASSWORD_LENGTH} characters.`);
  }
  const local = normalizeEmail(email).split("@")[0] ?? "";
  // A one- or two-letter local part would forbid half the alphabet; the rule targets "jane.doe…" style passwords.
  if (local.length >= 3 && password.normalize("NFKC").toLowerCase().includes(local)) {
    throw new StaffInputError("password", "password_contains_email", "Your password must not contain the part of your email address before the @.");
  }
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

export async function createStaff(
  db: Executor,
  input: { email: string; name: string; role: StaffRole; password: string },
): Promise<Staff> {
  const email = normalizeEmail(input.email);
  if (!EMAIL_SHAPE.test(email) || email.length > 254) {
    throw new StaffInputError("email", "invalid_email", "Enter a valid email address.");
  }
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) {
    throw new StaffInputError("name", "invalid_name", "Enter a name of 1 to 200 characters.");
  }
  if (!staffRoles.includes(input.role)) throw new StaffInputError("role", "invalid_role", "Choose a role from the list.");
  checkPasswordPolicy(input.password, email);

  const passwordHash = await hashPassword(input.password);
  const [row] = await db
    .insert(staffUsers)
    .values({ email, name, role: input.role, passwordHash })
    .onConflictDoNothing({ target: staffUsers.email })
    .returning(publicColumns);
  if (!row) throw new StaffInputError("email", "email_taken", "A staff account with this email already exists.");
  return row;
}

export async function getStaffById(db: Executor, id: string): Promise<Staff | undefined> {
  const [row] = await db.select(publicColumns).from(staffUsers).where(eq(staffUsers.id, id)).limit(1);
  return row;
}

/**
 * A real argon2id hash (of a random password nobody knows) with today's parameters, verified against when the
 * email is unknown so that path costs the same as a wrong password. Precomputed, so even the first unknown email
 * in a process is not slower; if the policy changes, a fresh one is made once instead.
 */
const DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$38J32o6k4YL0Ert6FXgWkg$duOOpcP9+jDy4Tk4Gtzfzj4JghdVadpwdyHxPDYMmVE";
let dummyHash: Promise<string> | undefined;
function getDummyHash() {
  dummyHash ??= passwordNeedsRehash(DUMMY_HASH) ? hashPassword(randomToken()) : Promise.resolve(DUMMY_HASH);
  return dummyHash;
}

/**
 * The staff member for this email and password, or null (unknown email, wrong password, disabled account).
 * The caller rate-limits attempts (per email and per IP) and shows one message for every failure.
 */
export async function authenticateStaff(db: Executor, email: string, password: string): Promise<Staff | null> {
  const normalized = normalizeEmail(email);
  const [row] = normalized ? await db.select().from(staffUsers).where(eq(staffUsers.email, normalized)).limit(1) : [];
  const tooLong = [...password].length > MAX_PASSWORD_LENGTH;
  // Same argon2 work on every path: the stored hash, or the dummy one when there is no usable account.
  const stored = row && !tooLong ? row.passwordHash : await getDummyHash();
  const candidate = tooLong ? "" : password;
  let matches = false;
  try {
    matches = await verify(stored, candidate);
  } catch {
    matches = false; // a corrupt stored hash fails closed
  }
  if (!row || tooLong || !matches || row.disabledAt !== null) return null;
  if (passwordNeedsRehash(row.passwordHash)) {
    await db.update(staffUsers).set({ passwordHash: await hashPassword(password) }).where(eq(staffUsers.id, row.id));
  }
  return toStaff(row);
}

export async function setStaffPassword(db: Executor, staffId: string, password: string): Promise<void> {
  const staff = await getStaffById(db, staffId);
  if (!staff) throw new Error("staff not found");
  checkPasswordPolicy(password, staff.email);
  await db.update(staffUsers).set({ passwordHash: await hashPassword(password) }).where(eq(staffUsers.id, staffId));
  await destroyAllStaffSessions(db, staffId); // a password change signs out every other device
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
const tokenHash = (token: string) => sha256Hex(token);

export async function createStaffSession(
  db: Executor,
  staffId: string,
  clock: Clock = systemClock,
): Promise<{ token: string; expiresAt: Date }> {
  const now = clock();
  const token = randomToken();
  const expiresAt = new Date(now.getTime() + SESSION_ABSOLUTE_TIMEOUT_MS);
  await db.insert(staffSessions).values({ staffId, tokenHash: tokenHash(token), createdAt: now, lastSeenAt: now, expiresAt });
  return { token, expiresAt };
}

/**
 * The signed-in staff member for a session token, or null. An expired session (idle or absolute) is deleted,
 * and so is the session of a disabled account.
 */
export async function getStaffBySessionToken(db: Executor, token: string, clock: Clock = systemClock): Promise<Staff | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const [found] = await db
    .select({ session: staffSessions, staff: publicColumns })
    .from(staffSessions)
    .innerJoin(staffUsers, eq(staffUsers.id, staffSessions.staffId))
    .where(eq(staffSessions.tokenHash, tokenHash(token)))
    .limit(1);
  if (!found) return null;
  const { session, staff } = found;
  const now = clock().getTime();
  const expired = now >= session.expiresAt.getTime() || now - session.lastSeenAt.getTime() >= SESSION_IDLE_TIMEOUT_MS;
  if (expired || staff.disabledAt !== null) {
    await db.delete(staffSessions).where(eq(staffSessions.id, session.id));
    return null;
  }
  if (now - session.lastSeenAt.getTime() >= SESSION_TOUCH_INTERVAL_MS) {
    await db
      .update(staffSessions)
      .set({ lastSeenAt: new Date(now) })
      .where(and(eq(staffSessions.id, session.id), lt(staffSessions.lastSeenAt, new Date(now))));
  }
  return staff;
}

export async function destroyStaffSession(db: Executor, token: string): Promise<void> {
  if (!TOKEN_SHAPE.test(token)) return;
  await db.delete(staffSessions).where(eq(staffSessions.tokenHash, tokenHash(token)));
}

/** Signs a staff member out everywhere; returns how many sessions ended. */
export async function destroyAllStaffSessions(db: Executor, staffId: string): Promise<number> {
  const rows = await db.delete(staffSessions).where(eq(staffSessions.staffId, staffId)).returning({ id: staffSessions.id });
  return rows.length;
}

/** Deletes sessions past their absolute or idle limit (for a scheduled cleanup job); returns how many. */
export async function purgeExpiredStaffSessions(db: Executor, clock: Clock = systemClock): Promise<number> {
  const now = clock();
  const idleCutoff = new Date(now.getTime() - SESSION_IDLE_TIMEOUT_MS);
  const rows = await db
    .delete(staffSessions)
    .where(or(lte(staffSessions.expiresAt, now), lte(staffSessions.lastSeenAt, idleCutoff)))
    .returning({ id: staffSessions.id });
  return rows.length;
}
