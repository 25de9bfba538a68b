/**
 * The demo shop's PostgreSQL database: customers (with their "do not sell or share" flag), addresses, orders, order
 * items, payments (the processor's token and the last four digits only), reviews and newsletter consents (withdrawn
 * by an opt-out), filled with the demo customers. Idempotent:
 * tables are created if missing and filled only while empty (so an erasure done in the demo stays done).
 */
import type postgres from "postgres";
import { prng, type DemoCustomer } from "./customers.ts";

export const SHOP_SCHEMA = `
create table if not exists customers (
  id integer primary key, email text not null, full_name text, phone text, account_number text unique,
  password_hash text, marketing_opt_in boolean, created_at timestamptz);
create index if not exists customers_email_lower_idx on customers (lower(email));
create index if not exists customers_phone_idx on customers (phone);
create table if not exists addresses (
  id integer primary key, customer_id integer not null references customers(id), street text, city text, postcode text, country text);
create index if not exists addresses_customer_idx on addresses (customer_id);
create table if not exists orders (
  id integer primary key, customer_id integer references customers(id), order_number text not null unique, status text not null,
  total_cents integer not null, currency text not null, shipping_name text not null, shipping_street text not null,
  shipping_postcode text not null, created_at timestamptz not null);
create index if not exists orders_customer_idx on orders (customer_id);
create table if not exists order_items (
  order_id integer not null references orders(id), line integer not null, sku text not null, product_name text not null,
  quantity integer not null, unit_price_cents integer not null, gift_message text, primary key (order_id, line));
create table if not exists payments (
  id integer primary key, order_id integer not null references orders(id), provider_token text, card_last4 text not null,
  amount_cents integer not null, created_at timestamptz not null);
create index if not exists payments_order_idx on payments (order_id);
create table if not exists reviews (
  id integer primary key, customer_id integer not null references customers(id), product_sku text not null, rating integer not null,
  body text, created_at timestamptz not null);
create index if not exists reviews_customer_idx on reviews (customer_id);
create table if not exists newsletter_consents (
  id integer primary key, email text not null, consented_at timestamptz not null, source text not null);
create index if not exists newsletter_consents_email_lower_idx on newsletter_consents (lower(email));
alter table customers add column if not exists sale_opt_out boolean not null default false;
alter table newsletter_consents add column if not exists withdrawn_at timestamptz;
`;

export const PRODUCTS = [
  { sku: "MUG-01", name: "Enamel mug", price: 1200 },
  { sku: "TEE-02", name: "Organic T-shirt", price: 2500 },
  { sku: "BAG-03", name: "Canvas tote bag", price: 1800 },
  { sku: "NB-04", name: "Dot-grid notebook", price: 950 },
  { sku: "PEN-05", name: "Fountain pen", price: 4200 },
  { sku: "CAP-06", name: "Baseball cap", price: 2100 },
] as const;

const REVIEW_TEXTS = ["Lovely quality, would buy again.", "Arrived quickly.", "Smaller than expected.", "=HYPERLINK(\"http://example.com\") great!", "Perfect gift."];

type Rows = Record<string, Record<string, unknown>[]>;

/** The shop's rows for these customers (deterministic). */
export function shopRows(customers: DemoCustomer[], seed = 7): Rows {
  const r = prng(seed);
  const rows: Rows = { customers: [], addresses: [], orders: [], order_items: [], payments: [], reviews: [], newsletter_consents: [] };
  let orderId = 1000;
  let paymentId = 1;
  let reviewId = 1;
  let consentId = 1;
  for (const c of customers) {
    const seeded = c.id <= 5;
    rows.customers!.push({
      id: c.id,
      email: c.email,
      full_name: `${c.firstName} ${c.lastName}`,
      phone: c.phone,
      account_number: c.accountNumber,
      password_hash: `$argon2id$v=19$m=19456,t=2,p=1$demo${c.id}`,
      marketing_opt_in: r.chance(0.5),
      created_at: c.createdAt,
    });
    rows.addresses!.push({ id: c.id, customer_id: c.id, street: c.street, city: c.city, postcode: c.postcode, country: c.country });
    const orders = seeded ? 2 : r.int(0, 4);
    for (let o = 0; o < orders; o++) {
      const id = ++orderId;
      const lines = r.int(1, 3);
      let total = 0;
      for (let line = 1; line <= lines; line++) {
        const p = r.pick(PRODUCTS);
        const quantity = r.int(1, 3);
        total += p.price * quantity;
        rows.order_items!.push({ order_id: id, line, sku: p.sku, product_name: p.name, quantity, unit_price_cents: p.price, gift_message: r.chance(0.15) ? "Happy birthday!" : null });
      }
      const createdAt = new Date(c.createdAt.getTime() + r.int(1, 600) * 86_400_000);
      rows.orders!.push({
        id,
        customer_id: c.id,
        order_number: `SO-${id}`,
        status: r.pick(["delivered", "delivered", "shipped", "cancelled"]),
        total_cents: total,
        currency: c.country === "US" ? "USD" : c.country === "GB" ? "GBP" : "EUR",
        shipping_name: `${c.firstName} ${c.lastName}`,
        shipping_street: c.street,
        shipping_postcode: c.postcode,
        created_at: createdAt,
      });
      rows.payments!.push({ id: paymentId++, order_id: id, provider_token: `tok_${id.toString(36)}${c.id.toString(36)}demo`, card_last4: String(r.int(1000, 9999)), amount_cents: total, created_at: createdAt });
    }
    const reviews = seeded ? 1 : r.chance(0.3) ? r.int(1, 2) : 0;
    for (let i = 0; i < reviews; i++) {
      rows.reviews!.push({ id: reviewId++, customer_id: c.id, product_sku: r.pick(PRODUCTS).sku, rating: r.int(2, 5), body: r.pick(REVIEW_TEXTS), created_at: new Date(c.createdAt.getTime() + r.int(30, 700) * 86_400_000) });
    }
    if (seeded || r.chance(0.6)) {
      rows.newsletter_consents!.push({ id: consentId++, email: c.email, consented_at: c.createdAt, source: r.pick(["checkout", "footer form", "account page"]) });
    }
  }
  return rows;
}

async function insertAll(sql: postgres.Sql, table: string, rows: Record<string, unknown>[]) {
  for (let i = 0; i < rows.length; i += 500) {
    const batch = rows.slice(i, i + 500);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await sql`insert into ${sql(table)} ${sql(batch as any[])} on conflict do nothing`;
  }
}

/** Creates the tables if missing and fills them if empty; returns how many customers were inserted (0: already there). */
export async function setUpShop(sql: postgres.Sql, customers: DemoCustomer[]) {
  await sql.unsafe(SHOP_SCHEMA);
  const [{ n }] = (await sql`select count(*)::int as n from customers`) as unknown as [{ n: number }];
  if (n > 0) return { inserted: 0 };
  const rows = shopRows(customers);
  await sql.begin(async (tx) => {
    for (const table of ["customers", "addresses", "orders", "order_items", "payments", "reviews", "newsletter_consents"]) {
      await insertAll(tx as unknown as postgres.Sql, table, rows[table]!);
    }
  });
  return { inserted: customers.length };
}
