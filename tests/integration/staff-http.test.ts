/**
 * The staff sign-in over real HTTP against the compiled build: password → MFA (token rotated at both steps),
 * recovery codes, generic failures, step-up, emailed invitations (the worker mails the link; re-send, revoke,
 * expiry), "your sessions", password age; and the staff CLI.
 */
import { spawn } from "node:child_process";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { provisionTotp, regenerateRecoveryCodes } from "#app/models/mfa.server.ts";
import { createStaff, findStaffInvite } from "#app/models/staff.server.ts";
import { base32Decode, totpAtStep, totpStep } from "#app/models/totp.ts";
import { getEnv } from "#app/utils/env.server.ts";
import type { CaughtMail } from "#app/utils/mail-catcher.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestEvents, staffInvites, staffSessions, staffUsers } from "#db/schema/index.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

const web = webAppForTests({ worker: true });
const PASSWORD = "correct horse battery staple";
const form = (fields: Record<string, string>) => new URLSearchParams(fields);
let n = 0;
const uniqueEmail = () => `http.staff${++n}-${Date.now().toString(36)}@example.com`;

const INVITE_LINK = /(https?:\/\/[^\s"<>]+\/admin\/invite\/([A-Za-z0-9_-]{43}))/;

/** The next invitation email to `email` (the `skip` earlier ones left out): its link's token. */
async function invitationMail(email: string, skip = 0): Promise<{ mail: CaughtMail; token: string }> {
  const mail = await testMailbox().waitFor((m) => m.to.includes(email) && INVITE_LINK.test(m.text) && skip-- <= 0, 15_000);
  return { mail, token: INVITE_LINK.exec(mail.text)![2]! };
}

/** The `name=value` of the staff cookie a response sets ("" when it clears it), or undefined. */
function staffCookie(res: Response): string | undefined {
  const header = res.headers.getSetCookie().find((c) => c.startsWith("portal_staff="));
  return header?.split(";")[0];
}
const get = (path: string, cookie?: string) => fetch(web.url + path, { redirect: "manual", headers: cookie ? { Cookie: cookie } : {} });

/**
 * A staff member with MFA set up; `code(k)` is the TOTP code k steps from now, `nextCode()` one not used yet by
 * this helper (each code works once; the window is ±1 step, so it waits for the next step when it must).
 */
async function enrolledStaff(role: "admin" | "processor" | "auditor" = "admin") {
  const email = uniqueEmail();
  const staff = await createStaff(getDb(), { email, name: "Hana Http", role, password: PASSWORD });
  const secret = base32Decode(await provisionTotp(getDb(), staff.id));
  let last = -1;
  const nextCode = async () => {
    let step = Math.max(totpStep(Date.now()) - 1, last + 1);
    while (step > totpStep(Date.now()) + 1) await new Promise((r) => setTimeout(r, 250));
    step = Math.max(step, totpStep(Date.now()) - 1);
    last = step;
    return totpAtStep(secret, step);
  };
  return { ...staff, email, nextCode, code: (k = 0) => totpAtStep(secret, totpStep(Date.now()) + k) };
}

async function passwordStep(email: string, password = PASSWORD, path = "/admin/login") {
  const res = await web.post(path, form({ email, password }));
  expect(res.status).toBe(302);
  return { location: res.headers.get("location"), cookie: staffCookie(res)! };
}

async function signIn(staff: Awaited<ReturnType<typeof enrolledStaff>>) {
  const { cookie } = await passwordStep(staff.email);
  const res = await web.post("/admin/mfa", form({ intent: "code", code: await staff.nextCode() }), { Cookie: cookie });
  expect(res.status).toBe(302);
  return staffCookie(res)!;
}

describe("two-step sign-in", () => {
  it("password → session without MFA (MFA page only) → code → rotated token, signed in", async () => {
    const staff = await enrolledStaff();
    const { location, cookie: pending } = await passwordStep(staff.email, PASSWORD, "/admin/login?next=%2Fadmin%2Faccount");
    expect(location).toBe("/admin/mfa?next=%2Fadmin%2Faccount");
    expect(pending).toMatch(/^portal_staff=[A-Za-z0-9_-]{43}$/);

    // Without the second factor every other admin page sends to the MFA page.
    const blocked = await get("/admin", pending);
    expect(blocked.status).toBe(302);
    expect(blocked.headers.get("location")).toBe("/admin/mfa?next=%2Fadmin");
    const page = await get("/admin/mfa", pending);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Authentication code");

    const wrong = await web.post("/admin/mfa?next=%2Fadmin%2Faccount", form({ intent: "code", code: staff.code(5) }), { Cookie: pending });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("That code is not right.");

    const used = await staff.nextCode();
    const ok = await web.post("/admin/mfa?next=%2Fadmin%2Faccount", form({ intent: "code", code: used }), { Cookie: pending });
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/admin/account");
    const signedIn = staffCookie(ok)!;
    expect(signedIn).not.toBe(pending);
    expect((await get("/admin", pending)).headers.get("location")).toBe("/admin/login?next=%2Fadmin"); // old token is dead
    expect((await get("/admin", signedIn)).status).toBe(200);
    expect((await get("/admin/mfa", signedIn)).headers.get("location")).toBe("/admin");

    // The same code again, on a new password step: refused as a replay.
    const second = await passwordStep(staff.email);
    const replay = await web.post("/admin/mfa", form({ intent: "code", code: used }), { Cookie: second.cookie });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("already used");

    const events = await getDb().select().from(requestEvents).where(eq(requestEvents.actorId, staff.id));
    expect(events.map((e) => e.action)).toContain("staff.signed_in");
  });

  it("signs in with a recovery code once", async () => {
    const staff = await enrolledStaff("processor");
    const codes = await regenerateRecoveryCodes(getDb(), staff.id);
    const { cookie } = await passwordStep(staff.email);
    const ok = await web.post("/admin/mfa", form({ intent: "recovery", recoveryCode: codes[3]! }), { Cookie: cookie });
    expect(ok.status).toBe(302);
    expect((await get("/admin", staffCookie(ok))).status).toBe(200);
    const again = await passwordStep(staff.email);
    const reused = await web.post("/admin/mfa", form({ intent: "recovery", recoveryCode: codes[3]! }), { Cookie: again.cookie });
    expect(reused.status).toBe(400);
    expect(await reused.text()).toContain("recovery code is not right or was already used");
  });

  it("answers an unknown email, a wrong password and a locked account with the same status and message", async () => {
    const staff = await enrolledStaff();
    const bodies: string[] = [];
    const attempt = async (email: string, password: string) => {
      const res = await web.post("/admin/login", form({ email, password }));
      expect(res.status).toBe(401);
      const html = await res.text();
      expect(html).toContain("Email or password is not correct.");
      bodies.push(html.replace(/nonce="[^"]+"/g, "").replaceAll(email, "EMAIL"));
    };
    await attempt("nobody-at-all@example.com", PASSWORD);
    for (let i = 0; i < 5; i++) await attempt(staff.email, "wrong password 12345");
    await attempt(staff.email, PASSWORD); // locked now: the right password gets the same answer
    expect(new Set(bodies).size).toBe(1);
  });

  it("limits MFA code attempts per account", async () => {
    const staff = await enrolledStaff("auditor");
    const { cookie } = await passwordStep(staff.email);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await web.post("/admin/mfa", form({ intent: "code", code: "000000" === staff.code() ? "111111" : "000000" }), { Cookie: cookie });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 400)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe("step-up", () => {
  it("a sensitive action more than 10 minutes after the last code asks for a fresh one and comes back", async () => {
    const admin = await enrolledStaff("admin");
    const cookie = await signIn(admin);
    const invite = () => web.post("/admin/staff", form({ intent: "invite", email: uniqueEmail(), role: "processor" }), { Cookie: cookie });

    // The sign-in code counts as a step-up for 10 minutes.
    const fresh = await invite();
    expect(fresh.status).toBe(200);
    expect(await fresh.text()).toContain("the link is on its way by email");

    await getDb().update(staffSessions).set({ stepUpAt: new Date(Date.now() - 11 * 60_000) }).where(eq(staffSessions.staffId, admin.id));
    const stale = await invite();
    expect(stale.status).toBe(302);
    expect(stale.headers.get("location")).toBe("/admin/step-up?next=%2Fadmin%2Fstaff");
    const form200 = await get("/admin/step-up?next=%2Fadmin%2Fstaff", cookie);
    expect(await form200.text()).toContain("Confirm it is you");
    const wrong = await web.post("/admin/step-up?next=%2Fadmin%2Fstaff", form({ code: "000000" === admin.code(3) ? "111111" : "000000" }), { Cookie: cookie });
    expect(wrong.status).toBe(400);
    const ok = await web.post("/admin/step-up?next=%2Fadmin%2Fstaff", form({ code: await admin.nextCode() }), { Cookie: cookie });
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/admin/staff");
    expect((await invite()).status).toBe(200);
    const stepUps = await getDb().select().from(requestEvents).where(eq(requestEvents.action, "staff.step_up"));
    expect(stepUps.some((e) => e.actorId === admin.id)).toBe(true);
  });
});

describe("invitation over HTTP", () => {
  it("emails the link (never shown on the page), refuses a common password, creates the account and goes on to MFA enrolment; the link works once", async () => {
    const admin = await enrolledStaff("admin");
    const cookie = await signIn(admin);
    const email = uniqueEmail();
    const res = await web.post("/admin/staff", form({ intent: "invite", email, role: "auditor" }), { Cookie: cookie });
    expect(res.status).toBe(200);
    const answer = await res.text();
    expect(answer).toContain(`Invitation for ${email} (auditor) created: the link is on its way by email.`);
    expect(answer).not.toMatch(/\/admin\/invite\/[A-Za-z0-9_-]{43}/);

    const { mail, token } = await invitationMail(email);
    expect(mail.subject).toBe(`Your invitation to the ${getEnv().ORG_NAME} privacy team`);
    expect(mail.subject).not.toContain(email);
    expect(mail.text).toContain("Auditor — reads only");
    expect(mail.html).toContain(`/admin/invite/${token}`);
    expect(mail.text).toMatch(/The link works until: \d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} UTC/);
    // 72 hours from the send (the label is to the minute).
    const [sent] = await getDb().select().from(staffInvites).where(eq(staffInvites.email, email));
    expect(Math.abs(sent!.expiresAt.getTime() - sent!.createdAt.getTime() - 72 * 3_600_000)).toBeLessThan(60_000);
    // The job carried the invitation's id only; the audit trail names the admin, never the address or the token.
    const events = await getDb().select().from(requestEvents).where(eq(requestEvents.action, "staff.invited"));
    const invited = events.find((e) => e.actorId === admin.id)!;
    expect(invited.details).toMatchObject({ role: "auditor", delivery: "email" });
    const trail = JSON.stringify(await getDb().select().from(requestEvents));
    expect(trail).not.toContain(token);
    expect(trail).not.toContain(email);
    expect((await get("/admin/staff", cookie).then((r) => r.text()))).not.toContain(token);

    const page = await get(`/admin/invite/${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(email);
    const weak = await web.post(`/admin/invite/${token}`, form({ name: "Ines", password: "iloveyou2024!", confirmPassword: "iloveyou2024!" }));
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain("too common");
    await expect(findStaffInvite(getDb(), token)).resolves.not.toBeNull();

    const ok = await web.post(`/admin/invite/${token}`, form({ name: "Ines", password: PASSWORD, confirmPassword: PASSWORD }));
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/admin/mfa");
    const enrol = await get("/admin/mfa", staffCookie(ok));
    const html = await enrol.text();
    expect(html).toContain("Set up two-step verification");
    expect(html).toMatch(/data-testid="manual-key"[^>]*>([A-Z2-7]{4} ){7}[A-Z2-7]{4}</);
    expect(html).toContain("<svg");

    expect((await get(`/admin/invite/${token}`)).status).toBe(404);
    const reused = await web.post(`/admin/invite/${token}`, form({ name: "Eve", password: PASSWORD, confirmPassword: PASSWORD }));
    expect(reused.status).toBe(410);
    // A used invitation is no longer pending: it cannot be re-sent.
    const [row] = await getDb().select().from(staffInvites).where(eq(staffInvites.email, email));
    const resend = await web.post("/admin/staff", form({ intent: "resend", inviteId: row!.id }), { Cookie: cookie });
    expect(resend.status).toBe(404);
    expect(await resend.text()).toContain("This invitation was used, revoked or has expired.");
  });

  it("re-sending mails a new link and ends the old one; revoking ends the link; an expired link is refused", async () => {
    const admin = await enrolledStaff("admin");
    const cookie = await signIn(admin);
    const email = uniqueEmail();
    expect((await web.post("/admin/staff", form({ intent: "invite", email, role: "processor" }), { Cookie: cookie })).status).toBe(200);
    const first = await invitationMail(email);
    const [invite] = await getDb().select().from(staffInvites).where(eq(staffInvites.email, email));
    const listed = await (await get("/admin/staff", cookie)).text();
    expect(listed).toContain(`data-invite="${email}"`);

    const resent = await web.post("/admin/staff", form({ intent: "resend", inviteId: invite!.id }), { Cookie: cookie });
    expect(resent.status).toBe(200);
    expect(await resent.text()).toContain("A new invitation link is on its way; the previous link no longer works.");
    const second = await invitationMail(email, 1);
    expect(second.token).not.toBe(first.token);
    expect((await get(`/admin/invite/${first.token}`)).status).toBe(404);
    expect((await get(`/admin/invite/${second.token}`)).status).toBe(200);

    // Expiry: 72 hours after the send; past it, the link is refused and the invitation is no longer listed.
    await getDb().update(staffInvites).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(staffInvites.id, invite!.id));
    expect((await get(`/admin/invite/${second.token}`)).status).toBe(404);
    const late = await web.post(`/admin/invite/${second.token}`, form({ name: "Late", password: PASSWORD, confirmPassword: PASSWORD }));
    expect(late.status).toBe(410);
    expect(await (await get("/admin/staff", cookie)).text()).not.toContain(`data-invite="${email}"`);

    // Revoking: a fresh invitation for another address, revoked before it is used.
    const other = uniqueEmail();
    await web.post("/admin/staff", form({ intent: "invite", email: other, role: "auditor" }), { Cookie: cookie });
    const mailed = await invitationMail(other);
    const [pending] = await getDb().select().from(staffInvites).where(eq(staffInvites.email, other));
    const revoked = await web.post("/admin/staff", form({ intent: "revoke", inviteId: pending!.id }), { Cookie: cookie });
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toContain("The invitation is revoked");
    expect((await get(`/admin/invite/${mailed.token}`)).status).toBe(404);
    const again = await web.post("/admin/staff", form({ intent: "revoke", inviteId: pending!.id }), { Cookie: cookie });
    expect(again.status).toBe(404);
    const bogus = await web.post("/admin/staff", form({ intent: "revoke", inviteId: "not-a-uuid" }), { Cookie: cookie });
    expect(bogus.status).toBe(404);

    const actions = (await getDb().select().from(requestEvents).orderBy(requestEvents.id)).filter((e) => (e.details as { inviteId?: string }).inviteId === invite!.id).map((e) => e.action);
    expect(actions).toEqual(["staff.invited", "staff.invite_sent", "staff.invite_resent", "staff.invite_sent"]);
    const revokedEvents = await getDb().select().from(requestEvents).where(eq(requestEvents.action, "staff.invite_revoked"));
    expect(revokedEvents.map((e) => e.actorId)).toEqual([admin.id]);
  });
});

describe("your account", () => {
  it("lists your sessions, signs out one and everywhere", async () => {
    const staff = await enrolledStaff("auditor");
    const a = await signIn(staff);
    const b = await signIn(staff);
    const page = await get("/admin/account", a);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html.match(/data-session="/g)).toHaveLength(2);
    expect(html).toContain("this session");

    const sessions = await getDb().select().from(staffSessions).where(eq(staffSessions.staffId, staff.id));
    const tokenOf = (c: string) => c.split("=")[1]!;
    const { sha256Hex } = await import("#app/utils/crypto.server.ts");
    const other = sessions.find((s) => s.tokenHash === sha256Hex(tokenOf(b)))!;
    const revoked = await web.post("/admin/account", form({ intent: "revoke", sessionId: other.id }), { Cookie: a });
    expect(revoked.status).toBe(200);
    expect((await get("/admin", b)).status).toBe(302);
    expect((await get("/admin", a)).status).toBe(200);

    const c = await signIn(staff);
    const all = await web.post("/admin/account", form({ intent: "revoke-all" }), { Cookie: a });
    expect(all.status).toBe(302);
    expect(all.headers.get("location")).toBe("/admin/login");
    expect(staffCookie(all)).toBe("portal_staff=");
    for (const cookie of [a, c]) expect((await get("/admin", cookie)).status).toBe(302);
    const events = await getDb().select().from(requestEvents).where(eq(requestEvents.action, "staff.session_revoked"));
    expect(events.filter((e) => e.actorId === staff.id).map((e) => e.details.scope)).toEqual(["one", "all"]);
  });

  it("with STAFF_MAX_PASSWORD_AGE_DAYS, an old password must be changed before anything else", async () => {
    const staff = await enrolledStaff("processor");
    const cookie = await signIn(staff);
    await getDb().update(staffUsers).set({ passwordChangedAt: new Date(Date.now() - 100 * 86_400_000) }).where(eq(staffUsers.id, staff.id));
    expect((await get("/admin", cookie)).status).toBe(200); // off by default (NIST: no forced periodic changes)
    // Parsed once at boot with the rest of the configuration (a bad value fails there): set the parsed value.
    getEnv().STAFF_MAX_PASSWORD_AGE_DAYS = 90;
    try {
      const blocked = await get("/admin", cookie);
      expect(blocked.status).toBe(302);
      expect(blocked.headers.get("location")).toBe("/admin/account?password=expired");
      expect(await (await get("/admin/account?password=expired", cookie)).text()).toContain("maximum age");
      const changed = await web.post(
        "/admin/account",
        form({ intent: "password", currentPassword: PASSWORD, newPassword: "a brand new passphrase", confirmPassword: "a brand new passphrase" }),
        { Cookie: cookie },
      );
      expect(changed.status).toBe(200);
      expect(await changed.text()).toContain("Your password was changed.");
      expect((await get("/admin", cookie)).status).toBe(200);
    } finally {
      getEnv().STAFF_MAX_PASSWORD_AGE_DAYS = 0;
    }
  });
});

describe("staff CLI", () => {
  function portal(args: string[], stdin = "", env: Record<string, string> = {}) {
    return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/portal.ts", ...args], { env: { ...process.env, ...env } });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      child.on("exit", (code) => resolve({ code, out, err }));
      child.stdin.end(stdin);
    });
  }

  it("staff:create reads the password from piped stdin and applies the policy", async () => {
    const email = uniqueEmail();
    const weak = await portal(["staff:create", "--email", email, "--role", "processor"], "password123456\n");
    expect(weak.code).toBe(1);
    expect(weak.err).toContain("too common");
    const ok = await portal(["staff:create", "--email", email, "--role", "processor", "--name", "Cli Created"], `${PASSWORD}\n`);
    expect(ok.code).toBe(0);
    const [row] = await getDb().select().from(staffUsers).where(eq(staffUsers.email, email));
    expect(row).toMatchObject({ name: "Cli Created", role: "processor", totpEnrolledAt: null });
    expect(ok.out + ok.err).not.toContain(PASSWORD);
    expect((await portal(["staff:create", "--email", email, "--role", "owner"])).code).toBe(64);
  });

  it("staff:create --invite prints a working invitation link", async () => {
    const email = uniqueEmail();
    const res = await portal(["staff:create", "--email", email, "--role", "auditor", "--invite"]);
    expect(res.code).toBe(0);
    const token = /\/admin\/invite\/([A-Za-z0-9_-]{43})\s*$/m.exec(res.out)?.[1];
    await expect(findStaffInvite(getDb(), token ?? "")).resolves.toMatchObject({ email, role: "auditor" });
  });

  it("staff:totp prints the current code outside production and refuses in production", async () => {
    const staff = await enrolledStaff("auditor");
    const res = await portal(["staff:totp", "--email", staff.email]);
    expect(res.code).toBe(0);
    expect([staff.code(-1), staff.code(0), staff.code(1)]).toContain(res.out.trim());
    const prod = await portal(["staff:totp", "--email", staff.email], "", { NODE_ENV: "production" });
    expect(prod.code).toBe(1);
    expect(prod.out).toBe("");
  });
});
