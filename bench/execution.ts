/**
 * `npm run bench:execution [-- --customers 1000000 --requests 20 --batch 50 --keep --dry]`
 *
 * Executing requests against a large connected store: the demo shop's schema and map (scripts/demo-stores) in a
 * dedicated PostgreSQL database `portal_bench_shop` with `--customers` customers (default 1M), each with an address,
 * two orders of two items and a payment (every second one a review and a newsletter consent) — about 11 rows per
 * customer, made by `INSERT … SELECT generate_series` — then VACUUM ANALYZE. The portal uses its own database
 * `portal_bench_execution` (created and migrated with db/migrate.ts), its own Redis prefix, an SMTP catcher and a
 * temporary PACKAGE_DIR; everything is dropped at the end unless --keep.
 *
 * With the real worker (in this process, WORKER_CONCURRENCY 5) and the real model code it measures:
 *   check     `testStore`: every column the engine filters on is indexed (no missing_index warnings);
 *   access    `--requests` access requests one at a time (approve → execute-request → flow → package built),
 *             latency from the enqueue to `completed`, and the package's size;
 *   erasure   `--requests` deletion requests one at a time, same latency; each is checked in the store (addresses
 *             and reviews gone, customer masked, orders kept with the shipping name masked);
 *   batch     `--batch` access requests approved at once: wall time and requests per second.
 * Target: p95 latency of one request under 2 s at 1M customers (index lookups only: the latency does not grow with
 * the table). Figures are printed and written into docs/BENCHMARKS.md between the bench:execution markers (--dry
 * skips that).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import postgres from "postgres";
import { migrateDatabase } from "#db/migrate.ts";
import { SHOP_SCHEMA } from "#scripts/demo-stores/shop.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: args } = parseArgs({
  options: {
    customers: { type: "string", default: "1000000" },
    requests: { type: "string", default: "20" },
    batch: { type: "string", default: "50" },
    keep: { type: "boolean", default: false },
    dry: { type: "boolean", default: false },
  },
});
const N = Number(args.customers);
const K = Number(args.requests);
const BATCH = Number(args.batch);
if (!(Number.isInteger(N) && N >= 1000 && N <= 20_000_000) || !(K >= 1 && K <= 1000) || !(BATCH >= 1 && BATCH <= 1000)) {
  console.error("usage: npm run bench:execution -- [--customers 1000..20000000] [--requests 1..1000] [--batch 1..1000] [--keep] [--dry]");
  process.exit(64);
}
const TARGET_MS = 2000;
const PG = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const PORTAL_DB = "portal_bench_execution";
const SHOP_DB = "portal_bench_shop";
const prefix = `bench-exec-${process.pid}`;
const packageDir = mkdtempSync(join(os.tmpdir(), "portal-bench-packages-"));
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const admin = postgres(`${PG}/postgres`, { max: 1, onnotice: () => {} });
for (const db of [PORTAL_DB, SHOP_DB]) {
  await admin.unsafe(`drop database if exists "${db}" with (force)`);
  await admin.unsafe(`create database "${db}"`);
}
await migrateDatabase(`${PG}/${PORTAL_DB}`);

const { startMailCatcher } = await import("#app/utils/mail-catcher.server.ts");
const catcher = await startMailCatcher();
const key = () => randomBytes(32).toString("base64");
Object.assign(process.env, {
  NODE_ENV: "test",
  LOG_LEVEL: "silent",
  DATABASE_URL: `${PG}/${PORTAL_DB}`,
  REDIS_URL,
  REDIS_PREFIX: prefix,
  SMTP_URL: catcher.url,
  SESSION_SECRET: randomBytes(32).toString("hex"),
  ENCRYPTION_KEYS: `bench:${key()}`,
  BLIND_INDEX_KEY: key(),
  PACKAGE_DIR: packageDir,
  WORKER_CONCURRENCY: "5",
});

const { getDb, closeDb } = await import("#db/client.server.ts");
const { eq } = await import("drizzle-orm");
const { requests } = await import("#db/schema/index.ts");
const { insertRequest } = await import("#app/models/requests.server.ts");
const { applyStoreMap, testStore } = await import("#app/models/stores.server.ts");
const { getPackage } = await import("#app/models/packages.server.ts");
const { demoMap } = await import("#scripts/demo-stores/index.ts");
const { closeQueues, enqueue } = await import("#jobs/queues.ts");
const { startWorker } = await import("#jobs/worker.ts");
const { closeMailer } = await import("#app/utils/mailer.server.ts");
const { closeRedis } = await import("#app/utils/redis.server.ts");

const shop = postgres(`${PG}/${SHOP_DB}`, { max: 2, onnotice: () => {} });
const loadAtStart = os.loadavg().map((l) => l.toFixed(2)).join(" ");

async function generate() {
  const started = performance.now();
  await shop.unsafe(SHOP_SCHEMA);
  await shop.unsafe(`
    insert into customers select g, 'customer' || g || '@bench.example', 'Customer ' || g, '+4470' || lpad(g::text, 8, '0'), 'C-' || g,
      '$argon2id$bench', g % 2 = 0, timestamptz '2024-01-01' + (g % 700) * interval '1 day' from generate_series(1, ${N}) g;
    insert into addresses select g, g, g || ' High Street', 'Leeds', 'LS1 ' || (g % 9) || 'AB', 'GB' from generate_series(1, ${N}) g;
    insert into orders select g, ((g - 1) % ${N}) + 1, 'SO-' || g, 'delivered', 1000 + g % 5000, 'GBP', 'Customer ' || (((g - 1) % ${N}) + 1),
      'High Street', 'LS1', timestamptz '2025-01-01' + (g % 300) * interval '1 day' from generate_series(1, ${2 * N}) g;
    insert into order_items select o, l, 'MUG-01', 'Enamel mug', 1, 1200, null from generate_series(1, ${2 * N}) o, generate_series(1, 2) l;
    insert into payments select g, g, 'tok_' || g, lpad((g % 10000)::text, 4, '0'), 2400, timestamptz '2025-01-01' from generate_series(1, ${2 * N}) g;
    insert into reviews select g, g * 2, 'MUG-01', 4, 'Nice mug', timestamptz '2025-02-01' from generate_series(1, ${Math.floor(N / 2)}) g;
    insert into newsletter_consents select g, 'customer' || (g * 2) || '@bench.example', timestamptz '2024-06-01', 'checkout' from generate_series(1, ${Math.floor(N / 2)}) g;`);
  await shop.unsafe("vacuum analyze");
  const [rows] = await shop`select (select count(*) from customers) + (select count(*) from addresses) + (select count(*) from orders) + (select count(*) from order_items) + (select count(*) from payments) + (select count(*) from reviews) + (select count(*) from newsletter_consents) as n`;
  return { ms: performance.now() - started, rows: Number(rows!.n) };
}

const pick = (i: number, salt: number) => 1 + ((i * 7919 + salt * 104_729) % N);
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

async function runOne(type: "access" | "deletion", customer: number) {
  const db = getDb();
  const created = await insertRequest(db, { type, email: `customer${customer}@bench.example`, region: "UK", receivedAt: new Date() });
  await db.update(requests).set({ status: "approved", verifiedAt: new Date(), verificationLevel: 1 }).where(eq(requests.id, created.id));
  const started = performance.now();
  await enqueue("execute-request", { requestId: created.id });
  for (;;) {
    const [row] = await db.select({ status: requests.status }).from(requests).where(eq(requests.id, created.id));
    if (row!.status === "completed") break;
    if (row!.status === "action_required") throw new Error(`request ${created.id} needs action`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { ms: performance.now() - started, id: created.id };
}

let exitCode = 0;
try {
  console.log(`generating ${fmt(N)} customers…`);
  const generated = await generate();
  console.log(`  ${fmt(generated.rows)} rows in ${fmt(generated.ms)} ms`);
  const map = demoMap("shop");
  await applyStoreMap(getDb(), { ...map, connection: { ...(map.connection as object), url: `${PG}/${SHOP_DB}` } });
  const tested = await testStore(getDb(), "shop");
  const missing = tested.warnings.filter((w) => w.code === "missing_index");
  console.log(`check: connected ${tested.connected}, ok ${tested.ok}, missing indexes ${missing.length}`);

  const worker = await startWorker({ schedules: false });
  const access: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < K; i++) {
    const r = await runOne("access", pick(i, 1));
    access.push(r.ms);
    sizes.push((await getPackage(getDb(), r.id))!.sizeBytes);
  }
  console.log(`access: p50 ${fmt(percentile(access, 50))} ms, p95 ${fmt(percentile(access, 95))} ms`);
  const erasure: number[] = [];
  let verified = 0;
  for (let i = 0; i < K; i++) {
    const c = pick(i, 2);
    const r = await runOne("deletion", c);
    erasure.push(r.ms);
    const [state] = await shop`select (select count(*) from addresses where customer_id = ${c})::int as addresses,
      (select count(*) from reviews where customer_id = ${c})::int as reviews,
      (select full_name from customers where id = ${c}) as name,
      (select count(*) from orders where customer_id = ${c} and shipping_name = 'Erased')::int as masked_orders`;
    if (state!.addresses === 0 && state!.reviews === 0 && state!.name === "Erased customer" && state!.masked_orders === 2) verified++;
  }
  console.log(`erasure: p50 ${fmt(percentile(erasure, 50))} ms, p95 ${fmt(percentile(erasure, 95))} ms, verified ${verified}/${K}`);
  const batchStarted = performance.now();
  await Promise.all(Array.from({ length: BATCH }, (_, i) => runOne("access", pick(i, 3))));
  const batchMs = performance.now() - batchStarted;
  console.log(`batch: ${BATCH} access requests in ${fmt(batchMs)} ms`);
  await worker.close(5000);

  const met = percentile(access, 95) < TARGET_MS && percentile(erasure, 95) < TARGET_MS && missing.length === 0 && verified === K;
  const machine = `${os.cpus()[0]?.model ?? "unknown CPU"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.platform()} ${os.release()}, load average ${loadAtStart} at the start (shared machine)`;
  const [pg] = await shop<{ v: string }[]>`select current_setting('server_version') as v`;
  const markdown = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; Node ${process.version}, PostgreSQL ${pg!.v}.`,
    `Command: \`npm run bench:execution -- --customers ${N} --requests ${K} --batch ${BATCH}\` (store database \`${SHOP_DB}\` with the demo shop's schema and map, worker in process, concurrency 5).`,
    "",
    `Store: ${fmt(N)} customers, ${fmt(generated.rows)} rows, generated in ${fmt(generated.ms / 1000)} s; \`stores:test\`: ${missing.length} missing index${missing.length === 1 ? "" : "es"}.`,
    "",
    "| requests (one at a time) | p50 | p95 | max |",
    "|---|---:|---:|---:|",
    `| access (export, package built and encrypted) | ${fmt(percentile(access, 50))} ms | ${fmt(percentile(access, 95))} ms | ${fmt(Math.max(...access))} ms |`,
    `| deletion (erase in one transaction, report) | ${fmt(percentile(erasure, 50))} ms | ${fmt(percentile(erasure, 95))} ms | ${fmt(Math.max(...erasure))} ms |`,
    "",
    `Packages: ${fmt(percentile(sizes, 50))} bytes each (median). Erasures checked in the store: ${verified}/${K}. ` +
      `Batch: ${BATCH} access requests approved at once completed in ${fmt(batchMs)} ms (${(BATCH / (batchMs / 1000)).toFixed(1)} requests/s).`,
    "",
    `Target (p95 of one request < ${TARGET_MS / 1000} s at this size, no missing index, every erasure right): **${met ? "met" : "not met"}**.`,
  ].join("\n");
  console.log(`\n${markdown}\n`);
  if (!args.dry) console.log(`written to ${writeDocs(markdown)}`);
  if (!met) exitCode = 1;
} catch (error) {
  console.error(error);
  exitCode = 2;
} finally {
  await closeQueues();
  await closeMailer();
  await closeRedis();
  await closeDb();
  await shop.end({ timeout: 5 });
  await catcher.close();
  const redis = new Redis(REDIS_URL);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
  redis.disconnect();
  if (!args.keep) for (const db of [PORTAL_DB, SHOP_DB]) await admin.unsafe(`drop database if exists "${db}" with (force)`);
  await admin.end({ timeout: 5 });
  rmSync(packageDir, { recursive: true, force: true });
}
process.exit(exitCode);

function writeDocs(markdown: string) {
  const BEGIN = "<!-- bench:execution:begin (generated by npm run bench:execution; edit outside the markers) -->";
  const END = "<!-- bench:execution:end -->";
  const path = join(root, "docs", "BENCHMARKS.md");
  const block = `${BEGIN}\n${markdown}\n${END}`;
  let text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const start = text.indexOf("<!-- bench:execution:begin");
  const end = text.indexOf(END);
  if (start >= 0 && end > start) text = text.slice(0, start) + block + text.slice(end + END.length);
  else
    text = `${text ? text.replace(/\n*$/, "\n") : "# Benchmarks\n"}\n## Execution: access and erasure against a 1M-customer store (\`npm run bench:execution\`)\n\nOne request's latency from \`execute-request\` to *completed* must not grow with the store: every query the engine runs is an index lookup on the subject's keys. Method and checks: the comment at the top of [bench/execution.ts](../bench/execution.ts).\n\n${block}\n`;
  writeFileSync(path, text);
  return path;
}
