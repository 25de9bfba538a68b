/**
 * The demo marketing platform's MariaDB database: contacts, campaign events and preferences (newsletter, product
 * updates, SMS, and whether the contact may be shared with advertising partners) for most demo customers. Idempotent: tables created if missing, filled only while empty.
 */
import type mysql from "mysql2/promise";
import { prng, type DemoCustomer } from "./customers.ts";

export const MARKETING_SCHEMA = [
  `create table if not exists contacts (
    id int primary key, email varchar(254) not null, first_name varchar(100), last_name varchar(100), country char(2),
    created_at datetime not null, unique key contacts_email (email)) engine=InnoDB`,
  `create table if not exists campaign_events (
    id bigint primary key, contact_id int not null, campaign varchar(100) not null, event varchar(20) not null,
    occurred_at datetime not null, key campaign_events_contact (contact_id),
    constraint campaign_events_contact_fk foreign key (contact_id) references contacts(id)) engine=InnoDB`,
  `create table if not exists preferences (
    contact_id int primary key, newsletter boolean not null, product_updates boolean not null, sms boolean not null,
    share_with_ad_partners boolean not null default true, updated_at datetime not null, constraint preferences_contact_fk foreign key (contact_id) references contacts(id)) engine=InnoDB`,
];

const CAMPAIGNS = ["spring-sale-2025", "new-notebooks", "black-friday-2025", "winter-gifts", "welcome-series"] as const;

export function marketingRows(customers: DemoCustomer[], seed = 11) {
  const r = prng(seed);
  const contacts: unknown[][] = [];
  const events: unknown[][] = [];
  const preferences: unknown[][] = [];
  let eventId = 1;
  for (const c of customers) {
    if (c.id > 5 && !r.chance(0.7)) continue;
    contacts.push([c.id, c.email, c.firstName, c.lastName, c.country, c.createdAt]);
    preferences.push([c.id, r.chance(0.8), r.chance(0.4), r.chance(0.1), c.createdAt]);
    const n = c.id <= 5 ? 4 : r.int(0, 8);
    for (let i = 0; i < n; i++) {
      events.push([eventId++, c.id, r.pick(CAMPAIGNS), r.pick(["sent", "sent", "open", "click"]), new Date(c.createdAt.getTime() + r.int(1, 500) * 86_400_000)]);
    }
  }
  return { contacts, events, preferences };
}

export async function setUpMarketing(pool: mysql.Pool, customers: DemoCustomer[]) {
  for (const statement of MARKETING_SCHEMA) await pool.query(statement);
  // Demo databases made before the sale/sharing flag existed get it.
  const [[flag]] = (await pool.query(
    "select count(*) as n from information_schema.columns where table_schema = database() and table_name = 'preferences' and column_name = 'share_with_ad_partners'",
  )) as unknown as [[{ n: number | string }]];
  if (Number(flag.n) === 0) await pool.query("alter table preferences add column share_with_ad_partners boolean not null default true after sms");
  const [[row]] = (await pool.query("select count(*) as n from contacts")) as unknown as [[{ n: number | string }]];
  if (Number(row.n) > 0) return { inserted: 0 };
  const { contacts, events, preferences } = marketingRows(customers);
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const insert = async (sql: string, rows: unknown[][]) => {
      for (let i = 0; i < rows.length; i += 500) if (rows.length > 0) await conn.query(sql, [rows.slice(i, i + 500)]);
    };
    await insert("insert ignore into contacts (id, email, first_name, last_name, country, created_at) values ?", contacts);
    await insert("insert ignore into preferences (contact_id, newsletter, product_updates, sms, updated_at) values ?", preferences);
    await insert("insert ignore into campaign_events (id, contact_id, campaign, event, occurred_at) values ?", events);
    await conn.commit();
  } catch (error) {
    await conn.rollback();
    throw error;
  } finally {
    conn.release();
  }
  return { inserted: contacts.length };
}
