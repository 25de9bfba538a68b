/**
 * Measures corrections and opt-outs against the demo stores at size: a scratch PostgreSQL shop and MariaDB marketing
 * database filled with N demo customers (default 100,000), 40 random subjects each: correction of name and email,
 * the same correction again (a retry: nothing left to write), and an opt-out. Prints p50/p95; drops the databases.
 *
 *   N=100000 node --import tsx scripts/demo-stores/measure-updates.ts
 */
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import postgres from "postgres";
import { createConnector } from "#app/connectors/registry.ts";
import { loadDataMap } from "#app/models/data-map.ts";
import { demoCustomers } from "#scripts/demo-stores/customers.ts";
import { setUpShop } from "#scripts/demo-stores/shop.ts";
import { setUpMarketing } from "#scripts/demo-stores/marketing.ts";

const N = Number(process.env.N ?? 100000);
const name = `portal_corrbench_${process.pid}`;
const admin = postgres("postgres://postgres@127.0.0.1:5432/postgres", { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${name}"`);
const url = `postgres://postgres@127.0.0.1:5432/${name}`;
const sql = postgres(url, { max: 2, onnotice: () => {} });
const my = await mysql.createConnection({ uri: "mysql://root@127.0.0.1:3306" });
await my.query(`create database \`${name}\``);
const myUrl = `mysql://root@127.0.0.1:3306/${name}`;
const pool = mysql.createPool({ uri: myUrl, connectionLimit: 2 });
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
try {
  const customers = demoCustomers(N);
  let t = performance.now();
  await setUpShop(sql, customers);
  await setUpMarketing(pool, customers);
  console.log(`loaded ${N} customers in ${Math.round(performance.now() - t)} ms`);
  const env = { DEMO_SHOP_DB_URL: url, DEMO_MARKETING_DB_URL: myUrl };
  const shop = await createConnector({ store: "shop", map: loadDataMap(readFileSync("scripts/demo-stores/shop.yaml", "utf8")), secrets: {}, hashKey: randomBytes(32), env });
  const mkt = await createConnector({ store: "marketing", map: loadDataMap(readFileSync("scripts/demo-stores/marketing.yaml", "utf8")), secrets: {}, hashKey: randomBytes(32), env });
  for (const [label, c] of [["shop (PostgreSQL)", shop], ["marketing (MariaDB)", mkt]] as const) {
    const corr: number[] = [];
    const again: number[] = [];
    const opt: number[] = [];
    for (let i = 0; i < 40; i++) {
      const p = customers[Math.floor(Math.random() * N)]!;
      const values = { name: `${p.firstName} Q. ${p.lastName}`, given_name: p.firstName, family_name: `Q ${p.lastName}`, email: `new.${i}.${p.email}` };
      t = performance.now();
      await c.correct({ email: p.email }, values);
      corr.push(performance.now() - t);
      t = performance.now();
      await c.correct({ email: p.email }, values);
      again.push(performance.now() - t);
      t = performance.now();
      await c.optOut({ email: values.email }, ["sale_sharing", "marketing_consent"]);
      opt.push(performance.now() - t);
    }
    const f = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms`;
    console.log(`${label}: correction (name+email) ${f(corr)}; same correction again ${f(again)}; opt-out ${f(opt)}`);
    await c.close();
  }
} finally {
  await sql.end();
  await pool.end();
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
  await my.query(`drop database if exists \`${name}\``);
  await my.end();
}
