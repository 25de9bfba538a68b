/**
 * Corrections and opt-outs by the SQL engine, against a real PostgreSQL and a real MariaDB store with the same schema
 * (real foreign keys): every mapped place of the subject is updated, nothing of a second customer sharing an order;
 * values normalized like identities; the email identity itself corrected and the subject still found; a second run
 * reports the same and changes nothing; all or nothing; a map without markers gives a task.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createConnector } from "#app/connectors/registry.ts";
import { StoreError, type Connector, type UpdateReport, type UpdateResult } from "#app/connectors/types.ts";
import { validateDataMap } from "#app/models/data-map.ts";
import { createScratchMysql, createScratchPostgres, type ScratchMysql, type ScratchPostgres } from "#tests/helpers/scratch-db.ts";
import { customersCollection, shopMapHead } from "#tests/helpers/shop-map.ts";

const hashKey = randomBytes(32);

const SCHEMA = [
  `create table customers (id int primary key, email varchar(200) not null, phone varchar(40), full_name varchar(200) not null,
     sale_opt_out boolean not null default false, marketing_opt_in boolean, opted_out_at timestamp null)`,
  `create index customers_email_idx on customers (email)`,
  `create index customers_phone_idx on customers (phone)`,
  `create table addresses (id int primary key, customer_id int not null references customers(id), street varchar(200), city varchar(100))`,
  `create index addresses_customer_idx on addresses (customer_id)`,
  `create table orders (id int primary key, customer_id int references customers(id), shipping_name varchar(200) not null)`,
  `create index orders_customer_idx on orders (customer_id)`,
  `create table order_participants (order_id int not null references orders(id), customer_id int not null references customers(id),
     primary key (order_id, customer_id))`,
  `create index order_participants_customer_idx on order_participants (customer_id)`,
  `create table newsletter (id int primary key, email varchar(200) not null, consent boolean not null)`,
  `create index newsletter_email_idx on newsletter (email)`,
  `insert into customers (id, email, phone, full_name, marketing_opt_in) values
     (1, 'alice@example.com', '+442079460958', 'Alice A', true), (2, 'bob@example.com', '+442079460959', 'Bob B', true)`,
  `insert into addresses values (1, 1, '1 Alice St', 'London'), (2, 2, '9 Bob Ave', 'York')`,
  // 10: Alice's own; 13: Bob's order Alice took part in; 14: no owner, Alice and Bob took part.
  `insert into orders values (10, 1, 'Alice A'), (13, 2, 'Bob B'), (14, null, 'Alice and Bob')`,
  `insert into order_participants values (13, 1), (14, 1), (14, 2)`,
  `insert into newsletter values (1, 'alice@example.com', true), (2, 'bob@example.com', true)`,
];
const TABLES = ["customers", "addresses", "orders", "order_participants", "newsletter"];

function map(kind: "postgres" | "mysql", markers = true) {
  const m = <T extends object>(v: T) => (markers ? v : {});
  return validateDataMap({
    name: "shop",
    ...shopMapHead(kind, "SHOP_URL"),
    normalization: { defaultCallingCode: "+44" },
    collections: {
      customers: customersCollection({
        id: { category: "identifiers" },
        email: { identity: "email", ...m({ subjectAttribute: "email" }) },
        phone: { identity: "phone", ...m({ subjectAttribute: "phone" }) },
        full_name: m({ subjectAttribute: "name" }),
        sale_opt_out: { category: "preferences", ...m({ optOut: { kind: "sale_sharing", set: true } }) },
        marketing_opt_in: { category: "preferences", ...m({ optOut: { kind: "marketing_consent", set: false } }) },
        opted_out_at: { category: "preferences", ...m({ optOut: { kind: "sale_sharing", set: "now" } }) },
      }),
      addresses: { category: "location", erasure: "delete", fields: { id: {}, customer_id: {}, street: m({ subjectAttribute: "street" }), city: m({ subjectAttribute: "city" }) } },
      order_participants: { category: "commercial", erasure: "delete", primaryKey: ["order_id", "customer_id"], fields: { order_id: {}, customer_id: {} } },
      orders: { category: "commercial", erasure: { action: "keep", basis: "Tax law" }, fields: { id: {}, customer_id: {}, shipping_name: m({ subjectAttribute: "name" }) } },
      newsletter: {
        category: "contact",
        erasure: "delete",
        fields: { id: {}, email: { identity: "email", ...m({ subjectAttribute: "email" }) }, consent: { category: "preferences", ...m({ optOut: { kind: "marketing_consent", set: false } }) } },
      },
    },
    references: [
      { from: "customers.id", to: "addresses.customer_id" },
      { from: "customers.id", to: "orders.customer_id" },
      { from: "customers.id", to: "order_participants.customer_id" },
      { from: "order_participants.order_id", to: "orders.id" },
    ],
  });
}

type Backend = {
  kind: "postgres" | "mysql";
  setUp(): Promise<string>;
  exec(statement: string): Promise<void>;
  rows(table: string): Promise<Record<string, unknown>[]>;
  drop(): Promise<void>;
};

let pg: ScratchPostgres | undefined;
let my: ScratchMysql | undefined;
const backends: Backend[] = [
  {
    kind: "postgres",
    async setUp() {
      pg = await createScratchPostgres("updates");
      return pg.url;
    },
    exec: async (statement) => void (await pg!.sql.unsafe(statement)),
    rows: async (table) => JSON.parse(JSON.stringify(await pg!.sql.unsafe(`select * from ${table} order by 1, 2`))) as Record<string, unknown>[],
    drop: async () => pg?.drop(),
  },
  {
    kind: "mysql",
    async setUp() {
      my = await createScratchMysql("updates");
      return my.url;
    },
    exec: async (statement) => void (await my!.pool.query(statement)),
    rows: async (table) => JSON.parse(JSON.stringify((await my!.pool.query(`select * from ${table} order by 1, 2`))[0])) as Record<string, unknown>[],
    drop: async () => my?.drop(),
  },
];

const done = (r: UpdateResult): UpdateReport => {
  if (r.status !== "done") throw new Error(`expected a report, got ${r.status === "task" ? `a task: ${r.task.instructions}` : "an accepted answer"}`);
  return r.report;
};
const bool = (v: unknown) => (v === null ? null : Boolean(Number(v) || v === true));

describe.each(backends)("corrections and opt-outs in $kind", (backend) => {
  let url: string;
  const open: Connector[] = [];
  const connector = async (markers = true) => {
    const c = await createConnector({ store: "shop", map: map(backend.kind, markers), secrets: {}, hashKey, env: { SHOP_URL: url } });
    open.push(c);
    return c;
  };
  const snapshot = async () => Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await backend.rows(t)] as const)));

  beforeAll(async () => {
    url = await backend.setUp();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await backend.drop();
  });
  beforeEach(async () => {
    for (const t of [...TABLES].reverse()) await backend.exec(`drop table if exists ${t}`);
    for (const s of SCHEMA) await backend.exec(s);
  });

  it("corrects every mapped place of the subject, normalized, and nothing of another customer sharing an order", async () => {
    const before = await snapshot();
    const c = await connector();
    const values = { name: "Alice Smith", email: "  Alice.Smith@Example.COM ", phone: "020 7946 0000", street: "5 New Street" };
    const report = done(await c.correct({ email: "alice@example.com" }, values));
    expect(report).toMatchObject({ store: "shop", action: "correction", targets: ["name", "email", "phone", "street"] });
    expect(report.collections).toEqual({
      customers: { matched: 1, applied: 1, shared: 0 },
      addresses: { matched: 1, applied: 1, shared: 0 },
      orders: { matched: 3, applied: 1, shared: 2 },
      newsletter: { matched: 1, applied: 1, shared: 0 },
    });
    expect(report.totals).toEqual({ matched: 6, applied: 4, shared: 2 });

    const after = await snapshot();
    const customer = (id: number) => after.customers!.find((r) => r.id === id)!;
    expect(customer(1)).toMatchObject({ email: "alice.smith@example.com", phone: "+442079460000", full_name: "Alice Smith" });
    expect(customer(2)).toEqual(before.customers!.find((r) => r.id === 2));
    expect(after.addresses).toEqual([
      { id: 1, customer_id: 1, street: "5 New Street", city: "London" },
      { id: 2, customer_id: 2, street: "9 Bob Ave", city: "York" },
    ]);
    expect(after.orders).toEqual([
      { id: 10, customer_id: 1, shipping_name: "Alice Smith" },
      { id: 13, customer_id: 2, shipping_name: "Bob B" },
      { id: 14, customer_id: null, shipping_name: "Alice and Bob" },
    ]);
    expect(after.newsletter!.map((r) => r.email)).toEqual(["alice.smith@example.com", "bob@example.com"]);
    expect(after.order_participants).toEqual(before.order_participants);

    // The corrected email identity finds the subject; the old one finds nothing any more.
    expect((await c.find({ email: "ALICE.SMITH@example.com" })).collections).toMatchObject({ customers: 1, addresses: 1, newsletter: 1, orders: 3 });
    expect((await c.find({ email: "alice@example.com" })).found).toBe(false);

    // The same correction again (a retry after the store committed): same report, nothing written.
    const again = done(await c.correct({ email: "alice@example.com" }, values));
    expect(again).toEqual(report);
    expect(await snapshot()).toEqual(after);
  });

  it("is all or nothing: a value the store refuses rolls every change back", async () => {
    const before = await snapshot();
    const c = await connector();
    const error = await c.correct({ email: "alice@example.com" }, { name: "Alice Smith", street: "x".repeat(300) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).not.toContain("xxxx");
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a value that does not normalize (a phone number that is not one) before touching the store", async () => {
    const before = await snapshot();
    const c = await connector();
    await expect(c.correct({ email: "alice@example.com" }, { phone: "call me" })).rejects.toMatchObject({ code: "invalid_value" });
    expect(await snapshot()).toEqual(before);
  });

  it("opt-out sets the marked preferences of the subject only; the first opt-out's time stays; a second run reports the same", async () => {
    const before = await snapshot();
    const c = await connector();
    const report = done(await c.optOut({ email: "alice@example.com" }, ["sale_sharing", "marketing_consent"]));
    expect(report.targets).toEqual(["sale_sharing", "marketing_consent"]);
    expect(report.collections).toEqual({ customers: { matched: 1, applied: 1, shared: 0 }, newsletter: { matched: 1, applied: 1, shared: 0 } });
    const after = await snapshot();
    const alice = after.customers!.find((r) => r.id === 1)!;
    expect([bool(alice.sale_opt_out), bool(alice.marketing_opt_in)]).toEqual([true, false]);
    expect(alice.opted_out_at).not.toBeNull();
    expect(after.customers!.find((r) => r.id === 2)).toEqual(before.customers!.find((r) => r.id === 2));
    expect(after.newsletter!.map((r) => bool(r.consent))).toEqual([false, true]);

    await new Promise((r) => setTimeout(r, 1100));
    expect(done(await c.optOut({ email: "alice@example.com" }, ["sale_sharing", "marketing_consent"]))).toEqual(report);
    expect(await snapshot()).toEqual(after);

    // A kind no field records: a task for a person, nothing written.
    const limit = await c.optOut({ email: "alice@example.com" }, ["sensitive_limit"]);
    expect(limit).toMatchObject({ status: "task", task: { store: "shop", action: "opt_out" } });
  });

  it("a store whose map marks no attribute gets a task naming the attributes, never the values", async () => {
    const before = await snapshot();
    const c = await connector(false);
    const result = await c.correct({ email: "alice@example.com" }, { name: "Alice Smith", phone: "+442079460000" });
    expect(result.status).toBe("task");
    if (result.status !== "task") return;
    expect(result.task).toMatchObject({ store: "shop", action: "correction" });
    expect(result.task.instructions).toContain("name, phone");
    expect(result.task.instructions).not.toMatch(/Alice Smith|\+44/);
    expect(await c.optOut({ email: "alice@example.com" }, ["sale_sharing"])).toMatchObject({ status: "task" });
    expect(await snapshot()).toEqual(before);
  });
});
