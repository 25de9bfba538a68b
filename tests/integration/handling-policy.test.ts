/**
 * The data-handling policy over real HTTP (server/app.ts + the compiled build) on this file's own database: nothing
 * is blocked before a first version; admins publish versions (step-up; immutable; auditors and processors cannot);
 * a processor who has not acknowledged the current version is refused on request pages — any route under
 * /admin/requests/ — with no change, and allowed after acknowledging; acknowledgements are recorded, audited and
 * listed; markdown reaches the page without scripts, event handlers or unsafe links.
 * The tests run in order: the first one needs a database without any policy.
 */
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { hasAcknowledgedCurrent, listAcknowledgements, policyStanding } from "#app/models/handling-policy.server.ts";
import { requireStaffSession } from "#app/utils/session.server.ts";
import { getDb } from "#db/client.server.ts";
import { handlingPolicyAcknowledgements, handlingPolicyVersions, requestEvents, requests } from "#db/schema/index.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addRequest, addStaff, addStaffOfEachRole, sessionCookie, type StaffMember } from "./console-fixtures.ts";

const web = webAppForTests();
let admin: StaffMember;
let processor: StaffMember;
let auditor: StaffMember;
let adminCookie: string;
let processorCookie: string;
let auditorCookie: string;

beforeAll(async () => {
  const db = getDb();
  ({ admin, processor, auditor } = await addStaffOfEachRole(db));
  adminCookie = await sessionCookie(db, admin.id, { stepUp: true });
  processorCookie = await sessionCookie(db, processor.id);
  auditorCookie = await sessionCookie(db, auditor.id);
});

const PAGE = "/admin/handling-policy";
const get = (path: string, cookie: string) => fetch(web.url + path, { redirect: "manual", headers: { Cookie: cookie } });
/** A response's HTML without React's text-joining comments ("version <!-- -->2" → "version 2"). */
const textOf = async (res: Response | Promise<Response>) => (await (await res).text()).replaceAll("<!-- -->", "");
const post = (path: string, fields: Record<string, string>, cookie: string) => web.post(path, new URLSearchParams(fields), { Cookie: cookie });
const statusOf = async (id: string) => (await getDb().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;
const versions = async () => (await getDb().select().from(handlingPolicyVersions).orderBy(handlingPolicyVersions.version)).map((v) => v.version);
const eventsOf = async (action: string) => getDb().select().from(requestEvents).where(eq(requestEvents.action, action)).orderBy(requestEvents.id);
const publish = (body: string, cookie = adminCookie) => post(PAGE, { intent: "publish", body }, cookie);
const BANNER = "You have not acknowledged the current data-handling policy";

/** The inner HTML of the element carrying `data-testid="<id>"` (a div without nested divs). */
function inner(html: string, id: string): string {
  const m = new RegExp(`data-testid="${id}"[^>]*>([\\s\\S]*?)</div>`).exec(html);
  if (!m) throw new Error(`no ${id} on the page`);
  return m[1]!;
}

describe("before any policy is published", () => {
  it("blocks nobody: a processor who acknowledged nothing acts on a request; no banner", async () => {
    const r = await addRequest(getDb());
    expect(await hasAcknowledgedCurrent(getDb(), processor.id)).toBe(true);
    const page = await textOf(get(`/admin/requests/${r.reference}`, processorCookie));
    expect(page).not.toContain(BANNER);
    const res = await post(`/admin/requests/${r.reference}`, { intent: "approve" }, processorCookie);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/admin/requests/${r.reference}?done=approve`);
    expect(await statusOf(r.id)).toBe("approved");
    const policy = await textOf(get(PAGE, processorCookie));
    expect(policy).toContain("No data-handling policy has been published yet");
  });
});

describe("publishing", () => {
  it("asks for a step-up, publishes numbered versions, refuses blank, unchanged and oversized text, and audits", async () => {
    const stale = await sessionCookie(getDb(), admin.id); // MFA shown, no fresh step-up
    const needsStepUp = await publish("# Policy\n\nFirst.", stale);
    expect(needsStepUp.status).toBe(302);
    expect(needsStepUp.headers.get("location")).toBe(`/admin/step-up?next=${encodeURIComponent(`${PAGE}#editor`)}`);
    expect(await versions()).toEqual([]);

    const first = await publish("# Policy\n\nFirst version: handle data with care.");
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe(`${PAGE}?published=1`);
    expect(await versions()).toEqual([1]);

    const same = await publish("# Policy\r\n\r\nFirst version: handle data with care.   \n");
    expect(same.status).toBe(400);
    expect(await textOf(same)).toContain("This is the text of version 1 already");
    const blank = await publish("   \n ");
    expect(blank.status).toBe(400);
    expect(await textOf(blank)).toContain("Write the policy text before publishing.");
    const huge = await publish("x".repeat(50_001));
    expect(huge.status).toBe(400);
    expect(await textOf(huge)).toContain("at most 50,000 characters");
    expect(await versions()).toEqual([1]);

    const second = await publish("# Policy\n\nSecond version: **never** export data by hand.");
    expect(second.headers.get("location")).toBe(`${PAGE}?published=2`);
    expect(await versions()).toEqual([1, 2]);

    const published = await eventsOf("handling_policy.published");
    expect(published.map((e) => [e.actorType, e.actorId, e.details.version])).toEqual([
      ["staff", admin.id, 1],
      ["staff", admin.id, 2],
    ]);
    expect(JSON.stringify(published)).not.toContain("handle data with care"); // the text stays out of the trail
  });

  it("keeps a published version as it was: the database refuses to change or delete it", async () => {
    const refusal = (e: { message: string; cause?: { message?: string } }) => e.cause?.message ?? e.message;
    const update = await getDb().execute(sql`update handling_policy_versions set body_markdown = 'rewritten' where version = 1`).catch(refusal);
    expect(update).toMatch(/handling_policy_versions is immutable \(UPDATE refused\)/);
    const remove = await getDb().execute(sql`delete from handling_policy_versions where version = 1`).catch(refusal);
    expect(remove).toMatch(/handling_policy_versions is immutable \(DELETE refused\)/);
    const old = await textOf(get(`${PAGE}?version=1`, adminCookie));
    expect(inner(old, "policy-text")).toContain("First version: handle data with care.");
    expect(old).toContain("An older version");
  });

  it("refuses auditors and processors who try to publish, changing nothing", async () => {
    const byAuditor = await publish("# Auditor's policy", auditorCookie);
    expect(byAuditor.status).toBe(403);
    const stepUpProcessor = await sessionCookie(getDb(), processor.id, { stepUp: true });
    const byProcessor = await publish("# Processor's policy", stepUpProcessor);
    expect(byProcessor.status).toBe(403);
    expect(await versions()).toEqual([1, 2]);
    expect(await textOf(get(PAGE, auditorCookie))).not.toContain("Publish a new version");
    expect(await textOf(get(PAGE, adminCookie))).toContain("Publish a new version");
  });
});

describe("acknowledging before acting on requests", () => {
  it("refuses an unacknowledged processor's POST to a request page with no change, and allows it after acknowledging", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const before = (await db.select().from(requestEvents).where(eq(requestEvents.requestId, r.id))).length;

    // Reading is never blocked; the request page says why acting will be refused, with a link to the policy.
    const page = await get(`/admin/requests/${r.reference}`, processorCookie);
    expect(page.status).toBe(200);
    const html = await textOf(page);
    expect(html).toContain(`${BANNER} (version 2)`);
    expect(html).toContain(`href="${PAGE}?next=${encodeURIComponent(`/admin/requests/${r.reference}`)}"`);

    const refused = await post(`/admin/requests/${r.reference}`, { intent: "approve" }, processorCookie);
    expect(refused.status).toBe(303);
    const location = refused.headers.get("location")!;
    expect(location).toBe(`${PAGE}?refused=1&next=${encodeURIComponent(`/admin/requests/${r.reference}`)}`);
    expect(await statusOf(r.id)).toBe("verified");
    expect((await db.select().from(requestEvents).where(eq(requestEvents.requestId, r.id))).length).toBe(before);

    const explained = await textOf(get(location, processorCookie));
    expect(explained).toContain("Your change was not made: acknowledge the current data-handling policy first");
    expect(explained).toContain("I have read version 2 and will follow it");
    expect(inner(explained, "policy-text")).toContain("<strong>never</strong> export data by hand");

    // A version that is no longer current cannot be acknowledged; a malformed one is a message, not an error page.
    const outdated = await post(PAGE, { intent: "acknowledge", version: "1" }, processorCookie);
    expect(outdated.status).toBe(409);
    expect(await textOf(outdated)).toContain("Version 2 of the policy was published after you opened version 1.");
    const malformed = await post(PAGE, { intent: "acknowledge", version: "two" }, processorCookie);
    expect(malformed.status).toBe(400);
    expect((await policyStanding(db, processor.id)).acknowledged).toBe(false);

    const ack = await post(PAGE, { intent: "acknowledge", version: "2", next: `/admin/requests/${r.reference}` }, processorCookie);
    expect(ack.status).toBe(303);
    expect(ack.headers.get("location")).toBe(`/admin/requests/${r.reference}`);
    const again = await post(PAGE, { intent: "acknowledge", version: "2", next: "https://evil.example/" }, processorCookie);
    expect(again.headers.get("location")).toBe(`${PAGE}?acknowledged=2`); // an off-site next is ignored
    const acknowledged = await eventsOf("handling_policy.acknowledged");
    expect(acknowledged.map((e) => [e.actorId, e.details.version])).toEqual([[processor.id, 2]]); // once, not twice

    expect(await textOf(get(`/admin/requests/${r.reference}`, processorCookie))).not.toContain(BANNER);
    const allowed = await post(`/admin/requests/${r.reference}`, { intent: "approve" }, processorCookie);
    expect(allowed.status).toBe(302);
    expect(allowed.headers.get("location")).toBe(`/admin/requests/${r.reference}?done=approve`);
    expect(await statusOf(r.id)).toBe("approved");
  });

  it("covers every route under /admin/requests/ (routes added later too) and leaves other pages and reading alone", async () => {
    const db = getDb();
    const unacknowledged = await addStaff(db, "processor", "new");
    const cookie = await sessionCookie(db, unacknowledged.id);
    const call = (method: string, path: string) =>
      requireStaffSession(new Request(`http://portal.test${path}`, { method, headers: { Cookie: cookie } })).then(
        () => "allowed",
        (thrown: unknown) => (thrown instanceof Response ? `${thrown.status} ${thrown.headers.get("location")}` : String(thrown)),
      );
    expect(await call("POST", "/admin/requests/PR-AAAA-AAAA/correction")).toBe(
      `303 ${PAGE}?refused=1&next=${encodeURIComponent("/admin/requests/PR-AAAA-AAAA/correction")}`,
    );
    expect(await call("DELETE", "/admin/requests/PR-AAAA-AAAA/notes/1")).toMatch(/^303 /);
    expect(await call("GET", "/admin/requests/PR-AAAA-AAAA/correction")).toBe("allowed");
    expect(await call("POST", "/admin/account")).toBe("allowed");
    expect(await call("POST", "/admin/requests-elsewhere")).toBe("allowed");

    // Over HTTP, the correction page another change added under /admin/requests/ is gated without code of its own.
    const r = await addRequest(db, { type: "correction" });
    const correction = await post(`/admin/requests/${r.reference}/correction`, { intent: "confirm" }, await sessionCookie(db, unacknowledged.id, { stepUp: true }));
    expect(correction.status).toBe(303);
    expect(correction.headers.get("location")).toBe(`${PAGE}?refused=1&next=${encodeURIComponent(`/admin/requests/${r.reference}/correction`)}`);
    expect(await statusOf(r.id)).toBe("verified");
  });

  it("lists who acknowledged which version to admins and auditors; a new version asks everyone again", async () => {
    const db = getDb();
    const current = (await db.select().from(handlingPolicyVersions).where(eq(handlingPolicyVersions.version, 2)))[0]!;
    const list = await listAcknowledgements(db, current.id);
    expect(list.find((e) => e.staffId === processor.id)?.acknowledgedAt).toBeInstanceOf(Date);
    expect(list.find((e) => e.staffId === admin.id)?.acknowledgedAt).toBeNull();

    for (const cookie of [adminCookie, auditorCookie]) {
      const html = await textOf(get(PAGE, cookie));
      expect(html).toContain("Who acknowledged version 2");
      expect(html).toContain("1 of 3 administrators and processors."); // admin, processor and the new processor
      expect(html).toContain("not needed (reads only)");
      expect(html).toMatch(new RegExp(`data-staff="${processor.email}" data-acknowledged="yes"`));
      expect(html).toMatch(new RegExp(`data-staff="${admin.email}" data-acknowledged="no"`));
      expect(html).toMatch(/data-version="2"[\s\S]*data-version="1"/); // the versions, newest first
    }
    const own = await textOf(get(PAGE, processorCookie));
    expect(own).not.toContain("Who acknowledged version");
    expect(own).toContain("You acknowledged this version on");
    expect((await get(`${PAGE}?version=1`, processorCookie)).status).toBe(404);
    expect((await get(`${PAGE}?version=abc`, adminCookie)).status).toBe(404);

    // Auditors read but never post, and request pages show them no banner (they do not act on requests).
    expect((await post(PAGE, { intent: "acknowledge", version: "2" }, auditorCookie)).status).toBe(403);
    const r = await addRequest(db);
    expect(await textOf(get(`/admin/requests/${r.reference}`, auditorCookie))).not.toContain(BANNER);

    expect((await publish("# Policy\n\nThird version.")).headers.get("location")).toBe(`${PAGE}?published=3`);
    expect(await hasAcknowledgedCurrent(db, processor.id)).toBe(false);
    const blocked = await post(`/admin/requests/${r.reference}`, { intent: "approve" }, processorCookie);
    expect(blocked.status).toBe(303);
    expect(await statusOf(r.id)).toBe("verified");
    // Other spellings of the path that the router matches are refused too (percent-encoded, upper case, trailing
    // or doubled slashes).
    for (const path of [`/admin/%72equests/${r.reference}`, `/admin/REQUESTS/${r.reference}`, `/Admin/Requests/${r.reference}/`, `/admin//requests/${r.reference}`]) {
      const res = await post(path, { intent: "approve" }, processorCookie);
      expect([303, 404], path).toContain(res.status);
      if (res.status === 303) expect(res.headers.get("location"), path).toMatch(/^\/admin\/handling-policy\?refused=1&next=/);
    }
    expect(await statusOf(r.id)).toBe("verified");
    const rows = await db.select().from(handlingPolicyAcknowledgements).where(eq(handlingPolicyAcknowledgements.staffId, processor.id));
    expect(rows).toHaveLength(1); // the acknowledgement of version 2 is kept
  });
});

describe("markdown", () => {
  const hostile = [
    "# Rules",
    "",
    "<script>alert('xss-script')</script>",
    "",
    "<img src=x onerror=alert('xss-img')>",
    "",
    '<a href="https://example.com" onclick="alert(\'xss-click\')">raw link</a>',
    "",
    "[js link](javascript:alert('xss-js')) [JS upper](JAVASCRIPT:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) [vb](vbscript:msgbox)",
    "",
    '[quote](https://example.com/" onmouseover="alert(1))',
    "",
    "[help](https://example.com/help) and [write to us](mailto:dpo@example.com) and https://example.org/auto",
  ].join("\n");

  /** Every tag of a fragment, with its attributes. */
  const tags = (html: string) => [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>/g)].map((m) => ({ name: m[1]!.toLowerCase(), attrs: m[2]! }));

  function expectSafe(fragment: string) {
    for (const tag of tags(fragment)) {
      expect(["h2", "h3", "p", "a", "strong", "em", "ul", "ol", "li", "code", "pre", "blockquote"]).toContain(tag.name);
      expect(tag.attrs).not.toMatch(/\bon[a-z]+\s*=/i);
      if (tag.name === "a") {
        expect(tag.attrs).toMatch(/^ href="(https:\/\/|mailto:)[^"]*" rel="noopener noreferrer"$/);
      } else {
        expect(tag.attrs).toBe("");
      }
    }
    expect(fragment).not.toMatch(/<script|<img|javascript:alert\(1\)"|href="javascript|href="data|href="vbscript/i);
  }

  it("renders raw HTML as text, keeps only http(s) and mailto links (rel=noopener noreferrer), in the preview and the published page", async () => {
    const preview = await post(PAGE, { intent: "preview", body: hostile }, adminCookie);
    expect(preview.status).toBe(200);
    const previewHtml = await textOf(preview);
    const fragment = inner(previewHtml, "policy-preview");
    expectSafe(fragment);
    expect(fragment).toContain("&lt;script&gt;alert(");
    expect(fragment).toContain('<a href="https://example.com/help" rel="noopener noreferrer">help</a>');
    expect(fragment).toContain('<a href="mailto:dpo@example.com" rel="noopener noreferrer">write to us</a>');
    expect(fragment).toContain('<a href="https://example.org/auto" rel="noopener noreferrer">');
    expect(fragment).toContain("<h2>Rules</h2>"); // one level below the page's h1
    expect(await versions()).toEqual([1, 2, 3]); // a preview publishes nothing

    expect((await publish(hostile)).status).toBe(303);
    for (const cookie of [adminCookie, processorCookie, auditorCookie]) {
      const page = await textOf(get(PAGE, cookie));
      expectSafe(inner(page, "policy-text"));
      // Nowhere on the page (the editor's textarea and the serialized loader data included) does the hostile markup
      // become markup: every tag is free of event handlers, every script is the page's own (with the CSP nonce).
      expect(page).not.toMatch(/<script>alert|<img/i);
      for (const tag of tags(page)) {
        expect(tag.attrs).not.toMatch(/\bon[a-z]+\s*=/i);
        if (tag.name === "script") expect(tag.attrs).toMatch(/\bnonce="/);
        if (tag.name === "a") expect(tag.attrs).not.toMatch(/href="(?!https?:|mailto:|\/)/i);
      }
    }
  });
});

describe("the demo seed", () => {
  it("publishes a first policy when there is none, acknowledges the current one for the demo admin, and runs again without change", async () => {
    const db = getDb();
    // Start from no policy (the table's owner may TRUNCATE; the immutability trigger guards rows, not the table).
    await db.execute(sql`truncate handling_policy_versions cascade`);
    const { seedDemo, DEMO_STAFF_EMAIL, DEMO_HANDLING_POLICY } = await import("#db/seed.ts");
    await seedDemo(db, "demo password for the policy seed test");
    await seedDemo(db, "demo password for the policy seed test");
    const rows = await db.select().from(handlingPolicyVersions);
    expect(rows.map((r) => r.version)).toEqual([1]);
    expect(rows[0]!.bodyMarkdown).toBe(DEMO_HANDLING_POLICY.trim());
    const demoAdmin = (await db.execute<{ id: string }>(sql`select id from staff_users where email = ${DEMO_STAFF_EMAIL}`)) as unknown as { id: string }[];
    const id = demoAdmin[0]!.id;
    expect(rows[0]!.authorId).toBe(id);
    expect(await hasAcknowledgedCurrent(db, id)).toBe(true);
    expect((await eventsOf("handling_policy.acknowledged")).filter((e) => e.actorId === id)).toHaveLength(1);
  });
});
