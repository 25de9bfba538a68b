/**
 * The approval policy (app/models/approval-policy.server.ts, /admin/policy): defaults, automatic approval where a
 * request becomes verified (intake of requests that need no verification; a correct email code), staff review
 * otherwise, the verification level and legal holds respected, every change audited, admins with a step-up only.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { applyApprovalPolicy, approvalModeFor, getApprovalPolicy, setApprovalPolicy } from "#app/models/approval-policy.server.ts";
import { listEvents } from "#app/models/audit.server.ts";
import { placeLegalHold } from "#app/models/request-actions.server.ts";
import { submitRequest } from "#app/models/requests.server.ts";
import { sendVerificationChallenge, verifyCode } from "#app/models/verification.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestEvents, requests, verificationChallenges } from "#db/schema/index.ts";
import { codeFromMail, verificationMailFor } from "#tests/helpers/flow.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addRequest, addStaff, sessionCookie, uniqueEmail } from "./console-fixtures.ts";

const web = webAppForTests();
let admin: { id: string; role: "admin" };
let processor: { id: string; role: "processor" };

beforeAll(async () => {
  admin = (await addStaff(getDb(), "admin")) as typeof admin;
  processor = (await addStaff(getDb(), "processor")) as typeof processor;
});

const statusOf = async (id: string) => (await getDb().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;

/** Submits, sends the code (as the worker would) and types it in. */
async function submitAndVerify(type: "access" | "deletion", region: string) {
  const db = getDb();
  const email = uniqueEmail(`policy-${type}`);
  const { requestId, reference } = await submitRequest(db, { type, email, region });
  const [challenge] = await db.select().from(verificationChallenges).where(eq(verificationChallenges.requestId, requestId));
  await sendVerificationChallenge(db, challenge!.id);
  const code = codeFromMail(await verificationMailFor(email));
  expect(await verifyCode(db, reference, code)).toEqual({ ok: true, requestId });
  return requestId;
}

describe("defaults", () => {
  it("approves opt-outs and limits automatically and reviews everything else, for every law", async () => {
    const policy = await getApprovalPolicy(getDb());
    expect(policy).toHaveLength(4 * 8);
    for (const p of policy) {
      expect(p.mode).toBe(p.type === "opt_out" || p.type === "limit_sensitive" ? "automatic" : "review");
      expect(p.isDefault).toBe(true);
    }
  });

  it("approves an opt-out at intake (no verification needed), as the system, naming the policy", async () => {
    const db = getDb();
    const { requestId } = await submitRequest(db, { type: "opt_out", email: uniqueEmail("optout"), region: "US-CA" });
    expect(await statusOf(requestId)).toBe("approved");
    const actions = (await listEvents(db, requestId)).map((e) => e.action);
    expect(actions).toEqual(["request.submitted", "request.approved"]);
    const approved = (await listEvents(db, requestId)).at(-1)!;
    expect(approved).toMatchObject({ actorType: "system", actorId: "approval-policy", details: { policy: "automatic", regime: "ccpa", type: "opt_out", level: 0 } });
  });

  it("leaves a verified access request for staff review", async () => {
    const requestId = await submitAndVerify("access", "EU");
    expect(await statusOf(requestId)).toBe("verified");
    expect((await listEvents(getDb(), requestId)).map((e) => e.action)).not.toContain("request.approved");
  });
});

describe("changing the policy", () => {
  it("records one audit event per changed pair, naming the admin; unchanged pairs record nothing", async () => {
    const db = getDb();
    const before = await db.select().from(requestEvents).where(eq(requestEvents.action, "approval_policy.changed"));
    const made = await setApprovalPolicy(db, admin, [
      { regime: "gdpr", type: "access", mode: "automatic" },
      { regime: "ccpa", type: "deletion", mode: "automatic" },
      { regime: "ccpa", type: "opt_out", mode: "automatic" }, // already the default
    ]);
    expect(made).toEqual([
      { regime: "gdpr", type: "access", from: "review", to: "automatic" },
      { regime: "ccpa", type: "deletion", from: "review", to: "automatic" },
    ]);
    const events = (await db.select().from(requestEvents).where(eq(requestEvents.action, "approval_policy.changed"))).slice(before.length);
    expect(events.map((e) => [e.actorType, e.actorId, e.requestId, e.details])).toEqual([
      ["staff", admin.id, null, { regime: "gdpr", type: "access", from: "review", to: "automatic" }],
      ["staff", admin.id, null, { regime: "ccpa", type: "deletion", from: "review", to: "automatic" }],
    ]);
    expect(await approvalModeFor(db, "gdpr", "access")).toBe("automatic");
    const cell = (await getApprovalPolicy(db)).find((p) => p.regime === "gdpr" && p.type === "access")!;
    expect(cell).toMatchObject({ mode: "automatic", isDefault: false, updatedBy: admin.id });
    // Saving the same again changes nothing.
    expect(await setApprovalPolicy(db, admin, [{ regime: "gdpr", type: "access", mode: "automatic" }])).toEqual([]);
  });

  it("refuses processors and unknown values", async () => {
    await expect(setApprovalPolicy(getDb(), processor, [{ regime: "gdpr", type: "access", mode: "review" }])).rejects.toMatchObject({ code: "forbidden", status: 403 });
    await expect(setApprovalPolicy(getDb(), admin, [{ regime: "gdpr", type: "access", mode: "sometimes" as never }])).rejects.toMatchObject({ code: "invalid_policy" });
  });

  it("approves on a correct code once the pair is automatic — but only at the level the request needs", async () => {
    const db = getDb();
    // gdpr/access was made automatic above; level 1 (a verified email) is what it needs.
    const euAccess = await submitAndVerify("access", "EU");
    expect(await statusOf(euAccess)).toBe("approved");
    expect((await listEvents(db, euAccess)).map((e) => e.action).slice(-2)).toEqual(["request.verified", "request.approved"]);
    // ccpa/deletion is automatic too, but needs level 2: an email code gives 1, so staff (or matching) must decide.
    const ccpaDeletion = await submitAndVerify("deletion", "US-CA");
    expect(await statusOf(ccpaDeletion)).toBe("verified");
    expect(await applyApprovalPolicy(db, ccpaDeletion)).toBe("not_ready");
    // Once the level is reached (data points matched), the policy applies.
    await db.update(requests).set({ verificationLevel: 2 }).where(eq(requests.id, ccpaDeletion));
    expect(await applyApprovalPolicy(db, ccpaDeletion)).toBe("approved");
    expect(await applyApprovalPolicy(db, ccpaDeletion)).toBe("not_ready"); // safe to run twice
  });

  it("never approves automatically under a legal hold, or a type set to review", async () => {
    const db = getDb();
    const held = await addRequest(db, { type: "access", region: "EU" });
    await placeLegalHold(db, { requestId: held.id, actor: admin, reason: "Litigation hold" });
    expect(await applyApprovalPolicy(db, held.id)).toBe("not_ready");
    const uk = await addRequest(db, { type: "access", region: "UK" });
    expect(await applyApprovalPolicy(db, uk.id)).toBe("review");
    expect(await statusOf(uk.id)).toBe("verified");
  });
});

describe("/admin/policy", () => {
  it("shows the matrix to admins only", async () => {
    const db = getDb();
    const page = await fetch(`${web.url}/admin/policy`, { headers: { Cookie: await sessionCookie(db, admin.id) } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Approval policy");
    expect(html).toContain('name="mode.ccpa.opt_out"');
    expect((await fetch(`${web.url}/admin/policy`, { headers: { Cookie: await sessionCookie(db, processor.id) } })).status).toBe(403);
  });

  it("asks for a step-up before saving, then saves and audits the change", async () => {
    const db = getDb();
    const form = new URLSearchParams({ "mode.us_state.opt_out": "review" });
    const without = await web.post("/admin/policy", form, { Cookie: await sessionCookie(db, admin.id) });
    expect(without.status).toBe(302);
    expect(without.headers.get("location")).toBe("/admin/step-up?next=%2Fadmin%2Fpolicy");
    expect(await approvalModeFor(db, "us_state", "opt_out")).toBe("automatic");

    const cookie = await sessionCookie(db, admin.id, { stepUp: true });
    const saved = await web.post("/admin/policy", form, { Cookie: cookie });
    expect(saved.status).toBe(302);
    expect(saved.headers.get("location")).toBe("/admin/policy?saved=1");
    expect(await approvalModeFor(db, "us_state", "opt_out")).toBe("review");
    const last = (await db.select().from(requestEvents).where(eq(requestEvents.action, "approval_policy.changed"))).at(-1)!;
    expect(last).toMatchObject({ actorId: admin.id, details: { regime: "us_state", type: "opt_out", from: "automatic", to: "review" } });

    const bad = await web.post("/admin/policy", new URLSearchParams({ "mode.gdpr.access": "whenever" }), { Cookie: cookie });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("GDPR — Access my data: choose one of the listed modes.");
    // A US-state opt-out now waits for staff.
    const { requestId } = await submitRequest(db, { type: "opt_out", email: uniqueEmail("va-optout"), region: "US-VA" });
    expect(await statusOf(requestId)).toBe("verified");
  });
});
