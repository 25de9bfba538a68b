/**
 * Stores in the portal's database and the CLI: applying maps (secrets encrypted, never shown back), store runs
 * (idempotent erasure with a recorded report, failures recorded without personal data, manual tasks), and the
 * `stores:apply`, `stores:test` and `stores:dry-run` commands against a real PostgreSQL store.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessItem } from "#app/connectors/types.ts";
import { listEvents } from "#app/models/audit.server.ts";
import { DataMapError } from "#app/models/data-map.ts";
import { insertRequest } from "#app/models/requests.server.ts";
import {
  applyStoreMap,
  completeManualRun,
  dryRunStore,
  getStore,
  runStoreAccess,
  runStoreErasure,
  storeContext,
  testStore,
} from "#app/models/stores.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestEvents, storeRuns, stores } from "#db/schema/index.ts";
import { createScratchPostgres, type ScratchPostgres } from "#tests/helpers/scratch-db.ts";

let shop: ScratchPostgres;
let dir: string;
const db = () => getDb();

function shopMap(name: string, url: string) {
  return {
    name,
    kind: "postgres",
    connection: { url, tls: { mode: "disable" } },
    metadata: { purposes: ["Orders"], retention: "10 years", source: "You" },
    collections: {
      customers: { category: "contact", erasure: "delete", fields: { id: { category: "identifiers" }, email: { identity: "email", erasure: { action: "mask", value: "erased@invalid" } }, name: {} } },
      orders: {
        category: "commercial",
        erasure: { action: "keep", basis: "Tax law" },
        fields: { id: {}, customer_id: {}, ship_to: { category: "location", erasure: { action: "mask", value: "-" } } },
      },
    },
    references: [{ from: "customers.id", to: "orders.customer_id" }],
  };
}

async function seedShop() {
  await shop.sql.unsafe(`
    drop table if exists tickets, orders, customers;
    create table customers (id int primary key, email text not null unique, name text);
    create table orders (id int primary key, customer_id int references customers(id), ship_to text not null);
    create index on orders (customer_id);
    insert into customers values (1, 'ann@example.com', 'Ann'), (2, 'ben@example.com', 'Ben');
    insert into orders values (10, 1, '1 Road'), (11, 1, '1 Road'), (12, 2, '2 Lane');`);
}

const shopState = async () => JSON.parse(JSON.stringify(await shop.sql`select c.*, o.id as oid, o.ship_to from customers c left join orders o on o.customer_id = c.id order by c.id, o.id`)) as unknown[];

async function newRequest(email: string, dataPoints?: Record<string, string>) {
  const created = await insertRequest(db(), { type: "deletion", email, region: "EU", receivedAt: new Date(), ...(dataPoints ? { dataPoints } : {}) });
  return created.id;
}

/** Runs the CLI as an operator would, with this file's configuration. */
function portal(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/portal.ts", ...args], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

beforeAll(async () => {
  shop = await createScratchPostgres("shop");
  dir = await mkdtemp(join(tmpdir(), "portal-maps-"));
});
afterAll(async () => {
  await shop?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("stores", () => {
  it("stores a literal connection secret encrypted, never shows it back, and keeps it on re-apply", async () => {
    const password = "pw-" + Math.random().toString(36).slice(2);
    const url = shop.url.replace("postgres@", `postgres:${password}@`);
    const first = await applyStoreMap(db(), YAML.stringify(shopMap("shop-a", url)));
    expect(first).toMatchObject({ created: true, changed: true, store: { name: "shop-a", kind: "postgres", mapVersion: 1 } });
    expect(JSON.stringify(first)).not.toContain(password);
    const [row] = await db().select().from(stores).where(eq(stores.name, "shop-a"));
    expect((row!.dataMap.connection as Record<string, unknown>).url).toBe("stored");
    expect(row!.secretsCiphertext).not.toContain(password);
    expect(JSON.stringify(await getStore(db(), "shop-a"))).not.toContain(password);
    expect((await storeContext(db(), "shop-a")).context.secrets.url).toBe(url);

    // the exported form (url: stored) re-applies unchanged; a changed map bumps the version and keeps the secret
    expect(await applyStoreMap(db(), row!.dataMap)).toMatchObject({ created: false, changed: false, store: { mapVersion: 1 } });
    // so does the original file (its key order is not the jsonb column's)
    expect(await applyStoreMap(db(), YAML.stringify(shopMap("shop-a", url)))).toMatchObject({ created: false, changed: false, store: { mapVersion: 1 } });
    const changed = { ...row!.dataMap, title: "Shop A" };
    expect(await applyStoreMap(db(), changed)).toMatchObject({ changed: true, store: { mapVersion: 2, title: "Shop A" } });
    expect((await storeContext(db(), "shop-a")).context.secrets.url).toBe(url);
    const hashKey = (await storeContext(db(), "shop-a")).context.hashKey;
    // switching to env: drops the stored secret; the hashing key stays the store's
    await applyStoreMap(db(), { ...changed, connection: { url: "env:SHOP_A_URL", tls: { mode: "disable" } } });
    const ctx = (await storeContext(db(), "shop-a")).context;
    expect(ctx.secrets).toEqual({});
    expect(ctx.hashKey.equals(hashKey)).toBe(true);

    const events = await db().select().from(requestEvents);
    expect(events.filter((e) => e.details.store === "shop-a").map((e) => e.action)).toEqual(["store.created", "store.updated", "store.updated"]);
  });

  it("refuses a bad map with paths, and `stored` without a stored secret", async () => {
    const bad = shopMap("shop-bad", "env:X");
    (bad.collections.orders.fields as Record<string, unknown>).ship_to = { erasure: { action: "mask" } };
    await expect(applyStoreMap(db(), bad)).rejects.toThrow(/collections\.orders\.fields\.ship_to\.erasure\.value/);
    const e = await applyStoreMap(db(), shopMap("shop-new", "stored")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DataMapError);
    expect((e as DataMapError).issues).toEqual([{ path: "connection.url", message: "no secret is stored yet: give the value or env:NAME" }]);
    expect(await getStore(db(), "shop-new")).toBeUndefined();
  });

  it("tests and dry-runs a store; the dry run changes nothing", async () => {
    await seedShop();
    await applyStoreMap(db(), shopMap("shop-b", shop.url));
    const t = await testStore(db(), "shop-b");
    expect(t).toMatchObject({ store: "shop-b", connected: true, ok: true });
    const before = await shopState();
    expect(await dryRunStore(db(), "shop-b", { subject: { email: "ANN@example.com" }, action: "access" })).toEqual({
      store: "shop-b",
      action: "access",
      found: true,
      collections: { customers: 1, orders: 2 },
    });
    const dry = await dryRunStore(db(), "shop-b", { subject: { email: "ann@example.com" }, action: "erase" });
    expect(dry).toMatchObject({ action: "erase", report: { dryRun: true, totals: { matched: 3, deleted: 0, masked: 3, kept: 3 } } });
    expect(await shopState()).toEqual(before);
  });

  it("runs an erasure once per request and store: the second run returns the recorded report and touches nothing", async () => {
    await seedShop();
    const { store } = await applyStoreMap(db(), shopMap("shop-c", shop.url));
    const requestId = await newRequest("ann@example.com");
    const first = await runStoreErasure(db(), { requestId, storeId: store.id });
    expect(first).toMatchObject({ status: "completed", reused: false, report: { totals: { matched: 3, masked: 3, kept: 3 } } });
    const after = await shopState();
    expect(after).toContainEqual({ id: 1, email: "erased@invalid", name: null, oid: 10, ship_to: "-" });
    const second = await runStoreErasure(db(), { requestId, storeId: store.id });
    expect(second).toEqual({ ...first, reused: true });
    expect(await shopState()).toEqual(after);
    const [run] = await db().select().from(storeRuns).where(eq(storeRuns.requestId, requestId));
    expect(run).toMatchObject({ status: "completed", attempts: 1, mapVersion: 1, error: null });
    expect(JSON.stringify(run)).not.toMatch(/ann@|Road/);
  });

  it("records a failed erasure without personal data and leaves the store untouched", async () => {
    await seedShop();
    await shop.sql.unsafe(`create table tickets (id int primary key, customer_id int references customers(id)); insert into tickets values (1, 2);`);
    const map = shopMap("shop-d", shop.url);
    map.collections.orders.erasure = "delete" as never;
    const { store } = await applyStoreMap(db(), map);
    const requestId = await newRequest("ben@example.com");
    const before = await shopState();
    await expect(runStoreErasure(db(), { requestId, storeId: store.id })).rejects.toMatchObject({ code: "pg_23503" });
    expect(await shopState()).toEqual(before);
    const [run] = await db().select().from(storeRuns).where(eq(storeRuns.requestId, requestId));
    expect(run!.status).toBe("failed");
    expect(run!.error).toMatch(/^pg_23503: PostgreSQL 23503: update or delete on table "customers" violates foreign key constraint/);
    expect(run!.error).not.toContain("ben@");
  });

  it("streams an access run into a sink with counts as progress and report", async () => {
    await seedShop();
    const { store } = await applyStoreMap(db(), shopMap("shop-e", shop.url));
    const requestId = await newRequest("Ann@Example.com");
    const got: AccessItem[] = [];
    const outcome = await runStoreAccess(db(), { requestId, storeId: store.id }, async (item) => void got.push(item), { progressEvery: 1 });
    expect(outcome).toMatchObject({ status: "completed", report: { rows: 3, collections: { customers: 1, orders: 2 } } });
    expect(got[0]).toEqual({ type: "row", collection: "customers", row: { id: 1, email: "ann@example.com", name: "Ann" } });
    const [run] = await db().select().from(storeRuns).where(eq(storeRuns.requestId, requestId));
    expect(run!.progress).toEqual({ rows: 3, collections: { customers: 1, orders: 2 } });
  });

  it("a manual store creates a task that staff complete", async () => {
    const { store } = await applyStoreMap(db(), {
      name: "zendesk",
      kind: "manual",
      metadata: { purposes: ["Support"], retention: "2 years", source: "You" },
      connection: { instructions: "Search the requester in Zendesk, delete the user and their tickets.", team: "Support leads" },
    });
    const requestId = await newRequest("cat@example.com");
    const waiting = await runStoreErasure(db(), { requestId, storeId: store.id });
    expect(waiting).toMatchObject({
      status: "waiting",
      task: { store: "zendesk", action: "erasure", instructions: expect.stringContaining("Zendesk"), team: "Support leads" },
    });
    expect(await runStoreErasure(db(), { requestId, storeId: store.id })).toEqual(waiting);
    const staffId = "7d0b5a52-0f4e-4a59-9f0e-6b0f3c1f2a10";
    const done = await completeManualRun(db(), { runId: waiting.runId, staffId, report: { deleted: 1 } });
    expect(done).toMatchObject({ status: "completed", report: { deleted: 1 } });
    expect((await listEvents(db(), requestId)).map((e) => e.action)).toContain("store.manual_completed");
    expect(await runStoreErasure(db(), { requestId, storeId: store.id })).toMatchObject({ status: "completed", reused: true });
  });

  it("CLI: stores:apply, stores:test and stores:dry-run (JSON out, the dry run changes nothing)", async () => {
    await seedShop();
    const file = join(dir, "shop-cli.yaml");
    await writeFile(file, YAML.stringify(shopMap("shop-cli", shop.url)));
    const applied = await portal(["stores:apply", file]);
    expect(applied.stderr).toBe("");
    expect(JSON.parse(applied.stdout)).toMatchObject({ store: "shop-cli", kind: "postgres", created: true, changed: true, mapVersion: 1 });
    expect(applied.code).toBe(0);

    const tested = await portal(["stores:test", "shop-cli"]);
    expect(tested.code).toBe(0);
    expect(JSON.parse(tested.stdout)).toMatchObject({ store: "shop-cli", connected: true, ok: true, errors: [] });

    const before = await shopState();
    const dry = await portal(["stores:dry-run", "shop-cli", "--email", "ann@example.com", "--action", "erase"]);
    expect(dry.code).toBe(0);
    const out = JSON.parse(dry.stdout);
    expect(out).toMatchObject({ store: "shop-cli", action: "erase", report: { dryRun: true, totals: { matched: 3 } } });
    expect(dry.stdout).not.toContain("ann@");
    expect(await shopState()).toEqual(before);

    const badFile = join(dir, "bad.yaml");
    await writeFile(badFile, "name: x\nkind: postgres\n");
    const bad = await portal(["stores:apply", badFile]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/connection: /);
  }, 60_000);
});
