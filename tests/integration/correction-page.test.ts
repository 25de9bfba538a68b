/**
 * The correction confirmation page over real HTTP (server/app.ts + the compiled build): behind a step-up, shows what
 * the requester asked (viewing is audited), validates the values (clear messages, nothing stored), stores confirmed
 * values encrypted with an audit event that names attributes only; auditors read but cannot post.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import { applyApprovalPolicy } from "#app/models/approval-policy.server.ts";
import { confirmCorrection, getConfirmedCorrection } from "#app/models/corrections.server.ts";
import { approveRequest } from "#app/models/request-actions.server.ts";
import { getRequestById, insertRequest } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";
import { approvalPolicies, requests } from "#db/schema/index.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addRequest, addStaff, sessionCookie, uniqueEmail } from "./console-fixtures.ts";

const web = webAppForTests();
let processor: Awaited<ReturnType<typeof addStaff>>;
let auditor: Awaited<ReturnType<typeof addStaff>>;

beforeAll(async () => {
  processor = await addStaff(getDb(), "processor");
  auditor = await addStaff(getDb(), "auditor");
});

async function correctionRequest() {
  const row = await insertRequest(getDb(), {
    type: "correction",
    email: uniqueEmail("fix"),
    region: "EU",
    receivedAt: new Date(),
    details: { corrections: { incorrect: "My name is spelt Jon Smiht", correct: "Jon Smith, and my phone is +44 20 7946 0000" } },
  });
  await getDb().update(requests).set({ status: "verified", verifiedAt: new Date(), verificationLevel: 1 }).where(eq(requests.id, row.id));
  return row;
}

const get = (path: string, cookie: string) => fetch(web.url + path, { redirect: "manual", headers: { Cookie: cookie } });
const post = (path: string, fields: Record<string, string>, cookie: string) => web.post(path, new URLSearchParams(fields), { Cookie: cookie });

describe("correction confirmation page", () => {
  it("needs a fresh step-up, shows the request (audited) and stores confirmed values encrypted", async () => {
    const r = await correctionRequest();
    const path = `/admin/requests/${r.reference}/correction`;
    const plain = await get(path, await sessionCookie(getDb(), processor.id));
    expect(plain.status).toBe(302);
    expect(plain.headers.get("location")).toContain("/admin/step-up");

    const cookie = await sessionCookie(getDb(), processor.id, { stepUp: true });
    const page = await get(path, cookie);
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toContain("no-store");
    const html = await page.text();
    expect(html).toContain("Jon Smiht");
    expect(html).toContain('<label for="correction-email">Email address</label>');
    expect(html).toContain("No values confirmed yet");
    expect((await listEvents(getDb(), r.id)).map((e) => e.action)).toContain("request.correction_viewed");

    const bad = await post(path, { email: "not-an-email", phone: "12" }, cookie);
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toContain("Enter an email address like name@example.com.");
    expect(badHtml).toContain("international format");
    expect(badHtml).toMatch(/aria-invalid="true"/);
    const empty = await post(path, {}, cookie);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Enter at least one corrected value.");
    expect(await getConfirmedCorrection(getDb(), r.id)).toBeUndefined();

    const ok = await post(path, { name: "Jon Smith", phone: "+44 20 7946 0000", city: "" }, cookie);
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe(`${path}?confirmed=1`);
    expect(await getConfirmedCorrection(getDb(), r.id)).toMatchObject({ values: { name: "Jon Smith", phone: "+44 20 7946 0000" }, attributes: ["name", "phone"], confirmedBy: processor.id });
    const event = (await listEvents(getDb(), r.id)).find((e) => e.action === "request.correction_confirmed")!;
    expect(event).toMatchObject({ actorType: "staff", actorId: processor.id, details: { attributes: ["name", "phone"], changed: false } });
    expect(JSON.stringify(event)).not.toContain("Smith");
    const after = await (await get(`${path}?confirmed=1`, cookie)).text();
    expect(after).toContain("Values confirmed. The request can now be approved.");
    expect(after).toContain('value="Jon Smith"');
  });

  it("auditors read but cannot confirm; another type or an unknown reference is a 404", async () => {
    const r = await correctionRequest();
    const path = `/admin/requests/${r.reference}/correction`;
    const cookie = await sessionCookie(getDb(), auditor.id, { stepUp: true });
    const page = await get(path, cookie);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Auditors can read the correction but not confirm it.");
    expect((await post(path, { name: "Mallory" }, cookie)).status).toBe(403);
    expect(await getConfirmedCorrection(getDb(), r.id)).toBeUndefined();

    const access = await addRequest(getDb(), { type: "access" });
    const processorCookie = await sessionCookie(getDb(), processor.id, { stepUp: true });
    expect((await get(`/admin/requests/${access.reference}/correction`, processorCookie)).status).toBe(404);
    expect((await get(`/admin/requests/PR-2222-2222/correction`, processorCookie)).status).toBe(404);
  });

  it("approval (by staff or by an automatic policy) waits until the values are confirmed; the request page says why", async () => {
    const r = await correctionRequest();
    const actor = { id: processor.id, role: "processor" as const };
    await expect(approveRequest(getDb(), { requestId: r.id, actor })).rejects.toMatchObject({ code: "correction_not_confirmed", status: 409 });
    expect((await getRequestById(getDb(), r.id))!.status).toBe("verified");
    await getDb().insert(approvalPolicies).values({ regime: "gdpr", type: "correction", mode: "automatic", updatedAt: new Date() }).onConflictDoUpdate({ target: [approvalPolicies.regime, approvalPolicies.type], set: { mode: "automatic" } });
    expect(await applyApprovalPolicy(getDb(), r.id)).toBe("review");
    const page = await (await get(`/admin/requests/${r.reference}`, await sessionCookie(getDb(), processor.id))).text();
    expect(page).toContain("Confirm the corrected values first");

    await confirmCorrection(getDb(), { requestId: r.id, actor, values: { name: "Jon Smith" } });
    expect(await approveRequest(getDb(), { requestId: r.id, actor })).toMatchObject({ status: "approved" });
  });
});
