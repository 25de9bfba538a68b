/**
 * The staff queue (app/models/queue.server.ts and /admin): filters, search by reference and by exact email through
 * the blind index, sorting, days left and badges, pagination with a capped count, and bad URL parameters answered
 * with a message (400), never an error page. Real PostgreSQL; this file's database holds only what it creates.
 */
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { insertRequest } from "#app/models/requests.server.ts";
import { COUNT_CAP, PAGE_SIZE, parseQueueParams, queryQueue, queueSearchString, type QueueParams } from "#app/models/queue.server.ts";
import { getDb } from "#db/client.server.ts";
import { requests, type RequestStatus, type RequestType } from "#db/schema/index.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addStaff, sessionCookie, uniqueEmail } from "./console-fixtures.ts";

const NOW = new Date("2026-06-15T12:00:00.000Z");
const DAY = 86_400_000;
const options = { clock: () => new Date(NOW), timeZone: "UTC", dueSoonDays: 7 };
let me: { id: string };
let colleague: { id: string };
const web = webAppForTests();
let cookie: string;

type Made = { id: string; reference: string };
const made: Record<string, Made> = {};
const sharedEmail = uniqueEmail("Repeat.Customer");

async function add(name: string, f: { region: string; type: RequestType; daysAgo: number; status?: RequestStatus; email?: string; extendDays?: number }) {
  const db = getDb();
  const receivedAt = new Date(NOW.getTime() - f.daysAgo * DAY);
  const row = await db.transaction((tx) => insertRequest(tx, { type: f.type, region: f.region, email: f.email ?? uniqueEmail(name), receivedAt }));
  await db
    .update(requests)
    .set({
      status: f.status ?? "verified",
      ...(f.extendDays ? { extendedDueAt: sql`${requests.dueAt} + make_interval(days => ${f.extendDays})` } : {}),
    })
    .where(eq(requests.id, row.id));
  made[name] = { id: row.id, reference: row.reference };
  return made[name]!;
}

function params(query: string): QueueParams {
  const parsed = parseQueueParams(new URLSearchParams(query));
  if (!parsed.ok) throw new Error(`bad params in test: ${JSON.stringify(parsed.errors)}`);
  return parsed.params;
}

async function refs(query: string) {
  const parsed = parseQueueParams(new URLSearchParams(query));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const page = await queryQueue(getDb(), parsed.params, parsed.search, me.id, options);
  return page.rows.map((r) => r.reference);
}

const R = (...names: string[]) => names.map((n) => made[n]!.reference);

beforeAll(async () => {
  const db = getDb();
  me = await addStaff(db, "processor", "me");
  colleague = await addStaff(db, "processor", "colleague");
  // UK GDPR access: due one month after receipt (rolled to a working day).
  await add("overdue", { region: "UK", type: "access", daysAgo: 40 }); // due ~10 days ago
  await add("dueSoon", { region: "UK", type: "access", daysAgo: 27 }); // due in ~3–4 days
  await add("ccpaDeletion", { region: "US-CA", type: "deletion", daysAgo: 5, status: "in_review" }); // due in 40 days
  await add("completedOptOut", { region: "US-VA", type: "opt_out", daysAgo: 50, status: "completed", email: sharedEmail });
  await add("extended", { region: "EU", type: "deletion", daysAgo: 35, extendDays: 61 }); // original due passed, extended
  await add("mine", { region: "US-CO", type: "correction", daysAgo: 10, status: "awaiting_information", email: sharedEmail });
  await add("colleagues", { region: "UK", type: "portability", daysAgo: 1, status: "approved" });
  await add("denied", { region: "EU", type: "access", daysAgo: 60, status: "denied" });
  await db.update(requests).set({ assigneeId: me.id }).where(eq(requests.id, made.mine!.id));
  await db.update(requests).set({ assigneeId: colleague.id }).where(eq(requests.id, made.colleagues!.id));
  cookie = await sessionCookie(db, me.id);
});

describe("filters and sorting", () => {
  it("shows open requests by default, soonest effective due date first, with days left and badges", async () => {
    const page = await queryQueue(getDb(), params(""), null, me.id, options);
    expect(page.status).toBe("open");
    expect(page.rows.map((r) => r.reference)).toEqual(R("overdue", "dueSoon", "colleagues", "mine", "ccpaDeletion", "extended"));
    const by = Object.fromEntries(page.rows.map((r) => [r.reference, r]));
    expect(by[made.overdue!.reference]).toMatchObject({ badge: "overdue" });
    expect(by[made.overdue!.reference]!.daysLeft).toBeLessThan(0);
    expect(by[made.dueSoon!.reference]).toMatchObject({ badge: "due-soon" });
    expect(by[made.dueSoon!.reference]!.daysLeft).toBeGreaterThanOrEqual(0);
    expect(by[made.ccpaDeletion!.reference]).toMatchObject({ badge: "on-time", daysLeft: 40 });
    // The extension counts: its original due date passed, the extended one is weeks away.
    const ext = by[made.extended!.reference]!;
    expect(ext.extendedDueAt).not.toBeNull();
    expect(ext.effectiveDueAt).toEqual(ext.extendedDueAt);
    expect(ext.badge).toBe("on-time");
    expect(by[made.mine!.reference]).toMatchObject({ assigneeId: me.id, assigneeName: expect.stringMatching(/^Tess me /) });
    expect(page).toMatchObject({ total: 6, totalCapped: false, hasNext: false, page: 1 });
  });

  it("filters by status (one, all), type and law", async () => {
    expect(await refs("status=completed")).toEqual(R("completedOptOut"));
    expect(await refs("status=all&sort=-received")).toEqual(R("colleagues", "ccpaDeletion", "mine", "dueSoon", "extended", "overdue", "completedOptOut", "denied"));
    expect(await refs("status=awaiting_information")).toEqual(R("mine"));
    expect(await refs("type=deletion")).toEqual(R("ccpaDeletion", "extended"));
    expect(await refs("regime=gdpr&status=all&sort=received")).toEqual(R("denied", "extended"));
    expect(await refs("regime=uk_gdpr&type=access")).toEqual(R("overdue", "dueSoon"));
  });

  it("filters by deadline: overdue, due within N days, both; ended requests are never overdue", async () => {
    expect(await refs("overdue=1")).toEqual(R("overdue"));
    expect(await refs("overdue=1&status=all")).toEqual(R("overdue"));
    expect(await refs("within=7")).toEqual(R("dueSoon"));
    expect(await refs("within=7&overdue=on")).toEqual(R("overdue", "dueSoon"));
    expect(await refs("within=0")).toEqual([]);
    expect(await refs("within=365&sort=-due")).toEqual(R("extended", "ccpaDeletion", "mine", "colleagues", "dueSoon"));
  });

  it("filters by assignee: me, nobody, a colleague", async () => {
    expect(await refs("assignee=me")).toEqual(R("mine"));
    expect(await refs(`assignee=${colleague.id}`)).toEqual(R("colleagues"));
    expect(await refs("assignee=none")).toEqual(R("overdue", "dueSoon", "ccpaDeletion", "extended"));
  });
});

describe("search", () => {
  it("finds a request by reference, whatever its status, in any case and with or without dashes", async () => {
    const ref = made.completedOptOut!.reference;
    expect(await refs(`q=${ref}`)).toEqual([ref]);
    expect(await refs(`q=${encodeURIComponent(` ${ref.toLowerCase()} `)}`)).toEqual([ref]);
    expect(await refs(`q=${ref.replaceAll("-", "")}`)).toEqual([ref]);
    // An explicit status still applies.
    expect(await refs(`q=${ref}&status=open`)).toEqual([]);
  });

  it("finds a customer's requests by exact email through the blind index (case and spaces ignored)", async () => {
    expect(await refs(`q=${encodeURIComponent(sharedEmail)}&sort=received`)).toEqual(R("completedOptOut", "mine"));
    expect(await refs(`q=${encodeURIComponent(`  ${sharedEmail.toUpperCase()} `)}&sort=received`)).toEqual(R("completedOptOut", "mine"));
    expect(await refs(`q=${encodeURIComponent("nobody-at-all@example.com")}`)).toEqual([]);
    // Nothing is decrypted: the stored identity never holds the address in clear, only the index matches.
    const raw = await getDb().execute<{ n: number }>(sql`select count(*)::int as n from requests where identity_ciphertext like ${`%${sharedEmail}%`}`);
    expect(Number((raw as unknown as { n: number }[])[0]!.n)).toBe(0);
  });

  it("refuses anything else with a message", () => {
    for (const [q, message] of [
      ["repeat.customer", "Search for a request reference (PR-XXXX-XXXX) or a customer's exact email address."],
      ["@example.com", "That is not a complete email address: search for the customer's exact address."],
      ["PR-1234-ABCD", "Search for a request reference (PR-XXXX-XXXX) or a customer's exact email address."], // 1 is not in the alphabet
    ] as const) {
      const parsed = parseQueueParams(new URLSearchParams({ q }));
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.errors).toEqual([{ field: "q", message }]);
    }
  });
});

describe("bad parameters", () => {
  it("names every bad parameter, keeps the good ones, and ignores unknown ones", () => {
    const parsed = parseQueueParams(new URLSearchParams("status=bogus&type=access&within=abc&page=0&sort=sideways&assignee=bob&overdue=maybe&regime=mars&utm_source=x"));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(Object.fromEntries(parsed.errors.map((e) => [e.field, e.message]))).toEqual({
      status: "Choose a status from the list.",
      within: "“Due within” must be a number of days.",
      page: "Pages start at 1.",
      sort: "Choose a sort order from the list.",
      assignee: "Choose whose requests to show from the list.",
      overdue: "“Overdue” is a checkbox: leave it out or send 1.",
      regime: "Choose a law from the list.",
    });
    expect(parsed.params).toMatchObject({ type: "access" });
    expect(parseQueueParams(new URLSearchParams("within=999")).ok).toBe(false);
    expect(parseQueueParams(new URLSearchParams("within=2.5")).ok).toBe(false);
    expect(parseQueueParams(new URLSearchParams("page=10001")).ok).toBe(false);
    // Empty fields (a GET form's untouched inputs) are "not given".
    expect(parseQueueParams(new URLSearchParams("q=&status=&type=&regime=&within=&assignee=&sort=&page="))).toMatchObject({ ok: true, params: { sort: "due", page: 1 } });
  });

  it("answers /admin with bad parameters with 400 and the messages, not an error page", async () => {
    const res = await fetch(`${web.url}/admin?status=bogus&within=abc&q=hello`, { headers: { Cookie: cookie } });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("These filters could not be used");
    expect(html).toContain("Choose a status from the list.");
    expect(html).toContain("“Due within” must be a number of days.");
    expect(html).toContain("Filter and search"); // the form is still there
    expect(html).not.toContain("Something went wrong");
  });

  it("answers a search over HTTP: the email finds the request, the page links to it", async () => {
    const res = await fetch(`${web.url}/admin?q=${encodeURIComponent(sharedEmail)}`, { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`data-reference="${made.mine!.reference}"`);
    expect(html).toContain(`data-reference="${made.completedOptOut!.reference}"`);
    expect(html).not.toContain(`data-reference="${made.overdue!.reference}"`);
  });
});

describe("pagination", () => {
  it("pages by 50 with next/previous links that keep the filters, and caps the count", async () => {
    const db = getDb();
    // 1,010 more open UK access requests, received over the last 20 days (straight SQL: the queue decrypts nothing).
    await db.execute(sql`
      insert into requests (reference, type, regime, jurisdiction, status, identity_ciphertext, email_index, received_at, due_at)
      select 'PR-' || upper(substr(md5(g::text), 1, 4)) || '-' || upper(substr(md5(g::text), 5, 4)) || 'X' || g, 'access', 'uk_gdpr', 'UK', 'verified',
             'not-decrypted', md5('bulk' || g), ${NOW.toISOString()}::timestamptz - make_interval(days => g % 20),
             ${NOW.toISOString()}::timestamptz + make_interval(days => 10 + g % 20)
      from generate_series(1, 1010) g`);
    const first = await queryQueue(db, params("type=access&regime=uk_gdpr"), null, me.id, options);
    expect(first.rows).toHaveLength(PAGE_SIZE);
    expect(first).toMatchObject({ page: 1, hasNext: true, total: COUNT_CAP, totalCapped: true });
    const p21 = await queryQueue(db, params("type=access&regime=uk_gdpr&page=21"), null, me.id, options);
    expect(p21.rows).toHaveLength(12); // 1,012 in all
    expect(p21.hasNext).toBe(false);
    // Pages do not overlap and keep the order.
    const p2 = await queryQueue(db, params("type=access&regime=uk_gdpr&page=2"), null, me.id, options);
    expect(new Set([...first.rows, ...p2.rows].map((r) => r.id)).size).toBe(100);
    expect(first.rows.at(-1)!.effectiveDueAt.getTime()).toBeLessThanOrEqual(p2.rows[0]!.effectiveDueAt.getTime());

    expect(queueSearchString(params("type=access&regime=uk_gdpr&page=2"), { page: 3 })).toBe("?type=access&regime=uk_gdpr&page=3");
    expect(queueSearchString(params("sort=due&page=1"))).toBe("");
    const html = await (await fetch(`${web.url}/admin?type=access&regime=uk_gdpr&page=2`, { headers: { Cookie: cookie } })).text();
    expect(html).toContain('href="/admin?type=access&amp;regime=uk_gdpr&amp;page=3"');
    expect(html).toContain('href="/admin?type=access&amp;regime=uk_gdpr"'); // previous = page 1
    expect(html).toContain("Showing 51–100 of more than 1,000");
  });
});
