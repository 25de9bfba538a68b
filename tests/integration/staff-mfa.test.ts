/**
 * Staff MFA and sign-in rules at the model level, against the real database with an injected clock: lockout,
 * TOTP enrolment and replay protection, recovery codes, invitations, the password policy and its maximum age.
 */
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  confirmTotpEnrolment,
  countRecoveryCodes,
  normalizeRecoveryCode,
  provisionTotp,
  regenerateRecoveryCodes,
  resetMfa,
  startTotpEnrolment,
  redeemRecoveryCode,
  verifyTotpCode,
} from "#app/models/mfa.server.ts";
import { isCommonPassword, isRepetitiveOrSequential, parsePasswordList } from "#app/models/passwords.ts";
import {
  acceptStaffInvite,
  commonPasswords,
  createStaff,
  createStaffInvite,
  findStaffInvite,
  InviteInvalidError,
  INVITE_TTL_MS,
  isPasswordExpired,
  LOCKOUT_MAX_MS,
  lockoutDurationMs,
  signInWithPassword,
  StaffInputError,
} from "#app/models/staff.server.ts";
import { base32Decode, totpAtStep, totpStep } from "#app/models/totp.ts";
import { getDb } from "#db/client.server.ts";
import { requestEvents, staffInvites, staffRecoveryCodes, staffUsers } from "#db/schema/index.ts";

const db = () => getDb();
const PASSWORD = "correct horse battery staple";
let n = 0;
const uniqueEmail = () => `mfa.member${++n}-${Date.now().toString(36)}@example.com`;
const MIN = 60_000;

function manualClock(start = new Date("2026-03-02T10:00:00.000Z")) {
  let now = start.getTime();
  const clock = () => new Date(now);
  return Object.assign(clock, { advance: (ms: number) => (now += ms), set: (ms: number) => (now = ms) });
}

async function newStaff(role: "admin" | "processor" | "auditor" = "processor") {
  const email = uniqueEmail();
  return createStaff(db(), { email, name: "Mo", role, password: PASSWORD });
}

async function eventsOf(action: string) {
  return db().select().from(requestEvents).where(eq(requestEvents.action, action));
}

describe("lockout", () => {
  it("locks after 5 failures for 1 minute, refuses even the right password meanwhile, then lets the owner in", async () => {
    const staff = await newStaff();
    const clock = manualClock();
    for (let i = 1; i <= 4; i++) {
      await expect(signInWithPassword(db(), staff.email, "wrong password!!", clock)).resolves.toMatchObject({ ok: false, reason: "wrong_password" });
    }
    const fifth = await signInWithPassword(db(), staff.email, "wrong password!!", clock);
    expect(fifth).toMatchObject({ ok: false, reason: "wrong_password" });
    expect((fifth as { lockedUntil: Date }).lockedUntil.getTime()).toBe(clock().getTime() + MIN);

    clock.advance(MIN - 1000);
    await expect(signInWithPassword(db(), staff.email, PASSWORD, clock)).resolves.toMatchObject({ ok: false, reason: "locked" });
    // Attempts during the lock do not extend it.
    for (let i = 0; i < 5; i++) await signInWithPassword(db(), staff.email, "wrong password!!", clock);
    clock.advance(1000);
    await expect(signInWithPassword(db(), staff.email, PASSWORD, clock)).resolves.toMatchObject({ ok: true, staff: { id: staff.id } });
    const [row] = await db().select().from(staffUsers).where(eq(staffUsers.id, staff.id));
    expect(row).toMatchObject({ failedSignIns: 0, lockedUntil: null });

    const locks = (await eventsOf("staff.locked_out")).filter((e) => e.details.staffId === staff.id);
    expect(locks).toHaveLength(1);
    expect(locks[0]!.details).toMatchObject({ failures: 5, seconds: 60 });
  });

  it("doubles the lock with every further failure, capped at 15 minutes, and forgets a lock an hour old", async () => {
    expect([4, 5, 6, 7, 8, 9, 10, 50].map(lockoutDurationMs)).toEqual([0, 1, 2, 4, 8, 15, 15, 15].map((m) => m * MIN));
    const staff = await newStaff();
    const clock = manualClock();
    const fail = () => signInWithPassword(db(), staff.email, "wrong password!!", clock);
    for (let i = 0; i < 4; i++) await fail();
    const locks: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = (await fail()) as { lockedUntil?: Date };
      const ms = r.lockedUntil!.getTime() - clock().getTime();
      locks.push(ms / MIN);
      clock.advance(ms); // wait the lock out, then fail again
    }
    expect(locks).toEqual([1, 2, 4, 8, 15, 15]);
    expect(Math.max(...locks) * MIN).toBe(LOCKOUT_MAX_MS);

    clock.advance(61 * MIN); // an hour after the last lock ended, the count starts over
    await expect(fail()).resolves.not.toHaveProperty("lockedUntil");
  });

  it("answers an unknown email, a wrong password and a locked account alike, and records no email", async () => {
    const staff = await newStaff();
    const clock = manualClock();
    const unknown = await signInWithPassword(db(), "nobody-here@example.com", PASSWORD, clock);
    expect(unknown).toEqual({ ok: false, reason: "unknown_account", staffId: undefined });
    for (let i = 0; i < 5; i++) await signInWithPassword(db(), staff.email, "wrong password!!", clock);
    await expect(signInWithPassword(db(), staff.email, PASSWORD, clock)).resolves.toMatchObject({ ok: false, reason: "locked" });
    const failed = await eventsOf("staff.sign_in_failed");
    expect(failed.map((e) => e.details.reason)).toEqual(expect.arrayContaining(["unknown_account", "wrong_password", "locked"]));
    for (const e of failed) expect(JSON.stringify(e)).not.toMatch(/@/);
  });

  it("a disabled account cannot sign in and does not count failures", async () => {
    const staff = await newStaff();
    await db().update(staffUsers).set({ disabledAt: new Date() }).where(eq(staffUsers.id, staff.id));
    await expect(signInWithPassword(db(), staff.email, PASSWORD)).resolves.toMatchObject({ ok: false, reason: "disabled" });
  });
});

describe("TOTP enrolment and verification", () => {
  it("keeps the pending secret across reloads, stores it encrypted, confirms with a valid code and makes 10 recovery codes", async () => {
    const staff = await newStaff();
    const first = await startTotpEnrolment(db(), staff.id);
    const again = await startTotpEnrolment(db(), staff.id);
    expect(again.secret).toBe(first.secret);
    expect(first.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(first.uri).toContain(`secret=${first.secret}`);
    const [row] = await db().select().from(staffUsers).where(eq(staffUsers.id, staff.id));
    expect(row!.totpSecretCiphertext).toMatch(/^v1\./);
    expect(row!.totpSecretCiphertext).not.toContain(first.secret);
    expect(row!.totpEnrolledAt).toBeNull();

    const clock = manualClock();
    const secret = base32Decode(first.secret);
    const step = totpStep(clock().getTime());
    await expect(confirmTotpEnrolment(db(), staff.id, totpAtStep(secret, step + 5), clock)).resolves.toBeNull();
    await expect(verifyTotpCode(db(), staff.id, totpAtStep(secret, step), clock)).resolves.toBe("invalid"); // not enrolled yet
    const enrolled = await confirmTotpEnrolment(db(), staff.id, totpAtStep(secret, step), clock);
    expect(enrolled!.recoveryCodes).toHaveLength(10);
    for (const c of enrolled!.recoveryCodes) expect(c).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    expect(new Set(enrolled!.recoveryCodes).size).toBe(10);

    const stored = await db().select().from(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffId, staff.id));
    expect(stored).toHaveLength(10);
    const dump = JSON.stringify(stored);
    for (const c of enrolled!.recoveryCodes) {
      expect(dump).not.toContain(c);
      expect(dump).not.toContain(normalizeRecoveryCode(c)!);
    }
    await expect(startTotpEnrolment(db(), staff.id)).rejects.toThrow(/already enrolled/);
    const events = (await eventsOf("staff.mfa_enrolled")).filter((e) => e.actorId === staff.id);
    expect(events).toHaveLength(1);
  });

  it("accepts a code once (replay refused), ±1 step, never an older step than the last used", async () => {
    const staff = await newStaff();
    const clock = manualClock();
    const secret = base32Decode(await provisionTotp(db(), staff.id));
    const step = totpStep(clock().getTime());
    const at = (s: number) => totpAtStep(secret, s);

    await expect(verifyTotpCode(db(), staff.id, at(step - 1), clock)).resolves.toBe("ok");
    await expect(verifyTotpCode(db(), staff.id, at(step - 1), clock)).resolves.toBe("replayed");
    await expect(verifyTotpCode(db(), staff.id, at(step), clock)).resolves.toBe("ok");
    await expect(verifyTotpCode(db(), staff.id, at(step), clock)).resolves.toBe("replayed");
    await expect(verifyTotpCode(db(), staff.id, at(step + 1), clock)).resolves.toBe("ok");
    // Back in time: the code of the current step is now older than the last one used.
    await expect(verifyTotpCode(db(), staff.id, at(step), clock)).resolves.toBe("replayed");
    if (![at(step), at(step + 1), at(step - 1)].includes(at(step + 3))) {
      await expect(verifyTotpCode(db(), staff.id, at(step + 3), clock)).resolves.toBe("invalid");
    }
    await expect(verifyTotpCode(db(), staff.id, "12345", clock)).resolves.toBe("invalid");
    clock.advance(60_000);
    await expect(verifyTotpCode(db(), staff.id, at(step + 2), clock)).resolves.toBe("ok");
  });

  it("lets exactly one of two concurrent requests use the same code", async () => {
    const staff = await newStaff();
    const clock = manualClock();
    const secret = base32Decode(await provisionTotp(db(), staff.id));
    const code = totpAtStep(secret, totpStep(clock().getTime()));
    const results = await Promise.all(Array.from({ length: 5 }, () => verifyTotpCode(db(), staff.id, code, clock)));
    expect(results.filter((r) => r === "ok")).toHaveLength(1);
    expect(results.filter((r) => r === "replayed")).toHaveLength(4);
  });
});

describe("recovery codes", () => {
  it("are single-use, accept what people type, belong to one account and are replaced together", async () => {
    const staff = await newStaff();
    const other = await newStaff();
    await provisionTotp(db(), staff.id);
    const codes = await regenerateRecoveryCodes(db(), staff.id);
    expect(await countRecoveryCodes(db(), staff.id)).toBe(10);

    await expect(redeemRecoveryCode(db(), other.id, codes[0]!)).resolves.toBe(false);
    await expect(redeemRecoveryCode(db(), staff.id, ` ${codes[0]!.toUpperCase().replaceAll("-", " ")} `)).resolves.toBe(true);
    await expect(redeemRecoveryCode(db(), staff.id, codes[0]!)).resolves.toBe(false);
    await expect(redeemRecoveryCode(db(), staff.id, "not-a-code")).resolves.toBe(false);
    expect(await countRecoveryCodes(db(), staff.id)).toBe(9);
    const used = (await eventsOf("staff.recovery_code_used")).filter((e) => e.actorId === staff.id);
    expect(used.map((e) => e.details)).toEqual([{ remaining: 9 }]);

    const fresh = await regenerateRecoveryCodes(db(), staff.id);
    await expect(redeemRecoveryCode(db(), staff.id, codes[1]!)).resolves.toBe(false);
    await expect(redeemRecoveryCode(db(), staff.id, fresh[1]!)).resolves.toBe(true);
  });

  it("an MFA reset removes secret, codes and sessions", async () => {
    const staff = await newStaff();
    await provisionTotp(db(), staff.id);
    await regenerateRecoveryCodes(db(), staff.id);
    await resetMfa(db(), staff.id, { type: "system", id: "cli" });
    const [row] = await db().select().from(staffUsers).where(eq(staffUsers.id, staff.id));
    expect(row).toMatchObject({ totpSecretCiphertext: null, totpEnrolledAt: null, totpLastStep: null });
    expect(await countRecoveryCodes(db(), staff.id)).toBe(0);
  });
});

describe("invitations", () => {
  it("are single-use, expire after 72 hours and store only a hash of the token", async () => {
    const admin = await newStaff("admin");
    const email = uniqueEmail();
    const clock = manualClock();
    const { token, invite } = await createStaffInvite(db(), { email, role: "auditor", invitedBy: admin.id }, clock);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [row] = await db().select().from(staffInvites).where(eq(staffInvites.id, invite.id));
    expect(row!.tokenHash).not.toContain(token);
    expect(row!.expiresAt.getTime() - clock().getTime()).toBe(INVITE_TTL_MS);
    await expect(findStaffInvite(db(), token, clock)).resolves.toMatchObject({ email, role: "auditor" });

    // A refused password leaves the invitation usable.
    const weak = await acceptStaffInvite(db(), token, { name: "Ivy", password: "Password2024!" }, clock).catch((e: unknown) => e);
    expect(weak).toBeInstanceOf(StaffInputError);
    expect(weak).toMatchObject({ code: "password_common" });
    const staff = await acceptStaffInvite(db(), token, { name: "Ivy", password: PASSWORD }, clock);
    expect(staff).toMatchObject({ email, role: "auditor", name: "Ivy" });
    await expect(acceptStaffInvite(db(), token, { name: "Eve", password: PASSWORD }, clock)).rejects.toBeInstanceOf(InviteInvalidError);
    await expect(findStaffInvite(db(), token, clock)).resolves.toBeNull();

    const late = await createStaffInvite(db(), { email: uniqueEmail(), role: "processor", invitedBy: admin.id }, clock);
    clock.advance(INVITE_TTL_MS);
    await expect(findStaffInvite(db(), late.token, clock)).resolves.toBeNull();
    await expect(acceptStaffInvite(db(), late.token, { name: "Late", password: PASSWORD }, clock)).rejects.toBeInstanceOf(InviteInvalidError);

    const invited = await db().select().from(requestEvents).where(and(eq(requestEvents.action, "staff.invited"), eq(requestEvents.actorId, admin.id)));
    expect(invited.length).toBe(2);
    for (const e of invited) expect(JSON.stringify(e.details)).not.toContain("@");
    const created = await db().select().from(requestEvents).where(inArray(requestEvents.action, ["staff.created"]));
    expect(created.some((e) => e.actorId === staff.id)).toBe(true);
  });

  it("refuses an address that already has an account, and a new invitation replaces an older one", async () => {
    const existing = await newStaff();
    await expect(createStaffInvite(db(), { email: existing.email.toUpperCase(), role: "processor" })).rejects.toMatchObject({ code: "email_taken" });
    const email = uniqueEmail();
    const first = await createStaffInvite(db(), { email, role: "processor" });
    const second = await createStaffInvite(db(), { email, role: "admin" });
    await expect(findStaffInvite(db(), first.token)).resolves.toBeNull();
    await expect(findStaffInvite(db(), second.token)).resolves.toMatchObject({ role: "admin" });
  });
});

describe("password policy", () => {
  it("ships a list of several thousand common passwords", () => {
    const list = commonPasswords();
    expect(list.size).toBeGreaterThan(5000);
    expect(list.has("password")).toBe(true);
    expect(list.has("# common passwords, one per line, lower-case; lines starting with # are comments.")).toBe(false);
  });

  it.each([
    ["1QAZ2WSX3EDC", "password_common"], // listed, any case
    ["Password2024!", "password_common"], // a listed word with digits and symbols around it
    ["  iloveyou123456", "password_common"],
    ["aaaaaaaaaaaa", "password_repetitive"],
    ["abcabcabcabc", "password_repetitive"],
    ["abcdefghijklm", "password_repetitive"],
    ["123456789012", "password_repetitive"],
    ["elevenchars", "password_too_short"],
  ])("refuses %j (%s)", async (password, code) => {
    const err = await createStaff(db(), { email: uniqueEmail(), name: "P", role: "processor", password }).catch((e: unknown) => e);
    expect(err).toMatchObject({ field: "password", code });
  });

  it.each(["correct horse battery staple", "twelve chars", "e2e staff password 42", "Tr0ub4dor&3-horse"])("accepts %j", async (password) => {
    await expect(createStaff(db(), { email: uniqueEmail(), name: "P", role: "processor", password })).resolves.toBeTruthy();
  });

  it("pure helpers", () => {
    const list = parsePasswordList("# comment\nDragon\n\n  monkey  \n");
    expect([...list]).toEqual(["dragon", "monkey"]);
    expect(isCommonPassword("DRAGON", list)).toBe(true);
    expect(isCommonPassword("dragon!!2024", list)).toBe(true);
    expect(isCommonPassword("dragonfly", list)).toBe(false);
    expect(isRepetitiveOrSequential("987654321098")).toBe(true);
    expect(isRepetitiveOrSequential("a long passphrase")).toBe(false);
  });

  it("maximum password age: off by default, else older passwords are expired", () => {
    const now = new Date("2026-06-01T00:00:00Z");
    const old = new Date("2025-01-01T00:00:00Z");
    expect(isPasswordExpired(old, now)).toBe(false); // STAFF_MAX_PASSWORD_AGE_DAYS unset = 0 = never
    expect(isPasswordExpired(old, now, 365)).toBe(true);
    expect(isPasswordExpired(new Date("2026-01-01T00:00:00Z"), now, 365)).toBe(false);
  });
});

describe("demo seed", () => {
  it("enrols the demo admin with a TOTP secret it returns for the banner, the same on every run", async () => {
    const { seedDemo, DEMO_STAFF_EMAIL } = await import("#db/seed.ts");
    const first = await seedDemo(db(), "demo password for the seed test");
    expect(first.totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    const again = await seedDemo(db(), "demo password for the seed test");
    expect(again.totpSecret).toBe(first.totpSecret);
    const [admin] = await db().select().from(staffUsers).where(eq(staffUsers.email, DEMO_STAFF_EMAIL));
    expect(admin!.totpEnrolledAt).not.toBeNull();
    expect(admin!.totpSecretCiphertext).not.toContain(first.totpSecret);
    const clock = manualClock(new Date());
    const code = totpAtStep(base32Decode(first.totpSecret), totpStep(clock().getTime()));
    await expect(verifyTotpCode(db(), admin!.id, code, clock)).resolves.toBe("ok");
  });
});
