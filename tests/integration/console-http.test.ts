/**
 * The staff console over real HTTP (server/app.ts + the compiled build): the request page's action forms (roles,
 * validation messages, refused transitions shown on the page), the full identity behind a step-up (audited), and
 * the audit log viewer (filters, pages, bad parameters, "verify integrity" finding a tampered event).
 */
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestEvents, requests } from "#db/schema/index.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addRequest, addStaffOfEachRole, sessionCookie, type StaffMember } from "./console-fixtures.ts";

const web = webAppForTests();
let admin: StaffMember;
let processor: StaffMember;
let auditor: StaffMember;

beforeAll(async () => {
  ({ admin, processor, auditor } = await addStaffOfEachRole(getDb()));
});

const statusOf = async (id: string) => (await getDb().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;
const get = async (path: string, cookie: string) => fetch(web.url + path, { redirect: "manual", headers: { Cookie: cookie } });
const post = (path: string, fields: Record<string, string>, cookie: string) => web.post(path, new URLSearchParams(fields), { Cookie: cookie });

describe("the request page's actions", () => {
  it("lets a processor approve: a redirect back with a confirmation, and the change is made", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const cookie = await sessionCookie(db, processor.id);
    const page = await (await get(`/admin/requests/${r.reference}`, cookie)).text();
    expect(page).toContain("Approve request");
    expect(page).toContain("Deny request");
    expect(page).toContain("Extend deadline");
    const res = await post(`/admin/requests/${r.reference}`, { intent: "approve" }, cookie);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/admin/requests/${r.reference}?done=approve`);
    expect(await statusOf(r.id)).toBe("approved");
    const after = await (await get(`/admin/requests/${r.reference}?done=approve`, cookie)).text();
    expect(after).toContain("Request approved.");
    expect(after).not.toContain("Approve request"); // no longer offered
  });

  it("shows validation messages and refused transitions on the page, changing nothing", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const cookie = await sessionCookie(db, processor.id);
    const noReason = await post(`/admin/requests/${r.reference}`, { intent: "deny" }, cookie);
    expect(noReason.status).toBe(400);
    expect(await noReason.text()).toContain("Choose a reason from the list.");
    const other = await post(`/admin/requests/${r.reference}`, { intent: "deny", reasonCode: "other", explanation: "  " }, cookie);
    expect(other.status).toBe(400);
    expect(await other.text()).toContain("Explain the reason: the requester reads it.");
    const blank = await post(`/admin/requests/${r.reference}`, { intent: "extend", reason: "" }, cookie);
    expect(blank.status).toBe(400);
    expect(await blank.text()).toContain("Please write why you need more time.");
    const unknown = await post(`/admin/requests/${r.reference}`, { intent: "launch" }, cookie);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain("Unknown action.");
    expect(await statusOf(r.id)).toBe("verified");

    const denied = await addRequest(db, { status: "denied" });
    const refused = await post(`/admin/requests/${denied.reference}`, { intent: "approve" }, cookie);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("A request that is denied cannot be approved.");
    expect(await statusOf(denied.id)).toBe("denied");

    const missing = await post(`/admin/requests/PR-2222-2222`, { intent: "approve" }, cookie);
    expect(missing.status).toBe(404);
    // A body that cannot be read is a 400 with a message, not an error page.
    const broken = await web.post(`/admin/requests/${r.reference}`, "--nope\r\nbroken", { Cookie: cookie, "Content-Type": "multipart/form-data; boundary=other" });
    expect(broken.status).toBe(400);
    expect(await statusOf(r.id)).toBe("verified");
  });

  it("lets auditors read but not act, and lets only admins lift a legal hold", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const auditorCookie = await sessionCookie(db, auditor.id);
    const page = await get(`/admin/requests/${r.reference}`, auditorCookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(r.reference);
    expect(html).not.toContain("Approve request");
    expect(html).not.toContain("Show full identity");
    expect((await post(`/admin/requests/${r.reference}`, { intent: "approve" }, auditorCookie)).status).toBe(403);
    expect((await post(`/admin/requests/${r.reference}`, { intent: "note", body: "hi" }, auditorCookie)).status).toBe(403);
    expect(await statusOf(r.id)).toBe("verified");

    const processorCookie = await sessionCookie(db, processor.id);
    expect((await post(`/admin/requests/${r.reference}`, { intent: "place-hold", reason: "Pending claim" }, processorCookie)).status).toBe(302);
    const lift = await post(`/admin/requests/${r.reference}`, { intent: "lift-hold" }, processorCookie);
    expect(lift.status).toBe(403);
    expect(await lift.text()).toContain("Only an admin can lift a legal hold.");
    const adminCookie = await sessionCookie(db, admin.id);
    expect((await post(`/admin/requests/${r.reference}`, { intent: "lift-hold" }, adminCookie)).status).toBe(302);
    expect((await listEvents(db, r.id)).map((e) => [e.action, e.actorId])).toEqual([
      ["request.submitted", null],
      ["request.legal_hold_placed", processor.id],
      ["request.legal_hold_lifted", admin.id],
    ]);
  });

  it("adds a note and assigns through the forms", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const cookie = await sessionCookie(db, processor.id);
    expect((await post(`/admin/requests/${r.reference}`, { intent: "note", body: "Customer called; see ticket 77." }, cookie)).status).toBe(302);
    expect((await post(`/admin/requests/${r.reference}`, { intent: "assign", assigneeId: processor.id }, cookie)).status).toBe(302);
    const html = await (await get(`/admin/requests/${r.reference}`, cookie)).text();
    expect(html).toContain("Customer called; see ticket 77.");
    expect(html).toMatch(/data-testid="assignee">Tess processor/);
    expect(html).toMatch(/data-testid="status">in review/);
    const bad = await post(`/admin/requests/${r.reference}`, { intent: "assign", assigneeId: "someone" }, cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("Choose who to assign the request to.");
  });
});

describe("the full identity", () => {
  it("is masked by default, needs a step-up, is shown to workers only, and every view is audited", async () => {
    const db = getDb();
    const r = await addRequest(db, { name: "Quinn Sample" });
    const plain = await (await get(`/admin/requests/${r.reference}`, await sessionCookie(db, processor.id))).text();
    expect(plain).not.toContain(r.email);
    expect(plain).not.toContain("Quinn Sample");
    expect(plain).toContain("Show full identity");

    const noStepUp = await get(`/admin/requests/${r.reference}?identity=full`, await sessionCookie(db, processor.id));
    expect(noStepUp.status).toBe(302);
    expect(noStepUp.headers.get("location")).toBe(`/admin/step-up?next=${encodeURIComponent(`/admin/requests/${r.reference}?identity=full`)}`);
    expect((await listEvents(db, r.id)).map((e) => e.action)).not.toContain("request.identity_viewed");

    const shown = await get(`/admin/requests/${r.reference}?identity=full`, await sessionCookie(db, processor.id, { stepUp: true }));
    expect(shown.status).toBe(200);
    const html = await shown.text();
    expect(html).toContain(r.email);
    expect(html).toContain("Quinn Sample");
    expect((await listEvents(db, r.id)).filter((e) => e.action === "request.identity_viewed").map((e) => e.actorId)).toEqual([processor.id]);

    const auditorView = await get(`/admin/requests/${r.reference}?identity=full`, await sessionCookie(db, auditor.id, { stepUp: true }));
    expect(auditorView.status).toBe(403);
    expect(await auditorView.text()).not.toContain(r.email);
  });
});

describe("the audit log viewer", () => {
  it("is for admins and auditors; filters by reference, actor, action (exact or prefix) and date", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const other = await addRequest(db);
    const cookie = await sessionCookie(db, auditor.id);
    expect((await get("/admin/audit", await sessionCookie(db, processor.id))).status).toBe(403);
    expect((await get("/admin/audit", await sessionCookie(db, admin.id))).status).toBe(200);
    await post(`/admin/requests/${r.reference}`, { intent: "note", body: "n1" }, await sessionCookie(db, processor.id));

    const byRef = await (await get(`/admin/audit?reference=${r.reference.toLowerCase()}`, cookie)).text();
    const ids = (await listEvents(db, r.id)).map((e) => e.id);
    for (const id of ids) expect(byRef).toContain(`data-event="${id}"`);
    for (const e of await listEvents(db, other.id)) expect(byRef).not.toContain(`data-event="${e.id}"`);

    const byActor = await (await get(`/admin/audit?actor=staff:${processor.id}&action=request.note_added`, cookie)).text();
    const noteEvent = (await listEvents(db, r.id)).find((e) => e.action === "request.note_added")!;
    expect(byActor).toContain(`data-event="${noteEvent.id}"`);
    expect(byActor).not.toContain(`data-event="${ids[0]}"`);
    const prefix = await (await get(`/admin/audit?action=request.note*&reference=${r.reference}`, cookie)).text();
    expect(prefix).toContain(`data-event="${noteEvent.id}"`);
    const subject = await (await get(`/admin/audit?actor=subject&reference=${r.reference}`, cookie)).text();
    expect(subject).toContain(`data-event="${ids[0]}"`);
    expect(subject).not.toContain(`data-event="${noteEvent.id}"`);
    const today = new Date().toISOString().slice(0, 10);
    expect(await (await get(`/admin/audit?reference=${r.reference}&from=${today}&to=${today}`, cookie)).text()).toContain(`data-event="${noteEvent.id}"`);
    expect(await (await get(`/admin/audit?reference=${r.reference}&from=2020-01-01&to=2020-12-31`, cookie)).text()).toContain("No events match.");
    expect(await (await get(`/admin/audit?reference=PR-2222-2222`, cookie)).text()).toContain("No request has that reference.");
  });

  it("pages newest first by id", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const cookie = await sessionCookie(db, admin.id);
    const writer = await sessionCookie(db, processor.id);
    for (let i = 0; i < 55; i++) expect((await post(`/admin/requests/${r.reference}`, { intent: "note", body: `n${i}` }, writer)).status).toBe(302);
    const first = await (await get(`/admin/audit?reference=${r.reference}`, cookie)).text();
    const events = await listEvents(db, r.id);
    expect(events).toHaveLength(56);
    const newest = events.at(-1)!.id;
    expect(first).toContain(`data-event="${newest}"`);
    expect(first).not.toContain(`data-event="${events[0]!.id}"`);
    const older = /href="(\/admin\/audit\?[^"]*before=(\d+)[^"]*)"/.exec(first);
    expect(older).not.toBeNull();
    const second = await (await get(older![1]!.replaceAll("&amp;", "&"), cookie)).text();
    expect(second).toContain(`data-event="${events[0]!.id}"`);
    expect(second).not.toContain(`data-event="${newest}"`);
    expect(second).toContain("Newest events");
  });

  it("answers bad parameters with 400 and messages", async () => {
    const cookie = await sessionCookie(getDb(), auditor.id);
    const res = await get("/admin/audit?reference=nope&from=2026-02-30&action=DROP%20TABLE&actor=root&before=-1", cookie);
    expect(res.status).toBe(400);
    const html = await res.text();
    for (const m of ["A reference looks like PR-XXXX-XXXX.", "“From” must be a date (YYYY-MM-DD).", "An action looks like request.approved", "Choose an actor from the list.", "Bad page link."]) {
      expect(html).toContain(m);
    }
    const reversed = await get("/admin/audit?from=2026-03-02&to=2026-03-01", cookie);
    expect(reversed.status).toBe(400);
    expect(await reversed.text()).toContain("“To” must not be before “From”.");
  });

  it("verifies the chain on demand, records that it ran, and reports the first broken link after tampering", async () => {
    const db = getDb();
    const cookie = await sessionCookie(db, auditor.id);
    const ok = await (await get("/admin/audit?verify=1", cookie)).text();
    expect(ok).toMatch(/Integrity verified: all [\d,]+ events are intact and linked\./);
    const ran = (await db.select().from(requestEvents).where(eq(requestEvents.action, "audit.chain_verified"))).at(-1)!;
    expect(ran).toMatchObject({ actorType: "staff", actorId: auditor.id, details: { ok: true } });

    // Someone with superuser rights edits an event around the append-only trigger.
    const r = await addRequest(db);
    const [victim] = await listEvents(db, r.id);
    await db.transaction(async (tx) => {
      await tx.execute(sql`alter table request_events disable trigger user`);
      await tx.execute(sql`update request_events set details = '{"type":"deletion"}'::jsonb where id = ${victim!.id}`);
      await tx.execute(sql`alter table request_events enable trigger user`);
    });
    const broken = await get("/admin/audit?verify=1", cookie);
    expect(broken.status).toBe(200);
    const html = await broken.text();
    expect(html).toContain(`The chain is broken at event ${victim!.id}`);
    expect(html).toContain("its content no longer matches its hash: the row was edited");
  });
});
