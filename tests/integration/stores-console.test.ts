/**
 * The stores pages of the staff console over real HTTP (server/app.ts + the compiled build), with signed-in staff
 * sessions, against a real PostgreSQL store (a scratch database): creating a store from a map, errors placed at their
 * line with nothing saved, editing, secrets never shown back (pages, loader JSON, audit trail), the connection test's
 * missing-index warning with its CREATE INDEX, a dry run that counts and changes nothing, enable/disable, and roles.
 */
import { asc, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestEvents, stores } from "#db/schema/index.ts";
import { createScratchPostgres, type ScratchPostgres } from "#tests/helpers/scratch-db.ts";
import { shopMapSource } from "#tests/helpers/shop-map.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addStaff, addStaffOfEachRole, sessionCookie, type StaffMember } from "./console-fixtures.ts";

/** Written into the store's connection URL as its password (the scratch server trusts local connections). */
const CANARY = "CanaryPw-7f3b9d1e";
const NEW_SECRET = "Replacement-Secret-5c2a";
const SUBJECT = { email: "Ada.Lovelace@Example.com", name: "Ada Lovelace" };

const web = webAppForTests();
let store: ScratchPostgres;
let storeUrl: string;
let admin: StaffMember;
let processor: StaffMember;
let auditor: StaffMember;

const mapText = (url: string, { name = "console-shop", title = "Console shop", extra = "" } = {}) =>
  shopMapSource({
    name,
    title,
    url,
    email: '{ identity: email, match: lower, erasure: { action: mask, value: "erased@invalid" } }',
    customerFields: `\n      full_name: { erasure: { action: mask, value: Erased } }${extra}`,
    basis: "Invoices are kept for 10 years (tax law)",
  });

beforeAll(async () => {
  ({ admin, processor, auditor } = await addStaffOfEachRole(getDb()));
  store = await createScratchPostgres("console");
  const u = new URL(store.url);
  u.password = CANARY;
  storeUrl = u.toString();
  // No index on lower(email): the connection test must say so, with the statement that adds it.
  await store.sql.unsafe(`
    create table customers (id serial primary key, email text not null, full_name text not null);
    create table orders (id serial primary key, customer_id int not null references customers(id), total numeric(10,2) not null);
    create index on orders (customer_id);
    insert into customers (email, full_name) values ('ada.lovelace@example.com', 'Ada Lovelace'), ('bob@example.com', 'Bob Builder');
    insert into orders (customer_id, total) values (1, 10.00), (1, 20.00), (2, 5.00);
  `);
});

afterAll(async () => {
  await store?.drop();
});

const get = (path: string, cookie: string) => fetch(web.url + path, { redirect: "manual", headers: { Cookie: cookie } });
const post = (path: string, fields: Record<string, string>, cookie: string) => web.post(path, new URLSearchParams(fields), { Cookie: cookie });
const storeRows = () => getDb().select().from(stores).orderBy(asc(stores.name));
const shopRow = async () => (await getDb().select().from(stores).where(eq(stores.name, "console-shop")))[0]!;
const storeEvents = async () =>
  getDb()
    .select()
    .from(requestEvents)
    .where(inArray(requestEvents.action, ["store.created", "store.updated", "store.tested", "store.dry_run", "store.enabled", "store.disabled"]))
    .orderBy(asc(requestEvents.id));
const snapshot = async () => JSON.stringify([await store.sql`select * from customers order by id`, await store.sql`select * from orders order by id`]);
const loaderJson = (path: string, routeId: string, cookie: string) => get(`${path}?_data=${encodeURIComponent(routeId)}`, cookie);

/** The body, without the `<!-- -->` React puts between adjacent text parts, quotes and ampersands unescaped. */
const textOf = async (res: Response) => (await res.text()).replaceAll("<!-- -->", "").replaceAll("&quot;", '"').replaceAll("&#x27;", "'").replaceAll("&amp;", "&");

function expectNoSecret(body: string) {
  expect(body).not.toContain(CANARY);
  expect(body).not.toContain(NEW_SECRET);
}

describe("creating a store", () => {
  it("shows the map's errors with their lines, saves nothing, and never shows back a secret typed into the map", async () => {
    const cookie = await sessionCookie(getDb(), admin.id, { stepUp: true });
    const bad = mapText(storeUrl, { extra: "\n      colour: { category: other, sparkle: true }" }).replace("  retention: 10 years\n", "");
    const res = await post("/admin/stores/new", { intent: "save", text: bad, newPassword: NEW_SECRET }, cookie);
    expect(res.status).toBe(400);
    const html = await textOf(res);
    expectNoSecret(html);
    const lines = bad.split("\n");
    const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    expect(html).toContain("The map has 2 problems");
    expect(html).toContain(`Line ${lineOf("metadata:")}, column 1`);
    expect(html).toContain('missing required key "retention"');
    expect(html).toContain(`Line ${lineOf("sparkle")}, column ${lines[lineOf("sparkle") - 1]!.indexOf("sparkle") + 1}`);
    expect(html).toContain('unknown key "sparkle"');
    // The typed URL was replaced in the text shown back, and the page says so.
    expect(html).toContain("url: stored");
    expect(html).toContain("Secrets are never shown back");
    expect(html).toMatch(/aria-invalid="true"/);
    expect(await storeRows()).toHaveLength(0);

    const syntax = await post("/admin/stores/new", { intent: "save", text: mapText(storeUrl).replace("  source: You", "  source: [You") }, cookie);
    expect(syntax.status).toBe(400);
    const syntaxHtml = await textOf(syntax);
    expectNoSecret(syntaxHtml);
    expect(syntaxHtml).toMatch(/Line \d+, column \d+/);
    const reserved = await post("/admin/stores/new", { intent: "save", text: mapText("env:X", { name: "new" }) }, cookie);
    expect(reserved.status).toBe(400);
    expect(await textOf(reserved)).toContain("Line 2, column 1");
    expect(await storeRows()).toHaveLength(0);
    expect(await storeEvents()).toHaveLength(0);
  });

  it("creates the store from a valid map (admin after a step-up), audited, with the secret encrypted and never shown back", async () => {
    const cookie = await sessionCookie(getDb(), admin.id, { stepUp: true });
    const form = await get("/admin/stores/new", cookie);
    expect(form.status).toBe(200);
    expect(await textOf(form)).toContain("Create store");

    const res = await post("/admin/stores/new", { intent: "save", text: mapText(storeUrl) }, cookie);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/admin/stores/console-shop?saved=created");
    const [row] = await storeRows();
    expect(row).toMatchObject({ name: "console-shop", kind: "postgres", title: "Console shop", mapVersion: 1, disabledAt: null });
    expect(JSON.stringify(row!.dataMap)).not.toContain(CANARY);
    expect(row!.secretsCiphertext).not.toContain(CANARY);

    const page = await get("/admin/stores/console-shop?saved=created", cookie);
    expect(page.status).toBe(200);
    const html = await textOf(page);
    expectNoSecret(html);
    expect(html).toContain("Store created.");
    expect(html).toContain("url: stored");
    expect(html).toContain("A value is stored (encrypted). Leave empty to keep it.");
    expect(html).toContain("Save map");
    const data = await loaderJson("/admin/stores/console-shop", "routes/admin.stores.$name", cookie);
    expect(data.status).toBe(200);
    expectNoSecret(await textOf(data));
    const list = await get("/admin/stores", cookie);
    const listHtml = await textOf(list);
    expectNoSecret(listHtml);
    expect(listHtml).toContain('data-store="console-shop"');
    expect(listHtml).toContain("enabled");
    expect(listHtml).toContain("not tested from the console yet");

    const again = await post("/admin/stores/new", { intent: "save", text: mapText("env:OTHER") }, cookie);
    expect(again.status).toBe(409);
    expect(await textOf(again)).toContain("exists already: edit it instead");

    const events = await storeEvents();
    expect(events.map((e) => [e.action, e.actorType, e.actorId])).toEqual([["store.created", "staff", admin.id]]);
    expect(events[0]!.details).toMatchObject({ store: "console-shop", kind: "postgres", mapVersion: 1 });
    expectNoSecret(JSON.stringify(events));
  });
});

describe("the connection test", () => {
  it("shows a missing index with its CREATE INDEX, records the outcome (processors may test), and the list shows it", async () => {
    const cookie = await sessionCookie(getDb(), processor.id);
    const res = await post("/admin/stores/console-shop", { intent: "test" }, cookie);
    expect(res.status).toBe(200);
    const html = await textOf(res);
    expectNoSecret(html);
    expect(html).toContain("Connection test: connected in");
    expect(html).toContain("missing index");
    expect(html).toContain('<code>CREATE INDEX CONCURRENTLY "customers_email_lower_idx" ON "public"."customers" (lower("email"));</code>');

    const [tested] = (await storeEvents()).filter((e) => e.action === "store.tested");
    expect(tested).toMatchObject({ actorType: "staff", actorId: processor.id });
    expect(tested!.details).toMatchObject({ store: "console-shop", connected: true, ok: true, warnings: [{ code: "missing_index", collection: "customers", column: "email" }] });
    const list = await textOf(await get("/admin/stores", cookie));
    expect(list).toContain("the map fits");
    expect(list).toContain("1 warning");
    expect(list).toContain("missing index (customers.email)");
    expect(list).toContain(processor.name);
  });
});

describe("editing a store", () => {
  it("saves an edited map as a new version, keeps the stored secret, and refuses a changed name", async () => {
    const cookie = await sessionCookie(getDb(), admin.id, { stepUp: true });
    const page = await textOf(await get("/admin/stores/console-shop", cookie));
    // The text the editor shows: the stored map, `stored` where the secret is.
    const shown = /<textarea[^>]*id="map-text"[^>]*>([\s\S]*?)<\/textarea>/.exec(page)![1]!.replaceAll("&gt;", ">").replaceAll("&lt;", "<");
    expect(shown).toContain("  url: stored\n");
    const edited = shown.replace("title: Console shop", "title: Console shop (edited)");
    const res = await post("/admin/stores/console-shop", { intent: "save", text: edited }, cookie);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/admin/stores/console-shop?saved=saved");
    const [row] = await storeRows();
    expect(row).toMatchObject({ title: "Console shop (edited)", mapVersion: 2 });
    // The stored secret still connects.
    const test = await textOf(await post("/admin/stores/console-shop", { intent: "test" }, cookie));
    expect(test).toContain("Connection test: connected in");

    const unchanged = await post("/admin/stores/console-shop", { intent: "save", text: edited }, cookie);
    expect(unchanged.headers.get("location")).toBe("/admin/stores/console-shop?saved=unchanged");

    const renamed = await post("/admin/stores/console-shop", { intent: "save", text: edited.replace("name: console-shop", "name: other-shop") }, cookie);
    expect(renamed.status).toBe(400);
    const renamedHtml = await textOf(renamed);
    expect(renamedHtml).toContain("Line 2, column 1");
    expect(renamedHtml).toContain("cannot change here");
    expect((await storeRows()).map((s) => s.name)).toEqual(["console-shop"]);

    const updates = (await storeEvents()).filter((e) => e.action === "store.updated");
    expect(updates.map((e) => [e.actorId, e.details.secretsChanged])).toEqual([[admin.id, false]]);
  });

  it("replaces a secret from the write-only field (never displayed), and a wrong one shows in the test", async () => {
    const cookie = await sessionCookie(getDb(), admin.id, { stepUp: true });
    const u = new URL(store.url);
    u.password = NEW_SECRET;
    u.pathname = "/portal_no_such_database_x";
    const text = mapText("stored", { title: "Console shop (edited)" });
    const res = await post("/admin/stores/console-shop", { intent: "save", text, newUrl: u.toString() }, cookie);
    expect(res.status).toBe(302);
    const failed = await post("/admin/stores/console-shop", { intent: "test" }, cookie);
    const failedHtml = await textOf(failed);
    expectNoSecret(failedHtml);
    expect(failedHtml).toContain("Connection test: could not connect");
    expect(failedHtml).toContain("3D000"); // database does not exist

    // A secret this kind does not have is refused next to its field; nothing changes.
    const wrongKind = await post("/admin/stores/console-shop", { intent: "save", text, newSecret: NEW_SECRET }, cookie);
    expect(wrongKind.status).toBe(400);
    const wrongHtml = await textOf(wrongKind);
    expectNoSecret(wrongHtml);
    expect(wrongHtml).toContain("A postgres store has no such secret");

    expect((await post("/admin/stores/console-shop", { intent: "save", text, newUrl: storeUrl }, cookie)).status).toBe(302);
    expect(await textOf(await post("/admin/stores/console-shop", { intent: "test" }, cookie))).toContain("Connection test: connected in");
    const updates = (await storeEvents()).filter((e) => e.action === "store.updated");
    expect(updates.slice(-2).map((e) => e.details.secretsChanged)).toEqual([true, true]);
    expectNoSecret(JSON.stringify(await storeEvents()));
    const pages: [string, string][] = [
      ["/admin/stores", "routes/admin.stores._index"],
      ["/admin/stores/console-shop", "routes/admin.stores.$name"],
      ["/admin/stores/console-shop/dry-run", "routes/admin.stores.$name_.dry-run"],
    ];
    for (const [path, routeId] of pages) {
      const html = await get(path, cookie);
      expect(html.status).toBe(200);
      expectNoSecret(await textOf(html));
      const data = await loaderJson(path, routeId, cookie);
      expect(data.status).toBe(200);
      expectNoSecret(await textOf(data));
    }
  });

  it("keeps the text (without secrets) when the step-up expired while editing, saving nothing", async () => {
    const cookie = await sessionCookie(getDb(), admin.id); // MFA, no step-up
    const page = await textOf(await get("/admin/stores/console-shop", cookie));
    expect(page).toContain("Confirm it is you to edit");
    expect(page).not.toContain("Save map");
    expect(page).toMatch(/<textarea[^>]*readOnly|<textarea[^>]*readonly/);
    const before = await storeRows();
    const res = await post("/admin/stores/console-shop", { intent: "save", text: mapText(storeUrl, { title: "Lost?" }), newPassword: NEW_SECRET }, cookie);
    expect(res.status).toBe(401);
    const html = await textOf(res);
    expectNoSecret(html);
    expect(html).toContain("title: Lost?");
    expect(html).toContain("nothing was saved");
    expect(await storeRows()).toEqual(before);
    const newPage = await get("/admin/stores/new", cookie);
    expect(newPage.status).toBe(302);
    expect(newPage.headers.get("location")).toBe(`/admin/step-up?next=${encodeURIComponent("/admin/stores/new")}`);
  });
});

describe("the dry run", () => {
  it("shows rows per collection and action and which fields — no values — and changes nothing in the store", async () => {
    const cookie = await sessionCookie(getDb(), processor.id);
    const form = await get("/admin/stores/console-shop/dry-run", cookie);
    expect(form.status).toBe(200);
    const before = await snapshot();
    const res = await post("/admin/stores/console-shop/dry-run", { email: SUBJECT.email }, cookie);
    expect(res.status).toBe(200);
    const html = await textOf(res);
    expect(html).toMatch(/data-testid="access-rows-customers">1</);
    expect(html).toMatch(/data-testid="access-rows-orders">2</);
    expect(html).toContain("Found: 3 rows in total.");
    expect(html).toContain("id, email, full_name"); // which fields access exports
    expect(html).toMatch(/data-testid="erasure-matched-customers">1</);
    expect(html).toMatch(/data-testid="erasure-masked-customers">1</); // kept orders still reference the customer
    expect(html).toMatch(/data-testid="erasure-kept-orders">2</);
    expect(html).toContain("Invoices are kept for 10 years (tax law)");
    expect(html).toContain("email → mask");
    // No identity and no value from the store in the page.
    expect(html.toLowerCase()).not.toContain(SUBJECT.email.toLowerCase());
    expect(html).not.toContain(SUBJECT.name);
    expect(html).not.toContain("20.00");
    expect(await snapshot()).toBe(before);

    const nobody = await textOf(await post("/admin/stores/console-shop/dry-run", { email: "nobody@example.com" }, cookie));
    expect(nobody).toContain("No records found.");
    expect(nobody).toContain("Nothing to erase.");

    const invalid = await post("/admin/stores/console-shop/dry-run", { email: "not-an-email" }, cookie);
    expect(invalid.status).toBe(400);
    const invalidHtml = await textOf(invalid);
    expect(invalidHtml).toContain("Enter an email address like name@example.com.");
    expect(invalidHtml).not.toContain("not-an-email");
    const empty = await post("/admin/stores/console-shop/dry-run", { email: "" }, cookie);
    expect(empty.status).toBe(400);
    expect(await textOf(empty)).toContain("Enter the identity to look for.");

    const runs = (await storeEvents()).filter((e) => e.action === "store.dry_run");
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({ actorType: "staff", actorId: processor.id });
    expect(runs[0]!.details).toMatchObject({ store: "console-shop", identityKinds: ["email"], access: "counts", erasure: "report" });
    expect(JSON.stringify(runs).toLowerCase()).not.toContain("lovelace");
    expect(await snapshot()).toBe(before);
  });

  it("shows a manual store's task for a person instead of counts, changing nothing", async () => {
    await applyStoreMap(getDb(), {
      name: "console-desk",
      kind: "manual",
      connection: { instructions: "Search the returns binder for the customer and report what you find.", team: "Returns" },
      metadata: { purposes: ["Returns"], retention: "2 years", source: "You" },
    });
    const cookie = await sessionCookie(getDb(), admin.id);
    const res = await post("/admin/stores/console-desk/dry-run", { email: SUBJECT.email }, cookie);
    expect(res.status).toBe(200);
    const html = await textOf(res);
    expect(html).toContain("A person handles this store (Returns)");
    expect(html).toContain("Search the returns binder for the customer and report what you find.");
    expect(html.toLowerCase()).not.toContain(SUBJECT.email.toLowerCase());
  });

  it("is rate-limited per staff member", async () => {
    const other = await addStaff(getDb(), "processor", "limited");
    const cookie = await sessionCookie(getDb(), other.id);
    for (let i = 0; i < 30; i++) expect((await post("/admin/stores/console-shop/dry-run", { email: "" }, cookie)).status).toBe(400);
    const limited = await post("/admin/stores/console-shop/dry-run", { email: SUBJECT.email }, cookie);
    expect(limited.status).toBe(429);
    expect(await textOf(limited)).toContain("Too many dry runs.");
    // Another staff member is not limited.
    expect((await post("/admin/stores/console-shop/dry-run", { email: "" }, await sessionCookie(getDb(), admin.id))).status).toBe(400);
  });

  it("answers 404 for a store that does not exist", async () => {
    const cookie = await sessionCookie(getDb(), admin.id);
    expect((await get("/admin/stores/no-such-store/dry-run", cookie)).status).toBe(404);
    expect((await post("/admin/stores/no-such-store/dry-run", { email: SUBJECT.email }, cookie)).status).toBe(404);
    expect((await get("/admin/stores/no-such-store", cookie)).status).toBe(404);
    expect((await post("/admin/stores/no-such-store", { intent: "test" }, cookie)).status).toBe(404);
  });
});

describe("roles", () => {
  it("lets auditors read the list and a store but post nothing; processors test and dry-run but cannot edit", async () => {
    const db = getDb();
    const auditorCookie = await sessionCookie(db, auditor.id, { stepUp: true });
    const list = await get("/admin/stores", auditorCookie);
    expect(list.status).toBe(200);
    const listHtml = await textOf(list);
    expect(listHtml).toContain("console-shop");
    expect(listHtml).not.toContain("New store");
    expect(listHtml).not.toContain("Dry run");
    const page = await get("/admin/stores/console-shop", auditorCookie);
    expect(page.status).toBe(200);
    const html = await textOf(page);
    expect(html).toContain("url: stored");
    expect(html).not.toContain("Save map");
    expect(html).not.toContain("Test connection");
    for (const intent of ["test", "save", "disable"]) {
      expect((await post("/admin/stores/console-shop", { intent, text: mapText("env:X") }, auditorCookie)).status).toBe(403);
    }
    expect((await get("/admin/stores/console-shop/dry-run", auditorCookie)).status).toBe(403);
    expect((await post("/admin/stores/console-shop/dry-run", { email: SUBJECT.email }, auditorCookie)).status).toBe(403);
    expect((await get("/admin/stores/new", auditorCookie)).status).toBe(403);

    const processorCookie = await sessionCookie(db, processor.id, { stepUp: true });
    expect((await get("/admin/stores/new", processorCookie)).status).toBe(403);
    expect((await post("/admin/stores/new", { intent: "save", text: mapText("env:X", { name: "p-shop" }) }, processorCookie)).status).toBe(403);
    const before = await storeRows();
    expect((await post("/admin/stores/console-shop", { intent: "save", text: mapText("env:X", { title: "Processor" }) }, processorCookie)).status).toBe(403);
    expect((await post("/admin/stores/console-shop", { intent: "disable" }, processorCookie)).status).toBe(403);
    expect(await storeRows()).toEqual(before);
    const processorPage = await textOf(await get("/admin/stores/console-shop", processorCookie));
    expect(processorPage).toContain("Test connection");
    expect(processorPage).not.toContain("Save map");
    expect(processorPage).not.toContain("Disable store");
  });

  it("lets admins disable and enable a store after a step-up, audited", async () => {
    const db = getDb();
    const noStepUp = await post("/admin/stores/console-shop", { intent: "disable" }, await sessionCookie(db, admin.id));
    expect(noStepUp.status).toBe(302);
    expect(noStepUp.headers.get("location")).toMatch(/^\/admin\/step-up\?next=/);
    expect((await shopRow()).disabledAt).toBeNull();

    const cookie = await sessionCookie(db, admin.id, { stepUp: true });
    const off = await post("/admin/stores/console-shop", { intent: "disable" }, cookie);
    expect(off.headers.get("location")).toBe("/admin/stores/console-shop?saved=disabled");
    expect((await shopRow()).disabledAt).not.toBeNull();
    expect(await textOf(await get("/admin/stores", cookie))).toContain(">disabled<");
    const on = await post("/admin/stores/console-shop", { intent: "enable" }, cookie);
    expect(on.headers.get("location")).toBe("/admin/stores/console-shop?saved=enabled");
    expect((await shopRow()).disabledAt).toBeNull();
    const events = (await storeEvents()).filter((e) => e.action === "store.disabled" || e.action === "store.enabled");
    expect(events.map((e) => [e.action, e.actorId])).toEqual([
      ["store.disabled", admin.id],
      ["store.enabled", admin.id],
    ]);
    const unknown = await post("/admin/stores/console-shop", { intent: "launch" }, cookie);
    expect(unknown.status).toBe(400);
    expect(await textOf(unknown)).toContain("Unknown action.");
    expect((await getDb().select().from(stores).where(eq(stores.name, "console-shop")))[0]!.mapVersion).toBeGreaterThan(1);
  });
});
