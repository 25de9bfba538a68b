/**
 * Staff MFA: TOTP enrolment and verification with replay protection, single-use recovery codes, the QR code.
 *
 * - The TOTP secret is encrypted at rest (`encrypt`, bound to the column and the staff id). Enrolment stores a
 *   pending secret (`totpEnrolledAt` null) so a reload of the enrolment page shows the same key; the first valid
 *   code confirms it.
 * - A code is accepted within ±1 step (30 s) and never twice: the accepted step is written to `totpLastStep` with a
 *   conditional UPDATE (`… where totp_last_step < step`), so even two concurrent requests cannot both use a code.
 * - Recovery codes: 10 per enrolment, 80 random bits each, shown once; only a SHA-256 bound to the staff id is
 *   stored (80 bits make an offline search hopeless, so no key or slow hash is needed). Using one is a
 *   conditional UPDATE too (single use).
 * - Attempts are rate-limited in Redis per account and per IP (`checkMfaAttempt`); the login's password lockout
 *   is separate.
 */
import { randomBytes } from "node:crypto";
import { and, count, eq, isNull, lt, or } from "drizzle-orm";
import { encode } from "uqr";
import type { Executor } from "#db/client.server.ts";
import { staffRecoveryCodes, staffSessions, staffUsers } from "#db/schema/index.ts";
import { decrypt, DecryptionError, encrypt, sha256Hex } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { rateLimit, resetRateLimit } from "#app/utils/rate-limit.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { base32Decode, base32Encode, formatManualKey, generateTotpSecret, matchTotp, normalizeTotpCode, otpauthUri, totp } from "./totp.ts";

export const RECOVERY_CODE_COUNT = 10;
/** MFA code attempts allowed per account and per IP in `MFA_ATTEMPT_WINDOW_SECONDS`. */
export const MFA_ATTEMPTS_PER_ACCOUNT = 10;
export const MFA_ATTEMPTS_PER_IP = 30;
export const MFA_ATTEMPT_WINDOW_SECONDS = 15 * 60;

const secretContext = (staffId: string) => `staff_users.totp_secret:${staffId}`;

function encryptSecret(staffId: string, secret: Buffer) {
  return encrypt(base32Encode(secret), secretContext(staffId));
}

function decryptSecret(staffId: string, ciphertext: string): Buffer {
  return base32Decode(decrypt(ciphertext, secretContext(staffId)));
}

async function loadMfaRow(db: Executor, staffId: string) {
  const [row] = await db
    .select({
      email: staffUsers.email,
      ciphertext: staffUsers.totpSecretCiphertext,
      enrolledAt: staffUsers.totpEnrolledAt,
      lastStep: staffUsers.totpLastStep,
    })
    .from(staffUsers)
    .where(eq(staffUsers.id, staffId))
    .limit(1);
  return row;
}

/** The issuer an authenticator app shows next to the code. */
export function totpIssuer(): string {
  return `${getEnv().ORG_NAME} Privacy Portal`;
}

export type TotpEnrolment = {
  /** The secret in base32 — what a person types into an authenticator app. */
  secret: string;
  /** The same, in groups of four for reading. */
  manualKey: string;
  /** The otpauth:// URI the QR code encodes. */
  uri: string;
};

/** True once the staff member confirmed a TOTP secret. */
export async function isMfaEnrolled(db: Executor, staffId: string): Promise<boolean> {
  return (await loadMfaRow(db, staffId))?.enrolledAt != null;
}

/**
 * The pending secret of a staff member who has not enrolled yet, created on first call (so a reload shows the
 * same key). Throws if the staff member already enrolled: an enrolled secret is never shown again.
 */
export async function startTotpEnrolment(db: Executor, staffId: string): Promise<TotpEnrolment> {
  const row = await loadMfaRow(db, staffId);
  if (!row) throw new Error("staff not found");
  if (row.enrolledAt) throw new Error("already enrolled");
  let secret: Buffer | undefined;
  if (row.ciphertext) {
    try {
      secret = decryptSecret(staffId, row.ciphertext);
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error; // a key removed from the ring: start over below
    }
  }
  if (!secret) {
    secret = generateTotpSecret();
    await db.update(staffUsers).set({ totpSecretCiphertext: encryptSecret(staffId, secret), totpLastStep: null }).where(eq(staffUsers.id, staffId));
  }
  const base32 = base32Encode(secret);
  return { secret: base32, manualKey: formatManualKey(base32), uri: otpauthUri({ secretBase32: base32, issuer: totpIssuer(), account: row.email }) };
}

export type TotpCheck = "ok" | "invalid" | "replayed";

/** Records `step` as used unless a step at or after it was already used; true when this call won. */
async function claimStep(db: Executor, staffId: string, step: number) {
  const rows = await db
    .update(staffUsers)
    .set({ totpLastStep: step })
    .where(and(eq(staffUsers.id, staffId), or(isNull(staffUsers.totpLastStep), lt(staffUsers.totpLastStep, step))))
    .returning({ id: staffUsers.id });
  return rows.length > 0;
}

async function checkCode(db: Executor, staffId: string, code: string, clock: Clock, wantEnrolled: boolean): Promise<TotpCheck> {
  const clean = normalizeTotpCode(code);
  const row = await loadMfaRow(db, staffId);
  if (!clean || !row?.ciphertext || (row.enrolledAt !== null) !== wantEnrolled) return "invalid";
  let secret: Buffer;
  try {
    secret = decryptSecret(staffId, row.ciphertext);
  } catch {
    return "invalid";
  }
  const now = clock().getTime();
  const step = matchTotp(secret, clean, now, { afterStep: row.lastStep });
  if (step === null) {
    // Valid but already used (or older than the last accepted code)?
    return matchTotp(secret, clean, now) !== null ? "replayed" : "invalid";
  }
  return (await claimStep(db, staffId, step)) ? "ok" : "replayed";
}

/**
 * Confirms enrolment with the first code from the app: marks MFA enrolled, creates the recovery codes (returned
 * once, for showing) and appends `staff.mfa_enrolled`. Null when the code is wrong.
 */
export async function confirmTotpEnrolment(db: Executor, staffId: string, code: string, clock: Clock = systemClock): Promise<{ recoveryCodes: string[] } | null> {
  if ((await checkCode(db, staffId, code, clock, false)) !== "ok") return null;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(staffUsers)
      .set({ totpEnrolledAt: clock() })
      .where(and(eq(staffUsers.id, staffId), isNull(staffUsers.totpEnrolledAt)))
      .returning({ id: staffUsers.id });
    if (!row) return null; // enrolled concurrently
    const recoveryCodes = await replaceRecoveryCodes(tx, staffId, clock);
    await appendEvent(tx, { actorType: "staff", actorId: staffId, action: "staff.mfa_enrolled", details: { method: "totp", recoveryCodes: recoveryCodes.length } }, clock);
    return { recoveryCodes };
  });
}

/** Checks a code of an enrolled staff member; "ok" uses it up (the same code is "replayed" afterwards). */
export async function verifyTotpCode(db: Executor, staffId: string, code: string, clock: Clock = systemClock): Promise<TotpCheck> {
  return checkCode(db, staffId, code, clock, true);
}

/**
 * Enrols a staff member with a given (or new) secret without a confirming code — for the demo seed and for tests,
 * where nobody scans a QR code. Returns the secret in base32. Not reachable from any page.
 */
export async function provisionTotp(db: Executor, staffId: string, secretBase32?: string, clock: Clock = systemClock): Promise<string> {
  const secret = secretBase32 ? base32Decode(secretBase32) : generateTotpSecret();
  if (secret.length < 10) throw new Error("a TOTP secret needs at least 80 bits");
  await db
    .update(staffUsers)
    .set({ totpSecretCiphertext: encryptSecret(staffId, secret), totpEnrolledAt: clock(), totpLastStep: null })
    .where(eq(staffUsers.id, staffId));
  return base32Encode(secret);
}

/** The decrypted secret (base32) of a staff member, or null — for the demo banner and `staff:totp` outside production. */
export async function readTotpSecret(db: Executor, staffId: string): Promise<string | null> {
  const row = await loadMfaRow(db, staffId);
  if (!row?.ciphertext) return null;
  try {
    return base32Encode(decryptSecret(staffId, row.ciphertext));
  } catch {
    return null;
  }
}

/** The current code for a base32 secret (the `staff:totp` command, tests). */
export function currentTotpCode(secretBase32: string, clock: Clock = systemClock): string {
  return totp(base32Decode(secretBase32), clock().getTime());
}

/**
 * Removes a staff member's MFA (lost phone and recovery codes): secret, recovery codes and every session. They
 * enrol again at the next sign-in. Operator action (`npm run portal -- staff:reset-mfa`); audited.
 */
export async function resetMfa(db: Executor, staffId: string, actor: { type: "staff" | "system"; id: string }, clock: Clock = systemClock): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.update(staffUsers).set({ totpSecretCiphertext: null, totpEnrolledAt: null, totpLastStep: null }).where(eq(staffUsers.id, staffId));
    await tx.delete(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffId, staffId));
    await tx.delete(staffSessions).where(eq(staffSessions.staffId, staffId));
    await appendEvent(tx, { actorType: actor.type, actorId: actor.id, action: "staff.mfa_reset", details: { staffId } }, clock);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Recovery codes

/** Crockford's base32 alphabet: no I, L, O, U, so a code read aloud or from paper is unambiguous. */
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

function newRecoveryCode(): string {
  const bytes = randomBytes(10); // 80 bits → 16 characters
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out.match(/.{4}/g)!.join("-");
}

/** Lower-case, without spaces and hyphens, with the look-alikes people type mapped (i/l → 1, o → 0). */
export function normalizeRecoveryCode(code: string): string | null {
  const clean = code.toLowerCase().replace(/[\s-]/g, "").replace(/[il]/g, "1").replace(/o/g, "0");
  return /^[0-9a-hjkmnp-tv-z]{16}$/.test(clean) ? clean : null;
}

const recoveryHash = (staffId: string, normalized: string) => sha256Hex(`staff-recovery-code\0${staffId}\0${normalized}`);

async function replaceRecoveryCodes(db: Executor, staffId: string, clock: Clock): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const now = clock();
  await db.delete(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffId, staffId));
  await db.insert(staffRecoveryCodes).values(codes.map((c) => ({ staffId, codeHash: recoveryHash(staffId, normalizeRecoveryCode(c)!), createdAt: now })));
  return codes;
}

/** New recovery codes replacing all earlier ones (returned once, for showing); appends `staff.recovery_codes_regenerated`. */
export async function regenerateRecoveryCodes(db: Executor, staffId: string, clock: Clock = systemClock): Promise<string[]> {
  return db.transaction(async (tx) => {
    const codes = await replaceRecoveryCodes(tx, staffId, clock);
    await appendEvent(tx, { actorType: "staff", actorId: staffId, action: "staff.recovery_codes_regenerated", details: { count: codes.length } }, clock);
    return codes;
  });
}

/** Unused recovery codes left. */
export async function countRecoveryCodes(db: Executor, staffId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(staffRecoveryCodes)
    .where(and(eq(staffRecoveryCodes.staffId, staffId), isNull(staffRecoveryCodes.usedAt)));
  return row?.n ?? 0;
}

/** Uses up one recovery code; true if it was valid and unused. Appends `staff.recovery_code_used` (with the count left). */
export async function redeemRecoveryCode(db: Executor, staffId: string, code: string, clock: Clock = systemClock): Promise<boolean> {
  const clean = normalizeRecoveryCode(code);
  if (!clean) return false;
  return db.transaction(async (tx) => {
    const used = await tx
      .update(staffRecoveryCodes)
      .set({ usedAt: clock() })
      .where(and(eq(staffRecoveryCodes.staffId, staffId), eq(staffRecoveryCodes.codeHash, recoveryHash(staffId, clean)), isNull(staffRecoveryCodes.usedAt)))
      .returning({ id: staffRecoveryCodes.id });
    if (used.length === 0) return false;
    const remaining = await countRecoveryCodes(tx, staffId);
    await appendEvent(tx, { actorType: "staff", actorId: staffId, action: "staff.recovery_code_used", details: { remaining } }, clock);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Rate limit and QR code

/**
 * Counts one MFA code attempt (sign-in, enrolment or step-up) against the account and the client IP; false when
 * either is over its limit. `succeeded` clears the account's count after a valid code.
 */
export async function checkMfaAttempt({ staffId, ip }: { staffId: string; ip: string }): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const [byAccount, byIp] = await Promise.all([
    rateLimit({ bucket: "mfa-account", key: staffId, limit: MFA_ATTEMPTS_PER_ACCOUNT, windowSeconds: MFA_ATTEMPT_WINDOW_SECONDS }),
    rateLimit({ bucket: "mfa-ip", key: ip, limit: MFA_ATTEMPTS_PER_IP, windowSeconds: MFA_ATTEMPT_WINDOW_SECONDS }),
  ]);
  return { allowed: byAccount.allowed && byIp.allowed, retryAfterSeconds: Math.max(byAccount.retryAfterSeconds, byIp.retryAfterSeconds) };
}

export async function clearMfaAttempts(staffId: string): Promise<void> {
  await resetRateLimit({ bucket: "mfa-account", key: staffId });
}

/**
 * A QR code as one SVG path (dark modules, 1 unit each, quiet zone included) — rendered by the page as an inline
 * <svg>, so no script, no image request and no third-party service ever sees the secret.
 */
export function qrCodePath(text: string): { size: number; path: string } {
  const { size, data } = encode(text, { ecc: "M", border: 4 });
  const parts: string[] = [];
  data.forEach((row, y) => {
    for (let x = 0; x < size; x++) {
      if (!row[x]) continue;
      let run = 1;
      while (x + run < size && row[x + run]) run++;
      parts.push(`M${x} ${y}h${run}v1h-${run}z`);
      x += run - 1;
    }
  });
  return { size, path: parts.join("") };
}
