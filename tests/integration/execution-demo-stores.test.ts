/**
 * The demo's stores as `npm run demo` sets them up (scripts/demo-stores): real databases created on the machine's
 * PostgreSQL and MariaDB, filled with the demo customers (the seeded requests' people included), maps applied — and
 * a second run changes nothing. The support service answers the signed contract; a dry run finds each demo person.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { dryRunStore, listStores, testStore } from "#app/models/stores.server.ts";
import { getDb } from "#db/client.server.ts";
import { SEED_PEOPLE } from "#scripts/demo-stores/customers.ts";
import { setUpDemoStores, siblingDatabaseUrl } from "#scripts/demo-stores/index.ts";
import { startSupportService, type SupportService } from "#scripts/demo-stores/support-service.ts";
import { MYSQL_BASE_URL } from "#tests/helpers/scratch-db.ts";

const own = new URL(process.env.DATABASE_URL!).pathname.slice(1);
const shopDatabase = `${own}_demoshop`.slice(0, 63);
const marketingDatabase = `portal_t_${randomBytes(4).toString("hex")}_demomkt`;
let support: SupportService | undefined;

afterAll(async () => {
  await support?.close();
  const admin = postgres(siblingDatabaseUrl(process.env.DATABASE_URL!, "postgres"), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${shopDatabase}" with (force)`);
  await admin.end({ timeout: 5 });
  const conn = await mysql.createConnection({ uri: MYSQL_BASE_URL });
  await conn.query(`drop database if exists \`${marketingDatabase}\``);
  await conn.end();
});

describe("demo stores", () => {
  it("are created, filled and mapped once; the demo requests' people are found in every store", async () => {
    const secret = randomBytes(32).toString("base64url");
    support = await startSupportService({ secret });
    const options = { databaseUrl: process.env.DATABASE_URL!, mysqlUrl: MYSQL_BASE_URL, supportUrl: support.url, supportSecret: secret, shopDatabase, marketingDatabase };
    const first = await setUpDemoStores(getDb(), options);
    expect(first.shop.inserted).toBe(300);
    expect(first.marketing.inserted).toBeGreaterThan(150);
    expect(first.applied.map((a) => [a.store, a.created])).toEqual([["shop", true], ["marketing", true], ["support", true]]);

    const second = await setUpDemoStores(getDb(), options);
    expect(second.shop.inserted).toBe(0);
    expect(second.marketing.inserted).toBe(0);
    expect(second.applied.every((a) => !a.created && !a.changed)).toBe(true);
    expect((await listStores(getDb())).map((s) => s.name).sort()).toEqual(["marketing", "shop", "support"]);

    for (const name of ["shop", "marketing", "support"]) {
      const tested = await testStore(getDb(), name);
      expect(tested, JSON.stringify(tested.errors)).toMatchObject({ connected: true, ok: true });
      expect(tested.warnings.filter((w) => w.code === "missing_index")).toEqual([]);
    }
    for (const person of SEED_PEOPLE) {
      const shop = await dryRunStore(getDb(), "shop", { subject: { email: person.email }, action: "access" });
      expect(shop).toMatchObject({ found: true });
      const erase = await dryRunStore(getDb(), "support", { subject: { email: person.email }, action: "erase" });
      expect(erase).toMatchObject({ report: { totals: { matched: 2, deleted: 1, kept: 1 } } });
    }
    expect(support.tickets().length).toBeGreaterThan(50); // dry runs changed nothing
  }, 120_000);
});
