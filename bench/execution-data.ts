/**
 * The stores bench:execution erases and exports from, generated in the databases themselves (no rows through Node):
 * the demo shop's schema in PostgreSQL filled with `INSERT … SELECT generate_series`, the demo marketing schema in
 * MariaDB filled from the sequence engine (`seq_1_to_N`). Secondary indexes and foreign keys are created after the
 * load. Every customer/contact `g` has the email `customer<g>@bench.example` in both stores (the same person).
 *
 * shop: `customers` customers, each an address; `orders` orders spread evenly over them (order g → customer
 * ((g − 1) mod customers) + 1), one item and one payment per order (every tenth item has a gift message); a review
 * and a newsletter consent for every second customer.
 * marketing: `contacts` contacts with preferences; campaign events spread over contacts 3…, plus the two heavy
 * subjects: contact 1 (customer1@…) with `heavy[0]` events and contact 2 with `heavy[1]` events.
 *
 * A table `bench_meta` records the sizes; `ensure…` regenerates only when it is missing or different (--reuse).
 */
import { createHash } from "node:crypto";
import mysql from "mysql2/promise";
import postgres from "postgres";
import { MARKETING_SCHEMA } from "#scripts/demo-stores/marketing.ts";
import { SHOP_SCHEMA } from "#scripts/demo-stores/shop.ts";

export type ShopSize = { customers: number; orders: number };
export type MarketingSize = { contacts: number; events: number; heavy: [number, number] };

export const HEAVY_SUBJECTS = [1, 2] as const;
export const emailOf = (g: number) => `customer${g}@bench.example`;

/** The demo schemas change with the demo maps: a store generated from another version is generated again. */
const schemaHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

const CREATE_INDEX = /^create index [^\n]*;$/gim;

async function pgMeta(sql: postgres.Sql): Promise<string | undefined> {
  const [t] = await sql`select to_regclass('bench_meta') as t`;
  if (!t?.t) return undefined;
  const [row] = await sql<{ size: string }[]>`select size from bench_meta`;
  return row?.size;
}

/** Generates the shop store unless `reuse` and it already holds these sizes; returns rows and seconds (0: reused). */
export async function ensureShop(url: string, size: ShopSize, reuse: boolean) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const wanted = JSON.stringify({ ...size, schema: schemaHash(SHOP_SCHEMA) });
    if (reuse && (await pgMeta(sql)) === wanted) return { rows: await shopRows(sql), seconds: 0 };
    const started = performance.now();
    await sql.unsafe(`drop schema public cascade; create schema public`);
    const indexes = SHOP_SCHEMA.match(CREATE_INDEX) ?? [];
    await sql.unsafe(SHOP_SCHEMA.replace(CREATE_INDEX, ""));
    const { customers: N, orders: O } = size;
    // Foreign-key triggers are off for the load (the data is consistent by construction), on again afterwards.
    await sql.unsafe(`set session_replication_role = replica; set synchronous_commit = off; set maintenance_work_mem = '512MB'`);
    await sql.unsafe(`
      insert into customers (id, email, full_name, phone, account_number, password_hash, marketing_opt_in, created_at) select g, 'customer' || g || '@bench.example', 'Customer ' || g, '+4470' || lpad(g::text, 8, '0'), 'C-' || g,
        '$argon2id$bench', g % 2 = 0, timestamptz '2024-01-01' + (g % 700) * interval '1 day' from generate_series(1, ${N}) g;
      insert into addresses (id, customer_id, street, city, postcode, country) select g, g, g || ' High Street', 'Leeds', 'LS1 ' || (g % 9) || 'AB', 'GB' from generate_series(1, ${N}) g;
      insert into orders (id, customer_id, order_number, status, total_cents, currency, shipping_name, shipping_street, shipping_postcode, created_at) select g, ((g - 1) % ${N}) + 1, 'SO-' || g, 'delivered', 1000 + g % 5000, 'GBP', 'Customer ' || (((g - 1) % ${N}) + 1),
        'High Street', 'LS1', timestamptz '2025-01-01' + (g % 300) * interval '1 day' from generate_series(1, ${O}) g;
      insert into order_items (order_id, line, sku, product_name, quantity, unit_price_cents, gift_message) select g, 1, 'MUG-01', 'Enamel mug', 1, 1200, case when g % 10 = 0 then 'Happy birthday!' end from generate_series(1, ${O}) g;
      insert into payments (id, order_id, provider_token, card_last4, amount_cents, created_at) select g, g, 'tok_' || g, lpad((g % 10000)::text, 4, '0'), 1200, timestamptz '2025-01-01' from generate_series(1, ${O}) g;
      insert into reviews (id, customer_id, product_sku, rating, body, created_at) select g, g * 2, 'MUG-01', 4, 'Nice mug', timestamptz '2025-02-01' from generate_series(1, ${Math.floor(N / 2)}) g;
      insert into newsletter_consents (id, email, consented_at, source) select g, 'customer' || (g * 2) || '@bench.example', timestamptz '2024-06-01', 'checkout' from generate_series(1, ${Math.floor(N / 2)}) g;`);
    await sql.unsafe(`set session_replication_role = origin`);
    for (const statement of indexes) await sql.unsafe(statement);
    await sql.unsafe(`create table bench_meta (size text not null); insert into bench_meta values ('${wanted}')`);
    await sql.unsafe("vacuum analyze");
    return { rows: await shopRows(sql), seconds: (performance.now() - started) / 1000 };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function shopRows(sql: postgres.Sql) {
  const [r] = await sql`select (select count(*) from customers) + (select count(*) from addresses) + (select count(*) from orders)
    + (select count(*) from order_items) + (select count(*) from payments) + (select count(*) from reviews)
    + (select count(*) from newsletter_consents) as n`;
  return Number(r!.n);
}

/** MariaDB server URL (no database) → a pool on `database`, created when missing. */
async function mariadb(serverUrl: string, database: string) {
  const admin = await mysql.createConnection(serverUrl);
  await admin.query(`create database if not exists \`${database}\``);
  await admin.end();
  return mysql.createConnection({ uri: `${serverUrl}/${database}`, multipleStatements: false });
}

export async function dropMarketing(serverUrl: string, database: string) {
  const admin = await mysql.createConnection(serverUrl);
  await admin.query(`drop database if exists \`${database}\``);
  await admin.end();
}

/** Generates the marketing store unless `reuse` and it already holds these sizes. */
export async function ensureMarketing(serverUrl: string, database: string, size: MarketingSize, reuse: boolean) {
  const conn = await mariadb(serverUrl, database);
  try {
    const wanted = JSON.stringify({ ...size, schema: schemaHash(MARKETING_SCHEMA.join(";")) });
    if (reuse) {
      const [found] = (await conn.query(`select size from information_schema.tables t join bench_meta on true where t.table_schema = database() and t.table_name = 'bench_meta'`).catch(() => [[]])) as unknown as [{ size: string }[]];
      if (found[0]?.size === wanted) return { rows: await marketingRows(conn), seconds: 0 };
    }
    const started = performance.now();
    await conn.query("set foreign_key_checks = 0");
    for (const t of ["bench_meta", "campaign_events", "preferences", "contacts"]) await conn.query(`drop table if exists ${t}`);
    // The events table without its secondary key and foreign key: both are added after the load.
    const [contacts, events, preferences] = MARKETING_SCHEMA as [string, string, string];
    const bareEvents = events.replace(/,\s*key campaign_events_contact \(contact_id\),\s*constraint campaign_events_contact_fk [^)]*\)[^)]*\)/i, "");
    if (bareEvents === events) throw new Error("bench: the campaign_events schema changed; update bench/execution-data.ts");
    await conn.query(contacts);
    await conn.query(bareEvents);
    await conn.query(preferences);
    const C = size.contacts;
    const [h1, h2] = size.heavy;
    const regular = Math.max(size.events - h1 - h2, C);
    await conn.query("set unique_checks = 0");
    await conn.query(`insert into contacts (id, email, first_name, last_name, country, created_at) select seq, concat('customer', seq, '@bench.example'), 'Customer', concat('No. ', seq), 'GB', '2024-01-01' from seq_1_to_${C}`);
    await conn.query(`insert into preferences (contact_id, newsletter, product_updates, sms, updated_at) select seq, 1, seq % 2, 0, '2024-01-01' from seq_1_to_${C}`);
    await conn.query(
      `insert into campaign_events (id, contact_id, campaign, event, occurred_at) select seq, 3 + (seq % ${C - 2}), 'spring-sale-2025', elt(1 + seq % 4, 'sent', 'sent', 'open', 'click'), '2025-03-01' + interval (seq % 300) day from seq_1_to_${regular}`,
    );
    let next = regular;
    for (const [contact, n] of [[HEAVY_SUBJECTS[0], h1], [HEAVY_SUBJECTS[1], h2]] as const) {
      if (n > 0) await conn.query(`insert into campaign_events (id, contact_id, campaign, event, occurred_at) select ${next} + seq, ${contact}, 'welcome-series', 'sent', '2025-03-01' + interval (seq % 300) day from seq_1_to_${n}`);
      next += n;
    }
    await conn.query("set unique_checks = 1");
    await conn.query("alter table campaign_events add key campaign_events_contact (contact_id)");
    // With checks off MariaDB adds the key in place instead of copying the table (the rows are consistent by construction).
    await conn.query("alter table campaign_events add constraint campaign_events_contact_fk foreign key (contact_id) references contacts(id)");
    await conn.query("set foreign_key_checks = 1");
    await conn.query("create table bench_meta (size text not null)");
    await conn.query("insert into bench_meta values (?)", [wanted]);
    await conn.query("analyze table contacts, campaign_events, preferences");
    return { rows: await marketingRows(conn), seconds: (performance.now() - started) / 1000 };
  } finally {
    await conn.end();
  }
}

async function marketingRows(conn: mysql.Connection) {
  const [[r]] = (await conn.query(
    "select (select count(*) from contacts) + (select count(*) from campaign_events) + (select count(*) from preferences) as n",
  )) as unknown as [[{ n: string | number }]];
  return Number(r.n);
}
