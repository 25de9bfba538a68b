/**
 * The engine against a real PostgreSQL store (a scratch database with real foreign keys): access completeness,
 * erasure under FK constraints, shared rows, keep with basis, idempotency, atomicity, dry run and index warnings.
 */
import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { SHARED_BASIS, referencedBasis } from "#app/models/engine/erasure.ts";
import { hashFieldValue } from "#app/models/engine/values.ts";
import { createScratchPostgres, type ScratchPostgres } from "#tests/helpers/scratch-db.ts";
import { customersCollection, shopMapHead } from "#tests/helpers/shop-map.ts";
import { TAX, sqlStoreSuite, type Snapshot } from "./sql-store-suite.ts";

function shopMap(orders: "keep" | "delete") {
  return {
    name: "shop",
    ...shopMapHead("postgres", "SHOP_DB_URL"),
    collections: {
      customers: {
        ...customersCollection({
          id: { category: "identifiers", identity: "accountId" },
          email: { identity: "email", match: "lower", erasure: { action: "mask", value: "erased@invalid" } },
          phone: { identity: "phone", erasure: "null" },
          full_name: { erasure: { action: "mask", value: "Erased" } },
          password_hash: { category: "credentials", access: "omit", erasure: "null" },
          marketing_opt_in: { category: "preferences" },
        }),
        consentField: "marketing_opt_in",
      },
      addresses: { category: "location", erasure: "delete", fields: { id: {}, customer_id: {}, street: {}, city: {} } },
      order_participants: {
        category: "commercial",
        erasure: "delete",
        primaryKey: ["order_id", "customer_id"],
        fields: { order_id: {}, customer_id: {} },
      },
      orders: {
        category: "commercial",
        erasure: orders === "keep" ? { action: "keep", basis: TAX } : "delete",
        fields: {
          id: {},
          customer_id: {},
          guest_email: { category: "contact", identity: "email", erasure: "hash" },
          shipping_name: { category: "contact", erasure: { action: "mask", value: "Erased" } },
          total: {},
        },
      },
      order_items: {
        category: "commercial",
        erasure: orders === "keep" ? { action: "keep", basis: TAX } : "delete",
        primaryKey: ["order_id", "line"],
        fields: { order_id: {}, line: {}, sku: {}, gift_message: { category: "communications", erasure: "null" } },
      },
    },
    references: [
      { from: "customers.id", to: "addresses.customer_id" },
      { from: "customers.id", to: "orders.customer_id" },
      { from: "customers.id", to: "order_participants.customer_id" },
      { from: "order_participants.order_id", to: "orders.id" },
      { from: "orders.id", to: "order_items.order_id" },
    ],
  };
}

/** Alice: her own order A1 (2 items), a guest order G1 under her email, a part in Bob's order S1 and in the
 *  owner-less shared order S2 (with Carol). Bob: his order B1 and S1. Carol: S2. */
async function seed(db: ScratchPostgres) {
  await db.sql.unsafe(`
    drop table if exists support_tickets, order_items, order_participants, orders, addresses, customers cascade;
    create table customers (id serial primary key, email text not null, phone text, full_name text not null,
      password_hash text, marketing_opt_in boolean);
    create index customers_email_lower on customers (lower(email));
    create table addresses (id serial primary key, customer_id int not null references customers(id), street text not null, city text);
    create table orders (id serial primary key, customer_id int references customers(id), guest_email text,
      shipping_name text not null, total numeric(10,2) not null);
    create index on orders (customer_id);
    create index on orders (guest_email);
    create table order_participants (order_id int not null references orders(id), customer_id int not null references customers(id),
      primary key (order_id, customer_id));
    create index on order_participants (customer_id);
    create table order_items (order_id int not null references orders(id), line int not null, sku text not null, gift_message text,
      primary key (order_id, line));
    insert into customers (id, email, phone, full_name, password_hash, marketing_opt_in) values
      (1, 'Alice@Example.com', '+442079460958', 'Alice A', 'argon2$alice', true),
      (2, 'bob@example.com', '+442079460959', 'Bob B', 'argon2$bob', false),
      (3, 'carol@example.com', null, 'Carol C', null, null);
    select setval('customers_id_seq', 3);
    insert into addresses (customer_id, street, city) values (1, '1 Alice St', 'London'), (1, '2 Alice Rd', 'Leeds'), (2, '9 Bob Ave', 'York');
    insert into orders (id, customer_id, guest_email, shipping_name, total) values
      (10, 1, null, 'Alice A', 20.00),            -- A1
      (11, null, 'alice@example.com', 'Alice (guest)', 5.50), -- G1
      (12, 2, null, 'Bob B', 99.00),              -- B1
      (13, 2, null, 'Bob B', 42.00),              -- S1: Bob's order, Alice took part
      (14, null, null, 'Alice and Carol', 30.00); -- S2: no owner, Alice and Carol took part
    select setval('orders_id_seq', 14);
    insert into order_participants values (13, 1), (14, 1), (14, 3), (12, 2);
    insert into order_items values (10, 1, 'SKU-A', 'Happy birthday'), (10, 2, 'SKU-B', null), (11, 1, 'SKU-G', null),
      (12, 1, 'SKU-X', 'for me'), (13, 1, 'SKU-S', 'shared'), (14, 1, 'SKU-T', null);
  `);
}

const tables = ["customers", "addresses", "orders", "order_participants", "order_items"] as const;

sqlStoreSuite(
  {
    title: "PostgreSQL store",
    store: "shop",
    urlEnv: "SHOP_DB_URL",
    createDatabase: () => createScratchPostgres("shop"),
    seed,
    exec: async (db, statements) => void (await db.sql.unsafe(statements)),
    async snapshot(db) {
      const out: Record<string, unknown[]> = {};
      for (const t of tables) out[t] = await db.sql.unsafe(`select * from ${t} order by 1, 2`);
      return JSON.parse(JSON.stringify(out)) as Snapshot;
    },
    map: shopMap,
    unmappedReference: `create table support_tickets (id serial primary key, customer_id int references customers(id));
      insert into support_tickets (customer_id) values (1);`,
    foreignKeyErrorCode: "pg_23503",
  },
  (store) => {
    const { connector, connect, snapshot, erase, collect, exec, hashKey } = store;

    it("access reaches every row of the subject through the map and no other customer's", async () => {
      const c = await connector();
      const rows = await collect(c.access({ email: "  ALICE@example.com " }));
      expect(rows.customers).toEqual([{ id: 1, email: "Alice@Example.com", phone: "+442079460958", full_name: "Alice A", marketing_opt_in: true }]);
      expect(rows.customers![0]).not.toHaveProperty("password_hash"); // access: omit
      expect(rows.addresses!.map((r) => r.street).sort()).toEqual(["1 Alice St", "2 Alice Rd"]);
      expect(rows.order_participants!.map((r) => [r.order_id, r.customer_id]).sort()).toEqual([[13, 1], [14, 1]]);
      // her order, her guest order, and the two orders she took part in — not Bob's own order 12
      expect(rows.orders!.map((r) => r.id).sort()).toEqual([10, 11, 13, 14]);
      expect(rows.orders!.find((r) => r.id === 10)).toEqual({ id: 10, customer_id: 1, guest_email: null, shipping_name: "Alice A", total: "20.00" });
      expect(rows.order_items!.map((r) => `${r.order_id}/${r.line}`).sort()).toEqual(["10/1", "10/2", "11/1", "13/1", "14/1"]);
      // nothing of Bob's or Carol's own records
      const everything = JSON.stringify(rows);
      for (const foreign of ["bob@example.com", "carol@example.com", "9 Bob Ave", "SKU-X", "argon2$"]) expect(everything).not.toContain(foreign);

      expect(await c.find({ email: "alice@example.com" })).toEqual({
        found: true,
        collections: { customers: 1, addresses: 2, order_participants: 2, orders: 4, order_items: 5 },
      });
      // phone (E.164 normalized) and account id find the same customer; an unknown subject finds nothing
      expect((await c.find({ phone: "+44 20 7946 0958" })).collections.customers).toBe(1);
      expect((await c.find({ accountId: "1" })).collections.orders).toBe(3);
      expect(await c.find({ email: "nobody@example.com" })).toMatchObject({ found: false, collections: { customers: 0, orders: 0 } });
    });

    it("a dry run reports exactly what the erasure does and changes nothing", async () => {
      const c = await connector("keep");
      const before = await snapshot();
      const dry = await erase(c, { email: "alice@example.com" }, true);
      expect(await snapshot()).toEqual(before);
      const real = await erase(c, { email: "alice@example.com" });
      expect({ ...dry, dryRun: false }).toEqual(real);
      expect(dry.dryRun).toBe(true);
    });

    it("keep beats delete: kept orders keep the customer row, whose personal fields are masked; the report gives the bases", async () => {
      const c = await connector("keep");
      const report = await erase(c, { email: "alice@example.com" });
      const after = await snapshot();

      expect(report.collections.customers).toEqual({ matched: 1, deleted: 0, masked: 1, kept: 1, bases: [{ basis: referencedBasis("orders"), rows: 1 }] });
      expect(after.customers!.find((r) => r.id === 1)).toEqual({
        id: 1,
        email: "erased@invalid",
        phone: null,
        full_name: "Erased",
        password_hash: null,
        marketing_opt_in: null, // inherits the collection's delete: nulled when the row must stay
      });
      expect(report.collections.addresses).toEqual({ matched: 2, deleted: 2, masked: 0, kept: 0, bases: [] });
      expect(after.addresses!.map((r) => r.street)).toEqual(["9 Bob Ave"]);
      // her own and guest orders stay for tax law with contact fields rewritten; S1 and S2 also concern others
      expect(report.collections.orders).toEqual({
        matched: 4,
        deleted: 0,
        masked: 2,
        kept: 4,
        bases: [
          { basis: TAX, rows: 2 },
          { basis: SHARED_BASIS, rows: 2 },
        ],
      });
      const order = (id: number) => after.orders!.find((r) => r.id === id)!;
      expect(order(10)).toMatchObject({ customer_id: 1, shipping_name: "Erased", total: "20.00" });
      expect(order(11).guest_email).toMatch(/^hmac:[0-9a-f]{64}$/);
      expect(order(11).shipping_name).toBe("Erased");
      expect(order(13)).toMatchObject({ customer_id: 2, shipping_name: "Bob B" });
      expect(order(14)).toMatchObject({ shipping_name: "Alice and Carol" });
      // participation rows are hers alone and go; items of her orders lose the gift message
      expect(after.order_participants).toEqual([
        { order_id: 12, customer_id: 2 },
        { order_id: 14, customer_id: 3 },
      ]);
      expect(after.order_items!.find((r) => r.order_id === 10 && r.line === 1)!.gift_message).toBeNull();
      expect(after.order_items!.find((r) => r.order_id === 13)!.gift_message).toBe("shared");
      expect(report.totals).toEqual({ matched: 14, deleted: 4, masked: 6, kept: 10 });
    });

    it("hash is stable per store key: equal inputs hash equally", async () => {
      await store.db.sql`insert into orders (id, guest_email, shipping_name, total) values (20, 'alice@example.com', 'x', 1)`;
      const c = await connector("keep");
      await erase(c, { email: "alice@example.com" });
      const rows = await store.db.sql`select guest_email from orders where id in (11, 20)`;
      expect(rows[0]!.guest_email).toBe(rows[1]!.guest_email);
      expect(rows[0]!.guest_email).toBe(hashFieldValue({ identity: "email" }, "Alice@Example.com", hashKey));
      expect(hashFieldValue({ identity: "email" }, "alice@example.com", randomBytes(32))).not.toBe(rows[0]!.guest_email);
    });

    it("erases children before parents under real foreign keys, and never touches another customer's rows", async () => {
      const c = await connector("delete");
      const before = await snapshot();
      const report = await erase(c, { email: "alice@example.com" });
      const after = await snapshot();

      expect(after.customers!.map((r) => r.id)).toEqual([2, 3]);
      expect(after.addresses!.map((r) => r.customer_id)).toEqual([2]);
      expect(after.orders!.map((r) => r.id)).toEqual([12, 13, 14]);
      expect(after.order_items!.map((r) => r.order_id)).toEqual([12, 13, 14]);
      expect(after.order_participants).toEqual([
        { order_id: 12, customer_id: 2 },
        { order_id: 14, customer_id: 3 },
      ]);
      // every row of Bob and Carol is exactly as it was
      for (const t of tables) {
        const untouched = (r: Record<string, unknown>) => !(t === "customers" && r.id === 1);
        for (const row of after[t]!) expect(before[t]).toContainEqual(row);
        expect(after[t]!.filter(untouched).length).toBe(after[t]!.length);
      }
      expect(report.collections.orders).toEqual({ matched: 4, deleted: 2, masked: 0, kept: 2, bases: [{ basis: SHARED_BASIS, rows: 2 }] });
      expect(report.collections.customers).toMatchObject({ matched: 1, deleted: 1 });
      expect(report.totals).toEqual({ matched: 14, deleted: 10, masked: 0, kept: 4 });
    });

    it("re-running an erasure changes nothing", async () => {
      for (const variant of ["keep", "delete"] as const) {
        await seed(store.db);
        const c = await connector(variant);
        await erase(c, { email: "alice@example.com" });
        const once = await snapshot();
        const again = await erase(c, { email: "alice@example.com" });
        expect(await snapshot()).toEqual(once);
        expect(again.totals.deleted).toBe(0);
      }
    });

    it("re-running with an identity that stays finds the kept rows again and changes nothing", async () => {
      // The account id survives (a key column), so the customer and the kept orders are found again.
      const c = await connector("keep");
      const first = await erase(c, { accountId: "1" });
      const once = await snapshot();
      const second = await erase(c, { accountId: "1" });
      expect(await snapshot()).toEqual(once);
      expect(second.collections.customers).toEqual(first.collections.customers);
      expect(second.collections.orders).toEqual({ matched: 1, deleted: 0, masked: 1, kept: 1, bases: [{ basis: TAX, rows: 1 }] });
      expect(second.totals.deleted).toBe(0);
    });

    it("warns about unindexed queried columns with the exact CREATE INDEX, and unmapped columns", async () => {
      await exec(`alter table customers add column notes text`);
      const c = await connector("keep");
      const result = await c.test();
      expect(result).toMatchObject({ connected: true, ok: true, errors: [] });
      expect(result.server).toMatch(/^PostgreSQL \d+/);
      const missing = result.warnings.filter((w) => w.code === "missing_index");
      expect(missing.map((w) => `${w.collection}.${w.column}`).sort()).toEqual(["addresses.customer_id", "customers.phone"]);
      const fix = missing.find((w) => w.collection === "addresses")!.fix!;
      expect(fix).toBe('CREATE INDEX CONCURRENTLY "addresses_customer_id_idx" ON "public"."addresses" ("customer_id");');
      expect(result.warnings).toContainEqual(expect.objectContaining({ code: "unmapped_columns", collection: "customers", message: expect.stringContaining("notes") }));
      // lower(email) is indexed, so match: lower is satisfied; without that index it is reported too
      await exec(fix);
      await exec(`drop index customers_email_lower`);
      const again = await c.describe();
      expect(again.warnings.filter((w) => w.code === "missing_index").map((w) => w.fix)).toEqual([
        'CREATE INDEX CONCURRENTLY "customers_email_lower_idx" ON "public"."customers" (lower("email"));',
        'CREATE INDEX CONCURRENTLY "customers_phone_idx" ON "public"."customers" ("phone");',
      ]);
    });

    it("reports tables and columns the map names but the store lacks", async () => {
      const c = await connector("keep", (m) => {
        (m.collections.orders.fields as Record<string, unknown>).totl = {};
        m.collections.addresses = { ...m.collections.addresses, table: "adresses" } as typeof m.collections.addresses;
      });
      const d = await c.describe();
      expect(d.ok).toBe(false);
      expect(d.errors).toEqual([
        { path: "collections.addresses", message: 'table "adresses" not found (or the portal\'s account cannot see it)' },
        { path: "collections.orders.fields.totl", message: 'column "totl" not found in table "orders"' },
      ]);
    });

    it("works in batches: a subject with thousands of rows is found, streamed and erased completely", async () => {
      await exec(`
        insert into customers (id, email, full_name) values (4, 'heavy@example.com', 'Heavy H');
        insert into orders (id, customer_id, shipping_name, total) select g, 4, 'Heavy', 1 from generate_series(1000, 3499) g;
        insert into order_items (order_id, line, sku) select g, 1, 'SKU' from generate_series(1000, 3499) g;
        insert into order_items (order_id, line, sku) select g, 2, 'SKU' from generate_series(1000, 1999) g;`);
      const c = await connector("delete");
      expect((await c.find({ email: "heavy@example.com" })).collections).toMatchObject({ customers: 1, orders: 2500, order_items: 3500 });
      let streamed = 0;
      for await (const item of c.access({ email: "heavy@example.com" })) if (item.type === "row" && item.collection === "order_items") streamed++;
      expect(streamed).toBe(3500);
      const report = await erase(c, { email: "heavy@example.com" });
      expect(report.totals).toEqual({ matched: 6001, deleted: 6001, masked: 0, kept: 0 });
      const [left] = await store.db.sql`select (select count(*) from orders where customer_id = 4)::int as o, (select count(*) from order_items where order_id >= 1000)::int as i`;
      expect(left).toEqual({ o: 0, i: 0 });
      expect((await snapshot()).orders!.length).toBe(5); // everyone else's orders are still there
    });

    it("TLS: verify-full refuses a server without TLS; unverified and remote plain connections are warned about", async () => {
      const strict = await connector("keep", (m) => void (m.connection.tls = { mode: "verify-full" } as never));
      const t = await strict.test();
      expect(t).toMatchObject({ connected: false, ok: false, errors: [{ path: "connection", message: expect.stringMatching(/TLS/) }] });
      const loose = await connector("keep", (m) => void (m.connection.tls = { mode: "require" } as never));
      expect((await loose.test()).warnings).toContainEqual(expect.objectContaining({ code: "tls_unverified", fix: "tls.mode: verify-full" }));
      const remote = await connect("remote", { ...shopMap("keep"), connection: { url: "postgres://portal@db.invalid/shop", tls: { mode: "disable" } } });
      expect((await remote.test()).warnings).toContainEqual(expect.objectContaining({ code: "tls_disabled" }));
    });

    it("reports an unreachable store as a retryable error without secrets", async () => {
      const c = await connect("down", { ...shopMap("keep"), connection: { url: "postgres://portal:s3cret@127.0.0.1:1/shop", tls: { mode: "disable" } } });
      const t = await c.test();
      expect(t.connected).toBe(false);
      expect(JSON.stringify(t)).not.toContain("s3cret");
      const e = await c.find({ email: "a@example.com" }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: "store_unreachable", retryable: true });
    });
  },
);
