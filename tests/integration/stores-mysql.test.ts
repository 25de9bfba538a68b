/**
 * The engine against a real MariaDB/MySQL store (scratch database `portal_t_<id>_shop`, InnoDB foreign keys):
 * access completeness, FK-safe erasure, shared rows, keep with basis, idempotency, atomicity and index warnings.
 */
import type { RowDataPacket } from "mysql2/promise";
import { expect, it } from "vitest";
import { SHARED_BASIS, referencedBasis } from "#app/models/engine/erasure.ts";
import { createScratchMysql, type ScratchMysql } from "#tests/helpers/scratch-db.ts";
import { customersCollection, shopMapHead } from "#tests/helpers/shop-map.ts";
import { TAX, sqlStoreSuite, type Snapshot } from "./sql-store-suite.ts";

function shopMap(orders: "keep" | "delete") {
  const orderAction = orders === "keep" ? { action: "keep", basis: TAX } : "delete";
  return {
    name: "shop-mysql",
    ...shopMapHead("mysql", "SHOP_MYSQL_URL"),
    collections: {
      customers: customersCollection({
        id: { category: "identifiers" },
        email: { identity: "email", erasure: { action: "mask", value: "erased@invalid" } },
        phone: { identity: "phone", erasure: "null" },
        full_name: { erasure: { action: "mask", value: "Erased" } },
      }),
      order_participants: { category: "commercial", erasure: "delete", primaryKey: ["order_id", "customer_id"], fields: { order_id: {}, customer_id: {} } },
      orders: {
        category: "commercial",
        erasure: orderAction,
        fields: { id: {}, customer_id: {}, shipping_name: { category: "contact", erasure: { action: "mask", value: "Erased" } }, total: {} },
      },
      order_items: { category: "commercial", erasure: orderAction, primaryKey: ["order_id", "line"], fields: { order_id: {}, line: {}, sku: {} } },
    },
    references: [
      { from: "customers.id", to: "orders.customer_id" },
      { from: "customers.id", to: "order_participants.customer_id" },
      { from: "order_participants.order_id", to: "orders.id" },
      { from: "orders.id", to: "order_items.order_id" },
    ],
  };
}

async function seed(db: ScratchMysql) {
  await db.pool.query(`
    set foreign_key_checks = 0;
    drop table if exists support_tickets, order_items, order_participants, orders, customers;
    set foreign_key_checks = 1;
    create table customers (id int primary key, email varchar(190) not null, phone varchar(20), full_name varchar(100) not null,
      index (email)) engine=InnoDB;
    create table orders (id int primary key, customer_id int null, shipping_name varchar(100) not null, total decimal(10,2) not null,
      foreign key (customer_id) references customers(id)) engine=InnoDB;
    create table order_participants (order_id int not null, customer_id int not null, primary key (order_id, customer_id),
      foreign key (order_id) references orders(id), foreign key (customer_id) references customers(id)) engine=InnoDB;
    create table order_items (order_id int not null, line int not null, sku varchar(20) not null, primary key (order_id, line),
      foreign key (order_id) references orders(id)) engine=InnoDB;
    insert into customers values (1, 'Alice@Example.com', '+442079460958', 'Alice A'), (2, 'bob@example.com', null, 'Bob B'),
      (3, 'carol@example.com', null, 'Carol C');
    insert into orders values (10, 1, 'Alice A', 20.00), (12, 2, 'Bob B', 99.00), (13, 2, 'Bob B', 42.00), (14, null, 'Alice and Carol', 30.00);
    insert into order_participants values (13, 1), (14, 1), (14, 3), (12, 2);
    insert into order_items values (10, 1, 'SKU-A'), (10, 2, 'SKU-B'), (12, 1, 'SKU-X'), (13, 1, 'SKU-S'), (14, 1, 'SKU-T');
  `);
}

sqlStoreSuite(
  {
    title: "MySQL/MariaDB store",
    store: "shop-mysql",
    urlEnv: "SHOP_MYSQL_URL",
    createDatabase: () => createScratchMysql("shop"),
    seed,
    exec: async (db, statements) => void (await db.pool.query(statements)),
    async snapshot(db) {
      const out: Record<string, RowDataPacket[]> = {};
      for (const t of ["customers", "orders", "order_participants", "order_items"]) {
        out[t] = (await db.pool.query<RowDataPacket[]>(`select * from ${t} order by 1, 2`))[0];
      }
      return JSON.parse(JSON.stringify(out)) as Snapshot;
    },
    map: shopMap,
    unmappedReference: `create table support_tickets (id int primary key, customer_id int, foreign key (customer_id) references customers(id)) engine=InnoDB;
      insert into support_tickets values (1, 1);`,
    foreignKeyErrorCode: "mysql_ER_ROW_IS_REFERENCED_2",
  },
  (store) => {
    const { connector, snapshot, erase, collect } = store;

    it("access reaches the subject's rows (case-insensitive collation) and no other customer's", async () => {
      const c = await connector("keep");
      const rows = await collect(c.access({ email: "alice@example.com" }));
      expect(rows.customers).toEqual([{ id: 1, email: "Alice@Example.com", phone: "+442079460958", full_name: "Alice A" }]);
      expect(rows.orders!.map((r) => r.id).sort()).toEqual([10, 13, 14]);
      expect(rows.orders!.find((r) => r.id === 10)!.total).toBe("20.00");
      expect(rows.order_items!.map((r) => `${r.order_id}/${r.line}`).sort()).toEqual(["10/1", "10/2", "13/1", "14/1"]);
      expect(JSON.stringify(rows)).not.toMatch(/bob@|carol@|SKU-X/);
      expect((await c.find({ phone: "0044 20 7946 0958" })).collections.customers).toBe(1);
    });

    it("erases children before parents under InnoDB foreign keys and leaves shared orders alone", async () => {
      const c = await connector("delete");
      const before = await snapshot();
      const dry = await erase(c, { email: "alice@example.com" }, true);
      expect(await snapshot()).toEqual(before);
      const report = await erase(c, { email: "alice@example.com" });
      expect({ ...dry, dryRun: false }).toEqual(report);
      const after = await snapshot();
      expect(after.customers!.map((r) => r.id)).toEqual([2, 3]);
      expect(after.orders!.map((r) => r.id)).toEqual([12, 13, 14]);
      expect(after.order_items!.map((r) => r.sku)).toEqual(["SKU-X", "SKU-S", "SKU-T"]);
      expect(after.order_participants).toEqual([
        { order_id: 12, customer_id: 2 },
        { order_id: 14, customer_id: 3 },
      ]);
      for (const t of Object.keys(after)) for (const row of after[t]!) expect(before[t]).toContainEqual(row);
      expect(report.collections.orders).toEqual({ matched: 3, deleted: 1, masked: 0, kept: 2, bases: [{ basis: SHARED_BASIS, rows: 2 }] });

      const again = await erase(c, { email: "alice@example.com" });
      expect(await snapshot()).toEqual(after);
      expect(again.totals).toEqual({ matched: 0, deleted: 0, masked: 0, kept: 0 });
    });

    it("keep beats delete and the kept rows report their basis", async () => {
      const c = await connector("keep");
      const report = await erase(c, { email: "alice@example.com" });
      const after = await snapshot();
      expect(after.customers![0]).toEqual({ id: 1, email: "erased@invalid", phone: null, full_name: "Erased" });
      expect(after.orders!.find((r) => r.id === 10)).toEqual({ id: 10, customer_id: 1, shipping_name: "Erased", total: "20.00" });
      expect(report.collections.customers!.bases).toEqual([{ basis: referencedBasis("orders"), rows: 1 }]);
      expect(report.collections.order_items).toEqual({ matched: 4, deleted: 0, masked: 0, kept: 4, bases: [{ basis: TAX, rows: 2 }, { basis: SHARED_BASIS, rows: 2 }] });
    });

    it("works in batches: a subject with thousands of rows is erased completely", async () => {
      const orders = Array.from({ length: 2200 }, (_, i) => [1000 + i, 1, "Alice A", 1]);
      await store.db.pool.query("insert into orders values ?", [orders]);
      await store.db.pool.query("insert into order_items values ?", [orders.map(([id]) => [id, 1, "SKU"])]);
      const c = await connector("delete");
      expect((await c.find({ email: "alice@example.com" })).collections).toMatchObject({ orders: 2203, order_items: 2204 });
      const report = await erase(c, { email: "alice@example.com" });
      expect(report.collections.orders).toMatchObject({ matched: 2203, deleted: 2201 });
      const [[left]] = await store.db.pool.query<RowDataPacket[]>("select count(*) as n from orders where id >= 1000");
      expect(Number(left!.n)).toBe(0);
    });

    it("warns about an unindexed identity column with the exact CREATE INDEX", async () => {
      const c = await connector("keep");
      const t = await c.test();
      expect(t).toMatchObject({ connected: true, ok: true });
      expect(t.server).toMatch(/^(MariaDB|MySQL) \d+/);
      expect(t.warnings.filter((w) => w.code === "missing_index")).toEqual([
        expect.objectContaining({ collection: "customers", column: "phone", fix: `CREATE INDEX \`customers_phone_idx\` ON \`${store.db.name}\`.\`customers\` (\`phone\`);` }),
      ]);
    });
  },
);
