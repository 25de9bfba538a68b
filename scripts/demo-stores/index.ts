/**
 * The demo's connected stores (npm run demo): a `shop` PostgreSQL database, a `marketing` MariaDB database and a
 * `support` HTTP service, all holding the same generated customers (the demo requests' people among them), and
 * their data maps (the YAML files beside this one) applied with applyStoreMap. Idempotent: databases and tables are
 * created when missing and filled only while empty; re-applying an unchanged map changes nothing.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import mysql from "mysql2/promise";
import postgres from "postgres";
import YAML from "yaml";
import type { Executor } from "#db/client.server.ts";
import { extractSecrets } from "#app/models/data-map.ts";
import { applyStoreMap, storeContext } from "#app/models/stores.server.ts";
import { demoCustomers } from "./customers.ts";
import { setUpMarketing } from "./marketing.ts";
import { setUpShop } from "./shop.ts";

export const DEMO_SHOP_DB = "demo_shop";
export const DEMO_MARKETING_DB = "demo_marketing";
export const DEMO_CUSTOMER_COUNT = 300;

const here = import.meta.dirname;

/** A data map of this folder, parsed (the YAML as written). */
export function demoMap(name: "shop" | "marketing" | "support"): Record<string, unknown> {
  return YAML.parse(readFileSync(join(here, `${name}.yaml`), "utf8")) as Record<string, unknown>;
}

/** The three maps with real connection details: literal database URLs (stored encrypted), the support service's URL and secret. */
export function demoStoreMaps(input: { shopUrl: string; marketingUrl: string; supportUrl?: string; supportSecret?: string }) {
  const withConnection = (map: Record<string, unknown>, patch: Record<string, unknown>) => ({
    ...map,
    connection: { ...(map.connection as Record<string, unknown>), ...patch },
  });
  return [
    withConnection(demoMap("shop"), { url: input.shopUrl }),
    withConnection(demoMap("marketing"), { url: input.marketingUrl }),
    withConnection(demoMap("support"), { ...(input.supportUrl ? { baseUrl: input.supportUrl } : {}), ...(input.supportSecret ? { secret: input.supportSecret } : {}) }),
  ];
}

/** `postgres://…/privacy_portal` → the same server's database `name`. */
export function siblingDatabaseUrl(url: string, name: string) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates and fills the shop and marketing databases (when missing or empty) and applies the three maps. */
export async function setUpDemoStores(
  db: Executor,
  options: { databaseUrl: string; mysqlUrl?: string; supportUrl?: string; supportSecret?: string; customers?: number; shopDatabase?: string; marketingDatabase?: string },
) {
  const shopDb = options.shopDatabase ?? DEMO_SHOP_DB;
  const marketingDb = options.marketingDatabase ?? DEMO_MARKETING_DB;
  const customers = demoCustomers(options.customers ?? DEMO_CUSTOMER_COUNT);

  const admin = postgres(siblingDatabaseUrl(options.databaseUrl, "postgres"), { max: 1, onnotice: () => {} });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${shopDb}`;
    if (!exists) await admin.unsafe(`create database "${shopDb}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const shopUrl = siblingDatabaseUrl(options.databaseUrl, shopDb);
  const shopSql = postgres(shopUrl, { max: 1, onnotice: () => {} });
  let shop: { inserted: number };
  try {
    shop = await setUpShop(shopSql, customers);
  } finally {
    await shopSql.end({ timeout: 5 });
  }

  const mysqlBase = (options.mysqlUrl ?? "mysql://root@127.0.0.1:3306").replace(/\/+$/, "");
  const conn = await mysql.createConnection({ uri: mysqlBase });
  try {
    await conn.query(`create database if not exists \`${marketingDb}\` character set utf8mb4 collate utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
  const marketingUrl = `${mysqlBase}/${marketingDb}`;
  const pool = mysql.createPool({ uri: marketingUrl, connectionLimit: 1 });
  let marketing: { inserted: number };
  try {
    marketing = await setUpMarketing(pool, customers);
  } finally {
    await pool.end();
  }

  const applied = [];
  for (const map of demoStoreMaps({ shopUrl, marketingUrl, ...(options.supportUrl ? { supportUrl: options.supportUrl } : {}), ...(options.supportSecret ? { supportSecret: options.supportSecret } : {}) })) {
    // Unchanged (compared as JSON values: the stored map comes back from jsonb with its keys reordered): keep it.
    const current = await storeContext(db, String((map as { name?: unknown }).name)).catch(() => undefined);
    const { map: stripped, secrets } = extractSecrets(map);
    if (current && isDeepStrictEqual(current.store.dataMap, stripped) && isDeepStrictEqual(current.context.secrets, secrets)) {
      applied.push({ store: current.store.name, created: false, changed: false });
      continue;
    }
    const result = await applyStoreMap(db, map, { actorType: "system", actorId: "demo" });
    applied.push({ store: result.store.name, created: result.created, changed: result.changed });
  }
  return { shop, marketing, applied, customers: customers.length };
}
