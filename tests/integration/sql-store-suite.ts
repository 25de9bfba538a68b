/**
 * What the PostgreSQL and the MariaDB/MySQL store tests share: a scratch database seeded before every test with
 * Alice's, Bob's and Carol's customers and orders, connectors to it with a per-file hash key (closed after the file),
 * and the cases both kinds must pass alike. Each test file gives its kind's fixture and registers its own cases.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createConnector } from "#app/connectors/registry.ts";
import { StoreError, type AccessItem, type Connector, type ErasureReport } from "#app/connectors/types.ts";
import { validateDataMap } from "#app/models/data-map.ts";
import { setUpInBeforeAll } from "#tests/helpers/set-up.ts";

export const TAX = "Invoices are kept for 10 years (tax law)";

export type Snapshot = Record<string, Record<string, unknown>[]>;

export type SqlStoreFixture<Db extends { url: string; drop: () => Promise<void> }, Map> = {
  /** The describe block's title. */
  title: string;
  /** The store's name in the portal. */
  store: string;
  /** The env variable the map's connection URL names. */
  urlEnv: string;
  createDatabase: () => Promise<Db>;
  /** Drops and creates the tables and fills them (before every test). */
  seed: (db: Db) => Promise<void>;
  /** Runs statements (several at once) on the scratch database. */
  exec: (db: Db, statements: string) => Promise<void>;
  /** Every mapped table's rows in key order, as JSON. */
  snapshot: (db: Db) => Promise<Snapshot>;
  /** The map, with `orders` (and their items) kept for tax law or deleted. */
  map: (orders: "keep" | "delete") => Map;
  /** A table the map does not know that references Alice's customer row (the statements that make it). */
  unmappedReference: string;
  /** The StoreError code of a foreign key violation. */
  foreignKeyErrorCode: string;
};

export type SqlStore<Db, Map> = {
  readonly db: Db;
  readonly hashKey: Buffer;
  /** A connector to the scratch database with the kind's map (`override` changes the raw map first). */
  connector: (orders?: "keep" | "delete", override?: (m: Map) => void) => Promise<Connector>;
  /** A connector for another map (no env of its own: for unreachable or remote stores). */
  connect: (store: string, raw: unknown) => Promise<Connector>;
  snapshot: () => Promise<Snapshot>;
  exec: (statements: string) => Promise<void>;
  erase: (c: Connector, subject: Record<string, string>, dryRun?: boolean) => Promise<ErasureReport>;
  /** The rows access streams, by collection (a task instead of rows fails). */
  collect: (items: AsyncIterable<AccessItem>) => Promise<Snapshot>;
};

/** Registers the store's lifecycle and a describe block with the shared cases, then the kind's own `cases`. */
export function sqlStoreSuite<Db extends { url: string; drop: () => Promise<void> }, Map>(
  fixture: SqlStoreFixture<Db, Map>,
  cases: (store: SqlStore<Db, Map>) => void,
): void {
  const db = setUpInBeforeAll<Db>("the scratch database");
  const hashKey = randomBytes(32);
  const open: Connector[] = [];
  const connect = async (store: string, raw: unknown, env: Record<string, string> = {}) => {
    const c = await createConnector({ store, map: validateDataMap(raw), secrets: {}, hashKey, env });
    open.push(c);
    return c;
  };
  const store: SqlStore<Db, Map> = {
    get db() {
      return db.get();
    },
    hashKey,
    async connector(orders = "keep", override) {
      const raw = fixture.map(orders);
      override?.(raw);
      return connect(fixture.store, raw, { [fixture.urlEnv]: db.get().url });
    },
    connect: (name, raw) => connect(name, raw),
    snapshot: () => fixture.snapshot(db.get()),
    exec: (statements) => fixture.exec(db.get(), statements),
    async erase(c, subject, dryRun = false) {
      const result = await c.erase(subject, { dryRun });
      if (result.status !== "done") throw new Error("expected a report");
      return result.report;
    },
    async collect(items) {
      const by: Snapshot = {};
      for await (const item of items) {
        if (item.type !== "row") throw new Error("unexpected task");
        (by[item.collection] ??= []).push(item.row);
      }
      return by;
    },
  };

  beforeAll(async () => {
    db.set(await fixture.createDatabase());
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await db.peek()?.drop();
  });
  beforeEach(async () => fixture.seed(db.get()));

  describe(fixture.title, () => {
    it("is atomic: a failure in the middle leaves the store untouched, and the undeclared reference is reported", async () => {
      // A table the map does not know references customers: deleting Alice fails after her orders and items were deleted.
      await store.exec(fixture.unmappedReference);
      const c = await store.connector("delete");
      expect((await c.describe()).warnings).toContainEqual(expect.objectContaining({ code: "undeclared_reference", collection: "customers" }));
      const before = await store.snapshot();
      const error = await c.erase({ email: "alice@example.com" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe(fixture.foreignKeyErrorCode);
      expect((error as StoreError).message).not.toContain("alice");
      expect(await store.snapshot()).toEqual(before);
    });

    cases(store);
  });
}
