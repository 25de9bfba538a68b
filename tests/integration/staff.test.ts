import { hash as argon2Hash, parseOptions } from "@node-rs/argon2";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "#db/client.server.ts";
import { staffRoles, staffSessions, staffUsers } from "#db/schema/index.ts";
import { sha256Hex } from "#app/utils/crypto.server.ts";
import { EnvError, getEnv, parseEnv } from "#app/utils/env.server.ts";
import { staffRoleLabels, staffRoleList } from "#app/models/staff-roles.ts";
import {
  SESSION_ABSOLUTE_TIMEOUT_MS,
  SESSION_IDLE_TIMEOUT_MS,
  StaffInputError,
  authenticateStaff,
  createStaff,
  createStaffSession,
  destroyAllStaffSessions,
  destroyStaffSession,
  disableStaff,
  getStaffBySessionToken,
  isPasswordExpired,
  markStaffSessionMfaVerified,
  maxPasswordAgeDays,
  purgeExpiredStaffSessions,
  setStaffPassword,
} from "#app/models/staff.server.ts";
import {
  completeMfa,
  endStaffSession,
  getStaffFromRequest,
  getStaffSessionFromRequest,
  loginUrl,
  readCookie,
  requireStaff,
  safeNextPath,
  staffCookieName,
  startStaffSession,
} from "#app/utils/session.server.ts";

const db = () => getDb();
const PASSWORD = "correct horse battery staple";
let counter = 0;
const uniqueEmail = () => `Staff.Member${++counter}@Example.COM`;

const MIN = 60_000;
/** A clock the test moves by hand. */
function manualClock(start = new Date("2026-01-05T09:00:00.000Z")) {
  let now = start.getTime();
  const clock = () => new Date(now);
  return Object.assign(clock, { advance: (ms: number) => (now += ms) });
}

/** A session past its second factor, as after a full sign-in. */
async function verifiedSession(staffId: string, clock?: () => Date) {
  const session = await createStaffSession(db(), staffId, clock);
  await markStaffSessionMfaVerified(db(), session.sessionId, clock);
  return session;
}

async function sessionRow(token: string) {
  const [row] = await db().select().from(staffSessions).where(eq(staffSessions.tokenHash, sha256Hex(token)));
  return row;
}

describe("createStaff", () => {
  it("normalizes the email, stores an argon2id hash with the OWASP parameters and never returns it", async () => {
    const email = uniqueEmail();
    const staff = await createStaff(db(), { email: `  ${email} `, name: " Ada Admin ", role: "admin", password: PASSWORD });
    expect(staff.email).toBe(email.toLowerCase());
    expect(staff.name).toBe("Ada Admin");
    expect(staff.role).toBe("admin");
    expect(staff.disabledAt).toBeNull();
    expect(staff).not.toHaveProperty("passwordHash");

    const [row] = await db().select().from(staffUsers).where(eq(staffUsers.id, staff.id));
    expect(row!.passwordHash.startsWith("$argon2id$")).toBe(true);
    expect(row!.passwordHash).toContain("m=19456,t=2,p=1");
    expect(row!.passwordHash).not.toContain(PASSWORD);
    expect(parseOptions(row!.passwordHash)).toMatchObject({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
  });

  it("refuses short passwords, passwords containing the email's local part and a taken email, with user-facing messages", async () => {
    const email = uniqueEmail();
    const attempt = (password: string, e = email) => createStaff(db(), { email: e, name: "P", role: "processor", password }).catch((x: unknown) => x);

    const short = await attempt("elevenchars");
    expect(short).toBeInstanceOf(StaffInputError);
    expect(short).toMatchObject({ field: "password", code: "password_too_short", status: 400 });
    expect((short as StaffInputError).userMessage).toBe("Use at least 12 characters.");

    const local = email.split("@")[0]!; // "Staff.MemberN"
    const containsLocal = await attempt(`my-${local.toUpperCase()}-password!`);
    expect(containsLocal).toMatchObject({ field: "password", code: "password_contains_email" });

    expect(await attempt("x".repeat(257))).toMatchObject({ code: "password_too_long" });
    expect(await attempt(PASSWORD, "not-an-email")).toMatchObject({ field: "email", code: "invalid_email" });
    expect(await createStaff(db(), { email, name: " ", role: "processor", password: PASSWORD }).catch((x: unknown) => x)).toMatchObject({
      field: "name",
    });
    expect(await createStaff(db(), { email, name: "N", role: "owner" as "admin", password: PASSWORD }).catch((x: unknown) => x)).toMatchObject({
      field: "role",
    });

    // 12 characters exactly is enough; a two-letter local part does not forbid its letters.
    await expect(attempt("twelve chars")).resolves.toMatchObject({ email: email.toLowerCase() });
    await expect(createStaff(db(), { email: "al@example.com", name: "Al", role: "auditor", password: "always-allowed" })).resolves.toBeTruthy();

    const taken = await attempt(PASSWORD, email.toUpperCase());
    expect(taken).toMatchObject({ field: "email", code: "email_taken" });
    expect(await db().select().from(staffUsers).where(eq(staffUsers.email, email.toLowerCase()))).toHaveLength(1);
  });
});

describe("authenticateStaff", () => {
  it("accepts the right password (any email case) and refuses a wrong one or an unknown email", async () => {
    const email = uniqueEmail();
    const staff = await createStaff(db(), { email, name: "Bea", role: "processor", password: PASSWORD });
    await expect(authenticateStaff(db(), email.toUpperCase(), PASSWORD)).resolves.toMatchObject({ id: staff.id });
    const ok = await authenticateStaff(db(), ` ${email} `, PASSWORD);
    expect(ok).not.toHaveProperty("passwordHash");
    await expect(authenticateStaff(db(), email, `${PASSWORD}!`)).resolves.toBeNull();
    await expect(authenticateStaff(db(), email, "")).resolves.toBeNull();
    await expect(authenticateStaff(db(), email, "y".repeat(10_000))).resolves.toBeNull();
    await expect(authenticateStaff(db(), "nobody@example.com", PASSWORD)).resolves.toBeNull();
    await expect(authenticateStaff(db(), "", PASSWORD)).resolves.toBeNull();
  });

  it("does argon2 work for unknown emails too (no fast path revealing which accounts exist)", async () => {
    const email = uniqueEmail();
    await createStaff(db(), { email, name: "Cy", role: "processor", password: PASSWORD });
    await authenticateStaff(db(), "warm-up@example.com", PASSWORD); // warms the connection and the JIT
    const time = async (f: () => Promise<unknown>) => {
      const start = performance.now();
      for (let i = 0; i < 5; i++) await f();
      return (performance.now() - start) / 5;
    };
    const known = await time(() => authenticateStaff(db(), email, "wrong password!!"));
    const unknown = await time(() => authenticateStaff(db(), "nobody-here@example.com", "wrong password!!"));
    // Both paths verify one argon2id hash with the same parameters (tens of ms); a missing fast path is what matters.
    expect(unknown).toBeGreaterThan(known * 0.4);
  });

  it("refuses a disabled account and ends its sessions", async () => {
    const email = uniqueEmail();
    const staff = await createStaff(db(), { email, name: "Di", role: "processor", password: PASSWORD });
    const { token } = await createStaffSession(db(), staff.id);
    await disableStaff(db(), staff.id);
    await expect(authenticateStaff(db(), email, PASSWORD)).resolves.toBeNull();
    await expect(getStaffBySessionToken(db(), token)).resolves.toBeNull();
  });

  it("upgrades a hash made with weaker parameters on the next successful sign-in", async () => {
    const email = uniqueEmail();
    const staff = await createStaff(db(), { email, name: "Ed", role: "processor", password: PASSWORD });
    const weak = await argon2Hash(PASSWORD, { memoryCost: 4096, timeCost: 1, parallelism: 1, algorithm: 2 as never });
    await db().update(staffUsers).set({ passwordHash: weak }).where(eq(staffUsers.id, staff.id));
    await expect(authenticateStaff(db(), email, PASSWORD)).resolves.toMatchObject({ id: staff.id });
    const [row] = await db().select().from(staffUsers).where(eq(staffUsers.id, staff.id));
    expect(row!.passwordHash).toContain("m=19456,t=2,p=1");
    await expect(authenticateStaff(db(), email, PASSWORD)).resolves.toMatchObject({ id: staff.id });
  });

  it("a password change applies the policy and signs out every session", async () => {
    const email = uniqueEmail();
    const staff = await createStaff(db(), { email, name: "Flo", role: "admin", password: PASSWORD });
    const { token } = await createStaffSession(db(), staff.id);
    await expect(setStaffPassword(db(), staff.id, "short")).rejects.toBeInstanceOf(StaffInputError);
    await setStaffPassword(db(), staff.id, "a much newer passphrase");
    await expect(getStaffBySessionToken(db(), token)).resolves.toBeNull();
    await expect(authenticateStaff(db(), email, PASSWORD)).resolves.toBeNull();
    await expect(authenticateStaff(db(), email, "a much newer passphrase")).resolves.toMatchObject({ id: staff.id });
  });
});

describe("staff sessions", () => {
  async function newStaff() {
    return createStaff(db(), { email: uniqueEmail(), name: "Gil", role: "processor", password: PASSWORD });
  }

  it("stores only the SHA-256 of the token and resolves the token to the staff member", async () => {
    const staff = await newStaff();
    const clock = manualClock();
    const { token, expiresAt } = await createStaffSession(db(), staff.id, clock);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresAt.getTime()).toBe(clock().getTime() + SESSION_ABSOLUTE_TIMEOUT_MS);
    const row = await sessionRow(token);
    expect(row).toBeDefined();
    expect(row!.tokenHash).toBe(sha256Hex(token));
    expect(JSON.stringify(row)).not.toContain(token);
    const found = await getStaffBySessionToken(db(), token, clock);
    expect(found).toMatchObject({ id: staff.id, email: staff.email });
    expect(found).not.toHaveProperty("passwordHash");
  });

  it("rejects unknown and malformed tokens", async () => {
    await expect(getStaffBySessionToken(db(), "A".repeat(43))).resolves.toBeNull();
    await expect(getStaffBySessionToken(db(), "")).resolves.toBeNull();
    await expect(getStaffBySessionToken(db(), "'; drop table staff_sessions; --")).resolves.toBeNull();
  });

  it("expires after 30 idle minutes and deletes the row", async () => {
    const staff = await newStaff();
    const clock = manualClock();
    const { token } = await verifiedSession(staff.id, clock);
    clock.advance(SESSION_IDLE_TIMEOUT_MS - 1);
    await expect(getStaffBySessionToken(db(), token, clock)).resolves.toMatchObject({ id: staff.id });
    clock.advance(SESSION_IDLE_TIMEOUT_MS); // idle again, measured from the last use
    await expect(getStaffBySessionToken(db(), token, clock)).resolves.toBeNull();
    expect(await sessionRow(token)).toBeUndefined();
  });

  it("stays alive while used, refreshes lastSeenAt at most once a minute, and still ends after 12 hours", async () => {
    const staff = await newStaff();
    const clock = manualClock();
    const start = clock().getTime();
    const { token } = await verifiedSession(staff.id, clock);

    clock.advance(30_000);
    await getStaffBySessionToken(db(), token, clock);
    expect((await sessionRow(token))!.lastSeenAt.getTime()).toBe(start); // under a minute: no write

    clock.advance(31_000);
    await getStaffBySessionToken(db(), token, clock);
    expect((await sessionRow(token))!.lastSeenAt.getTime()).toBe(start + 61_000);

    // Used every 20 minutes for almost 12 hours: never idle, so only the absolute limit ends it.
    while (clock().getTime() + 20 * MIN < start + SESSION_ABSOLUTE_TIMEOUT_MS) {
      clock.advance(20 * MIN);
      await expect(getStaffBySessionToken(db(), token, clock)).resolves.toMatchObject({ id: staff.id });
    }
    clock.advance(start + SESSION_ABSOLUTE_TIMEOUT_MS - clock().getTime());
    await expect(getStaffBySessionToken(db(), token, clock)).resolves.toBeNull();
    expect(await sessionRow(token)).toBeUndefined();
  });

  it("destroys one session, or all of a staff member's sessions", async () => {
    const staff = await newStaff();
    const other = await newStaff();
    const a = await createStaffSession(db(), staff.id);
    const b = await createStaffSession(db(), staff.id);
    const c = await createStaffSession(db(), other.id);
    expect(a.token).not.toBe(b.token);

    await destroyStaffSession(db(), a.token);
    await expect(getStaffBySessionToken(db(), a.token)).resolves.toBeNull();
    await expect(getStaffBySessionToken(db(), b.token)).resolves.toMatchObject({ id: staff.id });
    await destroyStaffSession(db(), "not a token"); // harmless

    const d = await createStaffSession(db(), staff.id);
    expect(await destroyAllStaffSessions(db(), staff.id)).toBe(2);
    await expect(getStaffBySessionToken(db(), b.token)).resolves.toBeNull();
    await expect(getStaffBySessionToken(db(), d.token)).resolves.toBeNull();
    await expect(getStaffBySessionToken(db(), c.token)).resolves.toMatchObject({ id: other.id });
  });

  it("purges expired sessions in bulk", async () => {
    const staff = await newStaff();
    const clock = manualClock(new Date("2030-01-01T00:00:00Z"));
    const idle = await createStaffSession(db(), staff.id, clock);
    clock.advance(SESSION_IDLE_TIMEOUT_MS + MIN);
    const fresh = await createStaffSession(db(), staff.id, clock);
    expect(await purgeExpiredStaffSessions(db(), clock)).toBeGreaterThanOrEqual(1);
    expect(await sessionRow(idle.token)).toBeUndefined();
    expect(await sessionRow(fresh.token)).toBeDefined();
  });
});

describe("session cookie layer", () => {
  const requestWith = (cookie?: string, url = "http://localhost:3000/admin/requests?page=2") =>
    new Request(url, { headers: cookie ? { Cookie: cookie } : {} });
  const cookieValue = (setCookie: string) => setCookie.split(";")[0]!;

  it("sets an HttpOnly, SameSite=Lax, host-wide cookie holding the raw token (no Secure / __Host- outside production)", async () => {
    const staff = await createStaff(db(), { email: uniqueEmail(), name: "Hal", role: "processor", password: PASSWORD });
    const header = await startStaffSession(staff.id);
    expect(staffCookieName()).toBe("portal_staff");
    expect(header).toMatch(/^portal_staff=[A-Za-z0-9_-]{43}; /);
    const attrs = header.split("; ").slice(1);
    expect(attrs).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Lax"]));
    expect(attrs.some((a) => /^Domain=/i.test(a))).toBe(false);
    expect(attrs).not.toContain("Secure");
    const maxAge = Number(attrs.find((a) => a.startsWith("Max-Age="))!.slice(8));
    expect(maxAge).toBeGreaterThan(SESSION_ABSOLUTE_TIMEOUT_MS / 1000 - 5);
    expect(maxAge).toBeLessThanOrEqual(SESSION_ABSOLUTE_TIMEOUT_MS / 1000);

    const token = readCookie(cookieValue(header), "portal_staff")!;
    expect(await sessionRow(token)).toBeDefined();
    const request = requestWith(`theme=dark; ${cookieValue(header)}; other=1`);
    // The password alone gives a session that reaches only the MFA page.
    await expect(getStaffFromRequest(request)).resolves.toBeNull();
    await expect(getStaffSessionFromRequest(request)).resolves.toMatchObject({ staff: { id: staff.id } });
    const toMfa = (await requireStaff(request).catch((e: unknown) => e)) as Response;
    expect(toMfa.status).toBe(302);
    expect(toMfa.headers.get("Location")).toBe(`/admin/mfa?next=${encodeURIComponent("/admin/requests?page=2")}`);

    // The second factor rotates the token: the old cookie stops working, the new one is signed in.
    const context = (await getStaffSessionFromRequest(request))!;
    const rotated = (await completeMfa(context, { stepUp: true }))!;
    expect(cookieValue(rotated)).not.toBe(cookieValue(header));
    expect(rotated.split("; ").slice(1)).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Lax"]));
    await expect(getStaffSessionFromRequest(request)).resolves.toBeNull();
    const signedIn = requestWith(cookieValue(rotated));
    await expect(getStaffFromRequest(signedIn)).resolves.toMatchObject({ id: staff.id });
    await expect(requireStaff(signedIn)).resolves.toMatchObject({ id: staff.id });
  });

  it("rotates the token on every sign-in and ends the session the sign-in request carried", async () => {
    const staff = await createStaff(db(), { email: uniqueEmail(), name: "Ida", role: "processor", password: PASSWORD });
    const first = await startStaffSession(staff.id);
    const second = await startStaffSession(staff.id, requestWith(cookieValue(first)));
    expect(cookieValue(second)).not.toBe(cookieValue(first));
    await expect(getStaffSessionFromRequest(requestWith(cookieValue(first)))).resolves.toBeNull();
    await expect(getStaffSessionFromRequest(requestWith(cookieValue(second)))).resolves.toMatchObject({ staff: { id: staff.id } });
  });

  it("ends the session and clears the cookie on sign-out", async () => {
    const staff = await createStaff(db(), { email: uniqueEmail(), name: "Jo", role: "processor", password: PASSWORD });
    const header = await startStaffSession(staff.id);
    const cleared = await endStaffSession(requestWith(cookieValue(header)));
    expect(cleared).toMatch(/^portal_staff=; /);
    expect(cleared).toContain("Max-Age=0");
    expect(cleared).toContain("Path=/");
    await expect(getStaffFromRequest(requestWith(cookieValue(header)))).resolves.toBeNull();
    await expect(endStaffSession(requestWith())).resolves.toMatch(/^portal_staff=; /);
  });

  it("requireStaff redirects to the login page with a relative next path", async () => {
    const thrown = await requireStaff(requestWith("portal_staff=bogus")).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Response);
    expect((thrown as Response).status).toBe(302);
    expect((thrown as Response).headers.get("Location")).toBe(`/admin/login?next=${encodeURIComponent("/admin/requests?page=2")}`);
    const none = await requireStaff(requestWith(undefined, "http://localhost:3000/admin")).catch((e: unknown) => e);
    expect((none as Response).headers.get("Location")).toBe("/admin/login?next=%2Fadmin");
  });

  it("only follows same-site relative next paths", () => {
    expect(safeNextPath("/admin/requests?page=2#top")).toBe("/admin/requests?page=2#top");
    expect(safeNextPath("/admin/../admin/x")).toBe("/admin/x");
    for (const evil of [
      "https://evil.example/",
      "//evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "javascript:alert(1)",
      "admin",
      "",
      null,
      undefined,
    ]) {
      expect(safeNextPath(evil)).toBe("/admin");
    }
    expect(loginUrl("https://evil.example")).toBe("/admin/login");
    expect(loginUrl("/admin/login")).toBe("/admin/login");
  });
});

describe("configuration and role names", () => {
  it("validates STAFF_MAX_PASSWORD_AGE_DAYS at boot with the rest of the env: default 0 (never), whole days up to 3650", () => {
    const base = { ...process.env };
    delete base.STAFF_MAX_PASSWORD_AGE_DAYS;
    expect(parseEnv(base).STAFF_MAX_PASSWORD_AGE_DAYS).toBe(0);
    expect(parseEnv({ ...base, STAFF_MAX_PASSWORD_AGE_DAYS: "" }).STAFF_MAX_PASSWORD_AGE_DAYS).toBe(0);
    expect(parseEnv({ ...base, STAFF_MAX_PASSWORD_AGE_DAYS: "90" }).STAFF_MAX_PASSWORD_AGE_DAYS).toBe(90);
    for (const bad of ["ninety", "-1", "1.5", "3651"]) {
      const thrown = (() => {
        try {
          parseEnv({ ...base, STAFF_MAX_PASSWORD_AGE_DAYS: bad });
        } catch (e) {
          return e;
        }
      })();
      expect(thrown, bad).toBeInstanceOf(EnvError);
      expect((thrown as EnvError).keys, bad).toEqual(["STAFF_MAX_PASSWORD_AGE_DAYS"]);
      expect((thrown as EnvError).message).toContain("STAFF_MAX_PASSWORD_AGE_DAYS");
    }
    // The model reads the parsed value.
    expect(maxPasswordAgeDays()).toBe(getEnv().STAFF_MAX_PASSWORD_AGE_DAYS);
    const old = new Date(Date.now() - 100 * 86_400_000);
    expect(isPasswordExpired(old, new Date(), 90)).toBe(true);
    expect(isPasswordExpired(old, new Date(), 0)).toBe(false);
  });

  it("names every role of the schema for pages and emails", () => {
    expect([...staffRoleList].sort()).toEqual([...staffRoles].sort());
    for (const role of staffRoles) expect(staffRoleLabels[role]).toMatch(/^[A-Z]/);
  });
});
