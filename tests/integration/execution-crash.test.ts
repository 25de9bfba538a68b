/**
 * Recovery after a worker is killed mid-erasure: the real worker process erases a store with many rows of one
 * subject; the test SIGKILLs it while the store's transaction is writing, starts a new worker, and checks that the
 * store ends fully erased exactly once (the killed transaction rolled back, the second one did everything) and that
 * the report and the completion email count every row once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import { insertRequest } from "#app/models/requests.server.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { closeRedis } from "#app/utils/redis.server.ts";
import { getDb } from "#db/client.server.ts";
import { requests, storeRuns } from "#db/schema/index.ts";
import { closeQueues, enqueue } from "#jobs/queues.ts";
import { eventually } from "#tests/helpers/flow.ts";
import { startPortalProcess, type PortalProcess } from "#tests/helpers/processes.ts";
import { createScratchPostgres, type ScratchPostgres } from "#tests/helpers/scratch-db.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

const ROWS = 60_000;
const SUBJECT = "many.rows@example.com";
let store: ScratchPostgres;
let dir: string;
const workers: PortalProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portal-crash-"));
  store = await createScratchPostgres("crash");
  await store.sql.unsafe(`
    create table customers (id int primary key, email text not null);
    create index on customers (email);
    create table events (id bigint primary key, customer_id int not null references customers(id), kind text not null, at timestamptz not null);
    create index on events (customer_id);
    insert into customers values (1, '${SUBJECT}'), (2, 'someone.else@example.com');
    insert into events select g, 1, 'page_view', now() from generate_series(1, ${ROWS}) g;
    insert into events select g, 2, 'page_view', now() from generate_series(${ROWS + 1}, ${ROWS + 500}) g;`);
  await applyStoreMap(getDb(), {
    name: "tracking",
    title: "Tracking",
    kind: "postgres",
    connection: { url: store.url, tls: { mode: "disable" } },
    metadata: { purposes: ["Analytics"], retention: "1 year", source: "Your browser" },
    collections: {
      customers: { category: "contact", erasure: "delete", fields: { id: { category: "identifiers" }, email: { identity: "email" } } },
      events: { category: "behaviour", erasure: "delete", fields: { id: {}, customer_id: {}, kind: {}, at: {} } },
    },
    references: [{ from: "customers.id", to: "events.customer_id" }],
  });
}, 60_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) await w.stop();
  await closeQueues();
  await closeRedis();
  await store?.drop();
  await rm(dir, { recursive: true, force: true });
});

const workerEnv = () => ({ PACKAGE_DIR: dir, LOG_LEVEL: "info", WORKER_LOCK_DURATION_MS: "3000", WORKER_STALLED_INTERVAL_MS: "1000", WORKER_CONCURRENCY: "2" });
const writers = async () =>
  ((await store.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_xid is not null and pid <> pg_backend_pid()`)[0]!.n as number);
const subjectRows = async () => ((await store.sql`select count(*)::int as n from events where customer_id = 1`)[0]!.n as number);

describe("worker killed mid-erasure", () => {
  it("a new worker finishes the erasure: every row erased exactly once, the report and the email count each once", async () => {
    const db = getDb();
    const created = await insertRequest(db, { type: "deletion", email: SUBJECT, region: "EU", receivedAt: new Date() });
    await db.update(requests).set({ status: "approved", verifiedAt: new Date(), verificationLevel: 1 }).where(eq(requests.id, created.id));

    const first = await startPortalProcess("jobs/worker.ts", workerEnv(), /worker started/);
    workers.push(first);
    await enqueue("execute-request", { requestId: created.id });
    // The erasure transaction has started writing (deleting) in the store: kill the worker now.
    await eventually(async () => (await writers()) > 0, 60_000, 10);
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    // Its connection is gone, so PostgreSQL rolls the half-done transaction back: nothing was erased.
    await eventually(async () => (await writers()) === 0, 30_000, 50);
    expect(await subjectRows()).toBe(ROWS);
    const [midway] = await db.select().from(storeRuns).where(eq(storeRuns.requestId, created.id));
    expect(midway).toMatchObject({ status: "running", attempts: 1 });

    const second = await startPortalProcess("jobs/worker.ts", workerEnv(), /worker started/);
    workers.push(second);
    await eventually(async () => (await db.select({ s: requests.status }).from(requests).where(eq(requests.id, created.id)))[0]!.s === "completed", 120_000, 200);

    expect(await subjectRows()).toBe(0);
    expect((await store.sql`select count(*)::int as n from customers where id = 1`)[0]!.n).toBe(0);
    expect((await store.sql`select count(*)::int as n from events where customer_id = 2`)[0]!.n).toBe(500);
    const [run] = await db.select().from(storeRuns).where(and(eq(storeRuns.requestId, created.id)));
    expect(run).toMatchObject({ status: "completed", attempts: 2 });
    const report = run!.report as { totals: Record<string, number>; collections: Record<string, { deleted: number }> };
    expect(report.totals).toMatchObject({ matched: ROWS + 1, deleted: ROWS + 1, masked: 0, kept: 0 });
    expect(report.collections.events!.deleted).toBe(ROWS);
    const actions = (await listEvents(db, created.id)).map((e) => e.action);
    expect(actions.filter((a) => a === "store.erasure_completed")).toHaveLength(1);
    expect(actions.filter((a) => a === "request.completed")).toHaveLength(1);
    const mail = await testMailbox().waitFor((m) => m.to.includes(SUBJECT) && m.subject.includes("is complete"), 20_000);
    expect(mail.text).toMatch(new RegExp(`Tracking\\s*: ${ROWS + 1} records deleted, 0 records masked, 0 records kept\\.`));
    await second.stop();
  }, 240_000);
});
