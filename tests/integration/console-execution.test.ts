/**
 * The request page's execution actions over real HTTP (server/app.ts + the compiled build) with a real worker:
 * a deletion across a real PostgreSQL store that is down (behind a TCP proxy this test opens and closes) and a
 * manual store. The store fails → the request needs action; staff record the manual task (counts and notes) and,
 * once the database is back, retry the store → the request completes and the requester gets the summary.
 * Role checks, refused transitions, bad counts, the legal hold, and the page's live refresh.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { rm } from "node:fs/promises";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import { listNotes } from "#app/models/notes.server.ts";
import { packageDir } from "#app/models/packages.server.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getDb } from "#db/client.server.ts";
import { requests, storeRuns } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { eventually } from "#tests/helpers/flow.ts";
import { freePort } from "#tests/helpers/processes.ts";
import { createScratchPostgres, type ScratchPostgres } from "#tests/helpers/scratch-db.ts";
import { startWeb } from "#tests/helpers/web.ts";
import { closeConnections } from "#tests/helpers/worker.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";
import { addRequest, addStaff, sessionCookie } from "./console-fixtures.ts";

vi.hoisted(() => {
  process.env.PACKAGE_DIR = `${process.env.TMPDIR ?? "/tmp"}/portal-packages-${process.pid}-${Math.random().toString(36).slice(2)}`;
  process.env.EXECUTION_ATTEMPTS = "2";
});

/** A TCP proxy to the real PostgreSQL server that can be taken down (refusing and cutting connections) and back up. */
function databaseProxy(target: { host: string; port: number }, port: number) {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  return {
    port,
    async up() {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("error", () => {});
          s.on("close", () => {
            sockets.delete(s);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((r) => server!.listen(port, "127.0.0.1", () => r()));
    },
    async down() {
      for (const s of sockets) s.destroy();
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      server = null;
    },
  };
}

const db = () => getDb();
let web: Awaited<ReturnType<typeof startWeb>>;
let worker: RunningWorker;
let shop: ScratchPostgres;
let proxy: ReturnType<typeof databaseProxy>;
let shopStoreId: string;
let manualStoreId: string;
let processor: Awaited<ReturnType<typeof addStaff>>;
let auditor: Awaited<ReturnType<typeof addStaff>>;
const SUBJECT = "olive.orders@example.com";

beforeAll(async () => {
  shop = await createScratchPostgres("consoleexec");
  await shop.sql.unsafe(`
    create table customers (id int primary key, email text not null, full_name text);
    create index on customers (email);
    create table orders (id int primary key, customer_id int not null references customers(id), total numeric not null);
    create index on orders (customer_id);
    insert into customers values (1, '${SUBJECT}', 'Olive Orders'), (2, 'someone.else@example.com', 'Sam Else');
    insert into orders values (10, 1, 12.5), (11, 1, 8), (20, 2, 3);`);
  const direct = new URL(shop.url);
  proxy = databaseProxy({ host: direct.hostname, port: Number(direct.port || 5432) }, await freePort());
  const proxied = new URL(shop.url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(proxy.port);
  const { store } = await applyStoreMap(db(), {
    name: "shop",
    title: "Online shop",
    kind: "postgres",
    connection: { url: proxied.toString(), tls: { mode: "disable" } },
    metadata: { purposes: ["Orders"], retention: "10 years", source: "You" },
    collections: {
      customers: { category: "contact", erasure: "delete", fields: { id: { category: "identifiers" }, email: { identity: "email" }, full_name: {} } },
      orders: { category: "commercial", erasure: "delete", fields: { id: {}, customer_id: {}, total: {} } },
    },
    references: [{ from: "customers.id", to: "orders.customer_id" }],
  });
  shopStoreId = store.id;
  const { store: manual } = await applyStoreMap(db(), {
    name: "zendesk",
    title: "Zendesk",
    kind: "manual",
    metadata: { purposes: ["Support"], retention: "2 years", source: "You" },
    connection: { instructions: "Search the requester in Zendesk, delete the user and their tickets.", team: "Support leads" },
  });
  manualStoreId = manual.id;
  processor = await addStaff(db(), "processor", "exec");
  auditor = await addStaff(db(), "auditor", "exec");
  web = await startWeb();
  worker = await startWorker({ concurrency: 2, schedules: false });
}, 60_000);

afterAll(async () => {
  await worker?.close(5000);
  await web?.close();
  await proxy?.down();
  await closeConnections();
  await shop?.drop();
  await rm(packageDir(), { recursive: true, force: true });
});

const statusOf = async (id: string) => (await db().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;
const get = async (path: string, cookie: string) => fetch(web.url + path, { redirect: "manual", headers: { Cookie: cookie } });
const post = (path: string, fields: Record<string, string>, cookie: string) => web.post(path, new URLSearchParams(fields), { Cookie: cookie });
const runOf = async (requestId: string, storeId: string) =>
  (await db().select().from(storeRuns).where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.storeId, storeId))))[0]!;

describe("execution from the request page", () => {
  it("a store that was down is retried once it is back, a manual task is recorded with notes, and the request completes", async () => {
    const r = await addRequest(db(), { type: "deletion", region: "UK", email: SUBJECT, status: "approved" });
    await enqueue("execute-request", { requestId: r.id });
    await eventually(async () => (await statusOf(r.id)) === "action_required", 60_000, 100);

    const shopRun = await runOf(r.id, shopStoreId);
    expect(shopRun).toMatchObject({ status: "failed", attempts: 2 });
    expect(shopRun.error).toMatch(/^store_unreachable: /);
    expect((await runOf(r.id, manualStoreId)).status).toBe("waiting");

    const cookie = await sessionCookie(db(), processor.id);
    const page = await (await get(`/admin/requests/${r.reference}`, cookie)).text();
    expect(page).toContain("Processing across the stores");
    expect(page).toContain("store_unreachable");
    expect(page).toContain("Retry Online shop");
    expect(page).toContain("Manual task: Zendesk (erase)");
    expect(page).toContain("Search the requester in Zendesk, delete the user and their tickets.");
    expect(page).toContain("Support leads");
    expect(page).toContain("Mark the task in Zendesk as done");
    expect(page).not.toContain(SUBJECT);

    // Auditors read but never act.
    const auditorCookie = await sessionCookie(db(), auditor.id);
    expect((await post(`/admin/requests/${r.reference}`, { intent: "retry-store", storeId: shopStoreId }, auditorCookie)).status).toBe(403);
    expect((await post(`/admin/requests/${r.reference}`, { intent: "complete-task", runId: shopRun.id, deleted: "1", masked: "0", kept: "0" }, auditorCookie)).status).toBe(403);

    // Bad counts: a message tied to the form, nothing changes.
    const manualRun = await runOf(r.id, manualStoreId);
    const negative = await post(`/admin/requests/${r.reference}`, { intent: "complete-task", runId: manualRun.id, deleted: "-1", masked: "0", kept: "0" }, cookie);
    expect(negative.status).toBe(400);
    expect(await negative.text()).toContain("A count cannot be negative.");
    const missing = await post(`/admin/requests/${r.reference}`, { intent: "complete-task", runId: manualRun.id, deleted: "1", masked: "0" }, cookie);
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain("Enter the number of rows kept (0 if none).");
    const notANumber = await post(`/admin/requests/${r.reference}`, { intent: "complete-task", runId: manualRun.id, deleted: "lots", masked: "0", kept: "0" }, cookie);
    expect(notANumber.status).toBe(400);
    // The failed store's run is not a manual task.
    const wrongRun = await post(`/admin/requests/${r.reference}`, { intent: "complete-task", runId: shopRun.id, deleted: "1", masked: "0", kept: "0" }, cookie);
    expect(wrongRun.status).toBe(409);
    expect(await wrongRun.text()).toContain("This store is not waiting for a person");
    expect((await runOf(r.id, manualStoreId)).status).toBe("waiting");

    // The manual task, with notes: recorded; the request still needs the failed store.
    const notes = "Deleted the Zendesk user and ticket #4411; two invoices kept by finance.";
    const done = await post(`/admin/requests/${r.reference}`, { intent: "complete-task", runId: manualRun.id, deleted: "1", masked: "0", kept: "2", notes }, cookie);
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe(`/admin/requests/${r.reference}?done=complete-task`);
    expect((await runOf(r.id, manualStoreId)).report).toMatchObject({ manual: true, totals: { deleted: 1, masked: 0, kept: 2 } });
    expect(await statusOf(r.id)).toBe("action_required");
    expect((await listNotes(db(), r.id)).map((n) => n.body)).toEqual([`Manual task (zendesk, erasure): ${notes}`]);
    const again = await post(`/admin/requests/${r.reference}`, { intent: "complete-task", runId: manualRun.id, deleted: "1", masked: "0", kept: "2" }, cookie);
    expect(again.status).toBe(409);

    // The database is back: retry the store.
    await proxy.up();
    const retried = await post(`/admin/requests/${r.reference}`, { intent: "retry-store", storeId: shopStoreId }, cookie);
    expect(retried.status).toBe(302);
    expect(retried.headers.get("location")).toBe(`/admin/requests/${r.reference}?done=retry-store`);
    await eventually(async () => (await statusOf(r.id)) === "completed", 60_000, 100);
    expect(await runOf(r.id, shopStoreId)).toMatchObject({ status: "completed", attempts: 3, error: null });
    const [left] = await shop.sql`select (select count(*)::int from customers where email = ${SUBJECT}) as subject, (select count(*)::int from orders) as orders`;
    expect(left).toEqual({ subject: 0, orders: 1 }); // the subject and their two orders are gone; the other customer's order stays

    const mail = await testMailbox().waitFor((m) => m.to.includes(SUBJECT) && m.subject.includes(`${r.reference} is complete`), 15_000);
    expect(mail.text).toMatch(/Zendesk\s*: 1 record deleted, 0 records masked,\s+2 records kept/);

    const events = await listEvents(db(), r.id);
    expect(events.find((e) => e.action === "store.retry_requested")).toMatchObject({ actorType: "staff", actorId: processor.id, details: { storeId: shopStoreId } });
    expect(events.find((e) => e.action === "store.manual_completed")).toMatchObject({ actorType: "staff", actorId: processor.id, details: { storeId: manualStoreId } });
    expect(events.find((e) => e.action === "request.note_added")).toMatchObject({ actorType: "staff", actorId: processor.id });
    expect(JSON.stringify(events)).not.toContain("4411");

    // Done: nothing left to retry, said plainly.
    const late = await post(`/admin/requests/${r.reference}`, { intent: "retry-store", storeId: shopStoreId }, cookie);
    expect(late.status).toBe(409);
    expect(await late.text()).toContain("A request that is completed has no store to retry.");
    const finalPage = await (await get(`/admin/requests/${r.reference}`, cookie)).text();
    expect(finalPage).toContain("1 deleted, 0 masked, 2 kept");
    expect(finalPage).not.toContain("Retry Online shop");
    expect(finalPage).not.toContain("updates by itself");
  }, 120_000);

  it("refuses to retry an erasure under legal hold, and shows no retry button for it", async () => {
    const r = await addRequest(db(), { type: "deletion", status: "action_required" });
    await db().insert(storeRuns).values({ requestId: r.id, storeId: shopStoreId, action: "erasure", status: "failed", attempts: 2, error: "store_unreachable: cannot reach the database (ECONNREFUSED)" });
    const cookie = await sessionCookie(db(), processor.id);
    expect((await post(`/admin/requests/${r.reference}`, { intent: "place-hold", reason: "Litigation hold from counsel" }, cookie)).status).toBe(302);
    const page = await (await get(`/admin/requests/${r.reference}`, cookie)).text();
    expect(page).toContain("store_unreachable");
    expect(page).not.toContain("Retry Online shop");
    const refused = await post(`/admin/requests/${r.reference}`, { intent: "retry-store", storeId: shopStoreId }, cookie);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("This request is under a legal hold");
    expect((await runOf(r.id, shopStoreId)).status).toBe("failed");
    expect(await statusOf(r.id)).toBe("action_required");
  });

  it("refreshes itself while processing (and offers a Refresh link that needs no JavaScript); not once it ended", async () => {
    const cookie = await sessionCookie(db(), processor.id);
    const running = await addRequest(db(), { type: "deletion", status: "processing" });
    await db().insert(storeRuns).values({ requestId: running.id, storeId: shopStoreId, action: "erasure", status: "running", attempts: 1 });
    const page = await (await get(`/admin/requests/${running.reference}`, cookie)).text();
    expect(page).toContain("this page updates by itself every few seconds");
    expect(page).toMatch(new RegExp(`<a [^>]*href="/admin/requests/${running.reference}"[^>]*>Refresh</a>`));
    expect(page).toContain("running");
    expect(page).not.toContain("Retry Online shop"); // still running: nothing to retry
    const early = await post(`/admin/requests/${running.reference}`, { intent: "retry-store", storeId: shopStoreId }, cookie);
    expect(early.status).toBe(409);
    expect(await early.text()).toContain("This store is still being processed; retry it if it fails.");

    const ended = await addRequest(db(), { type: "access", status: "denied" });
    const endedPage = await (await get(`/admin/requests/${ended.reference}`, cookie)).text();
    expect(endedPage).not.toContain("Processing across the stores");
  });
});
