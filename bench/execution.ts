/**
 * `npm run bench:execution [-- --quick] [--reuse] [--keep] [--dry] [--subjects 200] [--requests 400] [--concurrency 10] [--scale-workers 2]`
 * (sizes: `--customers 1000000 --orders 10000000 --contacts 1000000 --events 5000000 --heavy 100000,1000000 --small 10000`)
 *
 * Executing requests against large connected stores (issue 4, item 11). Stores (bench/execution-data.ts): the demo
 * shop in PostgreSQL (`portal_bench_shop`: 1M customers, 10M orders with an item and a payment each, addresses,
 * reviews, consents) and the demo marketing platform in MariaDB (`portal_bench_marketing`: 1M contacts, 5M campaign
 * events, of which 100k belong to customer1@… and 1M to customer2@…, the heavy subjects), plus a 10k-customer copy
 * of both (`…_10k`), with the demo maps (scripts/demo-stores/*.yaml). `--reuse` keeps stores that already have these
 * sizes (generation takes minutes); they are dropped at the end unless `--keep`. The portal gets a fresh migrated
 * database `portal_bench_execution`, its own Redis prefix, an SMTP catcher and a temporary PACKAGE_DIR.
 *
 * Measured, in one run:
 *  1. erase — one subject across both stores through the engine (`connector.erase`, the call the execute-store job
 *     makes for each store, on open connectors), p50/p95 over `--subjects` subjects; next to it the **floor**: the
 *     very statements the engine issues for a subject (its locking SELECTs, captured through a recording session,
 *     and the UPDATE/DELETE statements of its plan, `erasureStatements`), replayed with the same driver
 *     (postgres.js, mysql2) in one transaction per store. Engine and floor erase different but equally shaped
 *     subjects (every customer has the same rows); each subject's rows are read once (untimed) before its timed
 *     run, so both start warm. Every erasure is checked in the stores.
 *  2. flatness — the same engine erasure in the 10k-customer copies; the p50 ratio must stay within 1.5×.
 *  3. throughput — `--requests` deletion requests approved (`approveRequest`, as the console does) while the execution
 *     queue is paused, so that the clock, started when the queue resumes, times the worker draining a backlog, run by
 *     ONE worker process (jobs/worker.ts, WORKER_CONCURRENCY `--concurrency`) through the real flow (execute-request
 *     → execute-store per store → finalize-request → send-completion): requests per second, and the worker's own
 *     per-job timings (its "job done" log lines) and the CPU the worker, PostgreSQL, MariaDB and Redis each used per
 *     request (/proc, bench/lib.ts `serviceCpuSeconds`) to show where the time goes. Then the same again with
 *     `--scale-workers N` (default 2; 0 or 1 skips it) worker processes, to show what more processes buy on this machine.
 *     `--profile DIR` records the worker's CPU profile (node --cpu-prof) and prints where its CPU went;
 *     BENCH_WORKER_ROOT=/other/checkout runs the worker from another checkout (a change to the flow, A/B).
 *  4. access — the two heavy subjects' access requests through the same worker process (streamed export, encrypted
 *     parts, zip package): time from approval to `completed`, package size, and the worker's RSS growth (VmRSS
 *     sampled every 10 ms from /proc/<pid>/status, minus its RSS before the request).
 * Targets (issue 4): erase p50 ≤ 25 ms and ≤ 2× the floor; ≥ 200 erasure requests/s; access of 100k rows < 2 s;
 * RSS growth < 64 MiB for 100k and 1M rows; erase p50 at 1M within 1.5× of 10k. Figures are printed and written
 * into docs/BENCHMARKS.md between the bench:execution markers (--dry skips that).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import postgres from "postgres";
import { HEAVY_SUBJECTS, dropMarketing, emailOf, ensureMarketing, ensureShop } from "./execution-data.ts";
import { cpuSeconds, databaseExists, dropDatabase, fmt, freshDatabase, loadAverage, machineLine, percentile, root, serviceCpuSeconds, sweepRedis, writeBenchmarkBlock } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    customers: { type: "string" },
    orders: { type: "string" },
    contacts: { type: "string" },
    events: { type: "string" },
    heavy: { type: "string" },
    small: { type: "string" },
    subjects: { type: "string" },
    requests: { type: "string" },
    concurrency: { type: "string", default: "10" },
    "scale-workers": { type: "string", default: "2" },
    reuse: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    dry: { type: "boolean", default: false },
    profile: { type: "string" },
  },
});
const Q = args.quick;
const num = (v: string | undefined, full: number, quick: number) => (v === undefined ? (Q ? quick : full) : Number(v));
const SIZE = {
  customers: num(args.customers, 1_000_000, 20_000),
  orders: num(args.orders, 10_000_000, 200_000),
  contacts: num(args.contacts, 1_000_000, 20_000),
  events: num(args.events, 5_000_000, 150_000),
  small: num(args.small, 10_000, 2_000),
  subjects: num(args.subjects, 200, 50),
  requests: num(args.requests, 400, 100),
  concurrency: Number(args.concurrency),
  scaleWorkers: Number(args["scale-workers"]),
};
const HEAVY = (args.heavy ?? (Q ? "10000,100000" : "100000,1000000")).split(",").map(Number) as [number, number];
const ok = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi;
if (
  !ok(SIZE.customers, 1000, 20_000_000) || !ok(SIZE.orders, SIZE.customers, 200_000_000) || !ok(SIZE.contacts, 1000, 20_000_000) ||
  !ok(SIZE.events, 0, 200_000_000) || !ok(SIZE.small, 1000, SIZE.customers) || !ok(SIZE.subjects, 10, 10_000) || !ok(SIZE.requests, 10, 100_000) ||
  !ok(SIZE.concurrency, 1, 100) || !ok(SIZE.scaleWorkers, 0, 16) || HEAVY.length !== 2 || !HEAVY.every((h) => ok(h, 1, 100_000_000)) || SIZE.contacts > SIZE.customers
) {
  console.error(
    "usage: npm run bench:execution -- [--quick] [--customers N] [--orders N] [--contacts N ≤ customers] [--events N] [--heavy A,B] [--small N] [--subjects 10..] [--requests 10..] [--concurrency 1..100] [--scale-workers 0..16] [--reuse] [--keep] [--dry]",
  );
  process.exit(64);
}
const TARGET = { eraseP50Ms: 25, floorRatio: 2, perSecond: 200, access100kMs: 2000, rssMiB: 64, flatRatio: 1.5 };

const PG = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const MY = process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const PORTAL_DB = "portal_bench_execution";
// --quick uses its own databases, so trying things never replaces the full-size stores kept with --keep.
const tag = Q ? "_quick" : "";
const DB = { shop: `portal_bench_shop${tag}`, marketing: `portal_bench_marketing${tag}`, shopSmall: `portal_bench_shop_small${tag}`, marketingSmall: `portal_bench_marketing_small${tag}` };
const URL_OF = { shop: `${PG}/${DB.shop}`, marketing: `${MY}/${DB.marketing}`, shopSmall: `${PG}/${DB.shopSmall}`, marketingSmall: `${MY}/${DB.marketingSmall}` };
const prefix = `bench-exec-${process.pid}`;
const packageDir = mkdtempSync(join(os.tmpdir(), "portal-bench-packages-"));
const loadAtStart = loadAverage();
const command = `npm run bench:execution -- ${process.argv.slice(2).join(" ")}`.trim();

// A failure anywhere: stop the worker, remove the portal's database, Redis keys and packages (the stores stay, for --reuse).
let workerChild: ChildProcess | undefined;
process.once("uncaughtException", (error) => {
  console.error(error);
  void (async () => {
    workerChild?.kill("SIGTERM");
    await sweepRedis(REDIS_URL, prefix).catch(() => {});
    await dropDatabase(PG, PORTAL_DB).catch(() => {});
    rmSync(packageDir, { recursive: true, force: true });
    process.exit(2);
  })();
});

// ---------------------------------------------------------------------------------------------------------------
// Stores

console.log(`stores: shop ${fmt(SIZE.customers)} customers / ${fmt(SIZE.orders)} orders, marketing ${fmt(SIZE.contacts)} contacts / ${fmt(SIZE.events)} events (heavy ${HEAVY.map((h) => fmt(h)).join(", ")}), copies at ${fmt(SIZE.small)}`);
for (const name of [DB.shop, DB.shopSmall]) if (!(await databaseExists(PG, name))) await freshDatabase(PG, name);
const smallSize = { customers: SIZE.small, orders: Math.round((SIZE.orders / SIZE.customers) * SIZE.small) };
const smallEvents = Math.round((SIZE.events / SIZE.contacts) * SIZE.small);
const [shopGen, marketingGen, shopSmallGen, marketingSmallGen] = await Promise.all([
  ensureShop(URL_OF.shop, { customers: SIZE.customers, orders: SIZE.orders }, args.reuse),
  ensureMarketing(MY, DB.marketing, { contacts: SIZE.contacts, events: SIZE.events, heavy: HEAVY }, args.reuse),
  ensureShop(URL_OF.shopSmall, smallSize, args.reuse),
  ensureMarketing(MY, DB.marketingSmall, { contacts: SIZE.small, events: smallEvents, heavy: [0, 0] }, args.reuse),
]);
const generated = `shop ${fmt(shopGen.rows)} rows${shopGen.seconds ? ` (${fmt(shopGen.seconds)} s)` : " (reused)"}, marketing ${fmt(marketingGen.rows)} rows${marketingGen.seconds ? ` (${fmt(marketingGen.seconds)} s)` : " (reused)"}, copies ${fmt(shopSmallGen.rows)} + ${fmt(marketingSmallGen.rows)} rows`;
console.log(`  ${generated}`);

// ---------------------------------------------------------------------------------------------------------------
// The portal

await freshDatabase(PG, PORTAL_DB, { migrate: true });
const { startMailCatcher } = await import("#app/utils/mail-catcher.server.ts");
const catcher = await startMailCatcher();
const key = () => randomBytes(32).toString("base64");
const portalEnv = {
  NODE_ENV: "test" as const,
  LOG_LEVEL: "silent",
  DATABASE_URL: `${PG}/${PORTAL_DB}`,
  REDIS_URL,
  REDIS_PREFIX: prefix,
  SMTP_URL: catcher.url,
  SESSION_SECRET: randomBytes(32).toString("hex"),
  ENCRYPTION_KEYS: `bench:${key()}`,
  BLIND_INDEX_KEY: key(),
  PACKAGE_DIR: packageDir,
  WORKER_CONCURRENCY: String(SIZE.concurrency),
};
Object.assign(process.env, portalEnv);

const { getDb, closeDb } = await import("#db/client.server.ts");
const { eq, sql: dsql } = await import("drizzle-orm");
const { requests } = await import("#db/schema/index.ts");
const { insertRequest } = await import("#app/models/requests.server.ts");
const { approveRequest } = await import("#app/models/request-actions.server.ts");
const { applyStoreMap, dryRunStore, storeContext, testStore } = await import("#app/models/stores.server.ts");
const { getPackage } = await import("#app/models/packages.server.ts");
const { createConnector } = await import("#app/connectors/registry.ts");
const { normalizeSubject } = await import("#app/models/data-map.ts");
const { buildPlan } = await import("#app/models/engine/plan.ts");
const { planErasure, erasureStatements } = await import("#app/models/engine/erasure.ts");
const { postgresDialect, mysqlDialect } = await import("#app/models/engine/sql.ts");
const { demoMap } = await import("#scripts/demo-stores/index.ts");
const { closeQueues, getQueue, jobDefinitions } = await import("#jobs/queues.ts");
const { closeMailer } = await import("#app/utils/mailer.server.ts");
const { closeRedis } = await import("#app/utils/redis.server.ts");
type Connector = Awaited<ReturnType<typeof createConnector>>;
type ConnectorContext = Awaited<ReturnType<typeof storeContext>>["context"];
type DatabaseDataMap = Parameters<typeof buildPlan>[0];
type SqlSession = Parameters<typeof planErasure>[0];
type Row = Record<string, unknown>;

const db = getDb();
for (const [name, url] of [["shop", URL_OF.shop], ["marketing", URL_OF.marketing]] as const) {
  const map = demoMap(name);
  await applyStoreMap(db, { ...map, connection: { ...(map.connection as object), url } });
}
const missingIndexes: string[] = [];
for (const name of ["shop", "marketing"]) {
  const tested = await testStore(db, name);
  if (!tested.connected || !tested.ok) throw new Error(`store ${name} does not pass stores:test: ${JSON.stringify(tested.errors ?? [])}`);
  for (const w of tested.warnings) if (w.code === "missing_index") missingIndexes.push(`${name}: ${w.message}`);
}
console.log(`check: both stores pass stores:test; missing indexes: ${missingIndexes.length}`);

// Direct clients on the stores (the floor, checks, picking subjects).
const shopSql = postgres(URL_OF.shop, { max: 2, onnotice: () => {} });
const shopSmallSql = postgres(URL_OF.shopSmall, { max: 2, onnotice: () => {} });
const marketingConn = await mysql.createConnection(URL_OF.marketing);
const marketingSmallConn = await mysql.createConnection(URL_OF.marketingSmall);

/** Customers never erased (their email is still plain in the shop), excluding the heavy subjects, in random order. */
async function freshSubjects(sql: postgres.Sql, total: number, count: number, taken: Set<number>) {
  const out: number[] = [];
  while (out.length < count) {
    const ids = Array.from({ length: (count - out.length) * 2 + 10 }, () => 3 + Math.floor(Math.random() * (total - 2)));
    const rows = await sql<{ id: number }[]>`select id from customers where id = any(${ids}) and email like 'customer%'`;
    for (const { id } of rows) {
      if (out.length < count && !taken.has(id)) {
        taken.add(id);
        out.push(id);
      }
    }
  }
  return out;
}

/** Whether customer g is erased as the maps say: shop customer masked, addresses and reviews gone, orders masked; marketing contact gone. */
async function isErased(sql: postgres.Sql, conn: mysql.Connection, g: number) {
  const [s] = await sql`select (select full_name from customers where id = ${g}) as name,
    (select count(*) from addresses where customer_id = ${g})::int as addresses,
    (select count(*) from reviews where customer_id = ${g})::int as reviews,
    (select count(*) from orders where customer_id = ${g} and shipping_name <> 'Erased')::int as unmasked`;
  const [[m]] = (await conn.query("select (select count(*) from contacts where id = ?) + (select count(*) from campaign_events where contact_id = ?) + (select count(*) from preferences where contact_id = ?) as n", [g, g, g])) as unknown as [[{ n: number | string }]];
  return s!.name === "Erased customer" && s!.addresses === 0 && s!.reviews === 0 && s!.unmasked === 0 && Number(m.n) === 0;
}

// ---------------------------------------------------------------------------------------------------------------
// 1 + 2. Erase through the engine, and the floor

type Statement = { text: string; params: unknown[] };

/** A SqlSession over the bench's own client that records every statement it runs. */
function pgSession(reserved: postgres.ReservedSql, log: Statement[]): SqlSession {
  const run = (text: string, params: unknown[]) => {
    log.push({ text, params });
    return reserved.unsafe(text, params as never[]);
  };
  return {
    query: async (text, params) => [...(await run(text, params))] as Row[],
    async *stream(text, params) {
      yield* [...(await run(text, params))] as Row[];
    },
    execute: async (text, params) => (await run(text, params)).count,
    release: async () => {},
  };
}
function mySession(conn: mysql.Connection, log: Statement[]): SqlSession {
  const run = async (text: string, params: unknown[]) => {
    log.push({ text, params });
    return (await conn.query(text, params))[0];
  };
  return {
    query: async (text, params) => (await run(text, params)) as Row[],
    async *stream(text, params) {
      yield* (await run(text, params)) as Row[];
    },
    execute: async (text, params) => ((await run(text, params)) as mysql.ResultSetHeader).affectedRows,
    release: async () => {},
  };
}

type StoreSide = { name: string; context: ConnectorContext; connector: Connector; plan: ReturnType<typeof buildPlan>; kind: "postgres" | "mysql" };

async function openSide(name: "shop" | "marketing", url?: string): Promise<StoreSide> {
  const { context } = await storeContext(db, name);
  const ctx = url ? { ...context, secrets: { ...context.secrets, url } } : context;
  return { name, context: ctx, connector: await createConnector(ctx), plan: buildPlan(ctx.map as DatabaseDataMap), kind: name === "shop" ? "postgres" : "mysql" };
}

/** The statements the engine issues to erase `email` in one store: its locking reads, then its plan's writes (rolled back). */
async function captureStatements(side: StoreSide, client: postgres.Sql | mysql.Connection, email: string): Promise<Statement[]> {
  const log: Statement[] = [];
  const subject = normalizeSubject({ email }, side.context.map);
  if (side.kind === "postgres") {
    const reserved = await (client as postgres.Sql).reserve();
    try {
      await reserved.unsafe("begin");
      const erasure = await planErasure(pgSession(reserved, log), postgresDialect, side.plan, subject, side.context.hashKey, { lock: true });
      for (const s of erasureStatements(postgresDialect, side.plan, erasure)) log.push({ text: s.text, params: s.params });
      await reserved.unsafe("rollback");
    } finally {
      reserved.release();
    }
  } else {
    const conn = client as mysql.Connection;
    await conn.query("start transaction");
    const erasure = await planErasure(mySession(conn, log), mysqlDialect, side.plan, subject, side.context.hashKey, { lock: true });
    for (const s of erasureStatements(mysqlDialect, side.plan, erasure)) log.push({ text: s.text, params: s.params });
    await conn.query("rollback");
  }
  return log;
}

/** The floor: the captured statements, one after the other, in one transaction, with the same driver. */
async function replay(side: StoreSide, client: postgres.Sql | mysql.Connection, statements: Statement[]) {
  if (side.kind === "postgres") {
    const reserved = await (client as postgres.Sql).reserve();
    try {
      await reserved.unsafe("begin");
      for (const s of statements) await reserved.unsafe(s.text, s.params as never[]);
      await reserved.unsafe("commit");
    } finally {
      reserved.release();
    }
  } else {
    const conn = client as mysql.Connection;
    await conn.query("start transaction");
    for (const s of statements) await conn.query(s.text, s.params);
    await conn.query("commit");
  }
}

async function engineErase(sides: StoreSide[], email: string) {
  const per: number[] = [];
  const started = performance.now();
  for (const side of sides) {
    const t = performance.now();
    const result = await side.connector.erase({ email }, {});
    if (result.status !== "done") throw new Error(`${side.name}: erase returned ${result.status}`);
    per.push(performance.now() - t);
  }
  return { ms: performance.now() - started, per };
}

const taken = new Set<number>(HEAVY_SUBJECTS);
const sides = [await openSide("shop"), await openSide("marketing")];
const clients = [shopSql, marketingConn] as const;
const engineIds = await freshSubjects(shopSql, SIZE.contacts, SIZE.subjects, taken);
const floorIds = await freshSubjects(shopSql, SIZE.contacts, SIZE.subjects, taken);
// The 10k-customer copies, erased in the same loop (so both sizes see the same machine load).
const smallSides = [await openSide("shop", URL_OF.shopSmall), await openSide("marketing", URL_OF.marketingSmall)];
const smallIds = await freshSubjects(shopSmallSql, SIZE.small, Math.min(SIZE.subjects, Math.floor(SIZE.small / 4)), new Set(HEAVY_SUBJECTS));
const small: number[] = [];
let smallOk = 0;
const engine: number[] = [];
const enginePer: number[][] = [[], []];
const floor: number[] = [];
const floorPer: number[][] = [[], []];
let statementsPerSubject = 0;
let erasedOk = 0;
console.log(`erase: ${SIZE.subjects} subjects through the engine and ${SIZE.subjects} replayed (floor)…`);
for (let i = 0; i < SIZE.subjects; i++) {
  // Engine: warm the subject's rows (its statements captured, rolled back), then the timed erasure.
  const a = emailOf(engineIds[i]!);
  for (const [j, side] of sides.entries()) await captureStatements(side, clients[j]!, a);
  const e = await engineErase(sides, a);
  engine.push(e.ms);
  e.per.forEach((ms, j) => enginePer[j]!.push(ms));
  if (await isErased(shopSql, marketingConn, engineIds[i]!)) erasedOk++;
  // Floor: capture another subject's statements (warming its rows the same way), then replay them, timed.
  const b = emailOf(floorIds[i]!);
  const captured = [];
  for (const [j, side] of sides.entries()) captured.push(await captureStatements(side, clients[j]!, b));
  statementsPerSubject = captured.reduce((n, s) => n + s.length + 2, 0);
  const started = performance.now();
  for (const [j, side] of sides.entries()) {
    const t = performance.now();
    await replay(side, clients[j]!, captured[j]!);
    floorPer[j]!.push(performance.now() - t);
  }
  floor.push(performance.now() - started);
  if (await isErased(shopSql, marketingConn, floorIds[i]!)) erasedOk++;
  // The same engine erasure in the small copies.
  const id = smallIds[i];
  if (id === undefined) continue;
  for (const [j, side] of smallSides.entries()) await captureStatements(side, [shopSmallSql, marketingSmallConn][j]!, emailOf(id));
  small.push((await engineErase(smallSides, emailOf(id))).ms);
  if (await isErased(shopSmallSql, marketingSmallConn, id)) smallOk++;
}
const p = (xs: number[], q: number) => percentile(xs, q);
console.log(`  engine p50 ${fmt(p(engine, 50), 1)} ms p95 ${fmt(p(engine, 95), 1)} ms; floor p50 ${fmt(p(floor, 50), 1)} ms p95 ${fmt(p(floor, 95), 1)} ms; ${statementsPerSubject} statements; erased ${erasedOk}/${2 * SIZE.subjects}`);

// The per-store part of the execute-store job that is not the erasure itself: opening a connector per call.
const { subjectCost } = await (async () => {
  const ids = await freshSubjects(shopSql, SIZE.contacts, 20, taken);
  const dry: number[] = [];
  for (const id of ids) {
    const t = performance.now();
    for (const name of ["shop", "marketing"]) await dryRunStore(db, name, { subject: { email: emailOf(id) }, action: "erase" });
    dry.push(performance.now() - t);
  }
  return { subjectCost: { dryRunFreshConnectorP50: p(dry, 50) } };
})();
console.log(`  dry run with a fresh connector per store (what execute-store paid before ADR 021): p50 ${fmt(subjectCost.dryRunFreshConnectorP50, 1)} ms for both stores`);

const flatRatio = p(engine, 50) / p(small, 50);
console.log(`flatness: p50 ${fmt(p(small, 50), 1)} ms at ${fmt(SIZE.small)} vs ${fmt(p(engine, 50), 1)} ms at ${fmt(SIZE.customers)} (${flatRatio.toFixed(2)}×); erased ${smallOk}/${smallIds.length}`);
for (const s of [...sides, ...smallSides]) await s.connector.close();

// ---------------------------------------------------------------------------------------------------------------
// 3 + 4. One worker process: throughput of erasure requests, heavy access exports

const staffId = randomUUID();
const actor = { id: staffId, role: "admin" as const };

/** A request of this type for customer g, verified to the level it needs (ready for staff to approve). */
async function verifiedRequest(type: "access" | "deletion", g: number) {
  const created = await insertRequest(db, { type, email: emailOf(g), region: "UK", receivedAt: new Date() });
  await db
    .update(requests)
    .set({ status: "verified", verifiedAt: new Date(), verificationLevel: dsql`${requests.requiredVerificationLevel}` })
    .where(eq(requests.id, created.id));
  return created.id;
}

type JobTiming = { job: string; ms: number };
function startWorkerProcess() {
  // --profile DIR: the worker writes a V8 CPU profile there when it exits (summarized by bench/profile-summary.ts).
  const profile = args.profile ? ["--cpu-prof", "--cpu-prof-dir", args.profile] : [];
  // BENCH_WORKER_ROOT: run the worker from another checkout (to measure a change to the flow against this one).
  const workerRoot = process.env.BENCH_WORKER_ROOT ?? root;
  const child: ChildProcess = spawn(process.execPath, [...profile, "--import", "tsx", join(workerRoot, "jobs", "worker.ts")], {
    cwd: workerRoot,
    env: { ...process.env, ...portalEnv, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  workerChild = child;
  const timings: JobTiming[] = [];
  let ready: () => void;
  const started = new Promise<void>((r) => (ready = r));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; job?: string; ms?: number };
      if (entry.msg === "worker started") ready();
      if (entry.msg === "job done" && entry.job && typeof entry.ms === "number") timings.push({ job: entry.job, ms: entry.ms });
    } catch {
      // not a log line
    }
  });
  return { child, timings, started };
}

function rssKiB(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), hwm: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) };
}

async function waitCompleted(ids: string[], timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    // One cheap aggregate per poll (the poll shares the machine's two cores with the worker and the stores).
    const [left] = await db.execute<{ open: number; stuck: number; status: string | null }>(
      dsql`select count(*) filter (where status <> 'completed')::int as open,
                  count(*) filter (where status in ('action_required', 'denied'))::int as stuck,
                  min(status::text) filter (where status in ('action_required', 'denied')) as status
           from ${requests} where id = any(${`{${ids.join(",")}}`}::uuid[])`,
    );
    if (left!.stuck > 0) throw new Error(`${left!.stuck} request(s) ended in ${left!.status}`);
    if (left!.open === 0) return;
    if (performance.now() > deadline) throw new Error(`requests not completed within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Drain = {
  perSecond: number;
  ms: number;
  erased: number;
  cpuMsPerRequest: number;
  cpuShare: number;
  machineCpu: Record<"postgres" | "mariadb" | "redis" | "machine", number>;
  byJob: Record<string, { n: number; p50: number; mean: number; total: number }>;
};

/**
 * `--requests` fresh deletion requests, approved by staff (the web's work, not the worker's) while the execution queue
 * is paused; the clock runs from the queue's resume to the last request completed: the rate at which the given worker
 * processes drain a backlog, their CPU and the machine's per request, and their per-job timings.
 */
async function drain(workers: ReturnType<typeof startWorkerProcess>[], label: string): Promise<Drain> {
  const ids = await freshSubjects(shopSql, SIZE.contacts, SIZE.requests, taken);
  const requestIds = [];
  for (const g of ids) requestIds.push(await verifiedRequest("deletion", g));
  const executionQueue = getQueue(jobDefinitions["execute-request"].queue);
  await executionQueue.pause();
  for (const id of requestIds) await approveRequest(db, { requestId: id, actor });
  await new Promise((r) => setTimeout(r, 1000)); // let the workers finish any job they had taken
  for (const w of workers) w.timings.length = 0;
  console.log(`throughput: ${SIZE.requests} approved deletion requests waiting, ${label} (concurrency ${SIZE.concurrency} each)…`);
  const workerCpu = () => workers.reduce((sum, w) => sum + cpuSeconds(w.child.pid!), 0);
  const cpuBefore = workerCpu();
  const servicesBefore = serviceCpuSeconds();
  const started = performance.now();
  await executionQueue.resume();
  await waitCompleted(requestIds, 30 * 60_000);
  const ms = performance.now() - started;
  const cpu = workerCpu() - cpuBefore;
  const servicesAfter = serviceCpuSeconds();
  const perRequestMs = (k: keyof typeof servicesAfter) => ((servicesAfter[k] - servicesBefore[k]) * 1000) / SIZE.requests;
  const machineCpu = { postgres: perRequestMs("postgres"), mariadb: perRequestMs("mariadb"), redis: perRequestMs("redis"), machine: perRequestMs("machine") };
  let erased = 0;
  for (const g of ids) if (await isErased(shopSql, marketingConn, g)) erased++;
  const timings = workers.flatMap((w) => w.timings);
  const byJob: Drain["byJob"] = {};
  for (const name of new Set(timings.map((t) => t.job))) {
    const xs = timings.filter((t) => t.job === name).map((t) => t.ms);
    const total = xs.reduce((a, b) => a + b, 0);
    byJob[name] = { n: xs.length, p50: p(xs, 50), mean: total / xs.length, total };
  }
  const result = { perSecond: SIZE.requests / (ms / 1000), ms, erased, byJob, machineCpu, cpuMsPerRequest: (cpu * 1000) / SIZE.requests, cpuShare: cpu / (ms / 1000) };
  console.log(`  ${fmt(result.perSecond, 1)} requests/s (${fmt(ms)} ms), erased ${erased}/${SIZE.requests}; worker CPU ${fmt(result.cpuMsPerRequest, 1)} ms per request (${fmt(100 * result.cpuShare)} % of one core)`);
  console.log(`  CPU per request: machine ${fmt(machineCpu.machine, 1)} ms = workers ${fmt(result.cpuMsPerRequest, 1)} + PostgreSQL ${fmt(machineCpu.postgres, 1)} + MariaDB ${fmt(machineCpu.mariadb, 1)} + Redis ${fmt(machineCpu.redis, 1)} + the rest (this benchmark's SMTP catcher and polling, other processes)`);
  for (const [job, t] of Object.entries(byJob)) console.log(`  ${job}: ${t.n} jobs, p50 ${fmt(t.p50)} ms, mean ${fmt(t.mean, 1)} ms`);
  return result;
}

/** SIGTERM, then SIGKILL after 15 s; resolves when the process has exited. */
async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

const worker = startWorkerProcess();
let throughput: Drain | undefined;
let scaled: Drain | undefined;
const access: { rows: number; ms: number; jobs: string; sizeBytes: number; rssGrowthMiB: number; hwmGrowthMiB: number }[] = [];
try {
  await worker.started;
  const pid = worker.child.pid!;
  // Warm-up: one access and one deletion request (modules, connections, the first package).
  const warm = [await verifiedRequest("access", (await freshSubjects(shopSql, SIZE.contacts, 1, taken))[0]!), await verifiedRequest("deletion", (await freshSubjects(shopSql, SIZE.contacts, 1, taken))[0]!)];
  for (const id of warm) await approveRequest(db, { requestId: id, actor });
  await waitCompleted(warm, 60_000);

  // 3. Throughput: one worker process, then (--scale-workers N) N of them on the same machine.
  throughput = await drain([worker], "one worker process");
  if (SIZE.scaleWorkers > 1) {
    const extra = Array.from({ length: SIZE.scaleWorkers - 1 }, () => startWorkerProcess());
    try {
      await Promise.all(extra.map((w) => w.started));
      scaled = await drain([worker, ...extra], `${SIZE.scaleWorkers} worker processes`);
    } finally {
      await Promise.all(extra.map((w) => stopChild(w.child)));
    }
  }

  // 4. Heavy access exports.
  for (const [i, g] of HEAVY_SUBJECTS.entries()) {
    const id = await verifiedRequest("access", g);
    await new Promise((r) => setTimeout(r, 500));
    const before = rssKiB(pid);
    let peak = before.rss;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssKiB(pid).rss);
      } catch {
        // the worker exited; the wait below reports it
      }
    }, 10);
    worker.timings.length = 0;
    const t = performance.now();
    await approveRequest(db, { requestId: id, actor });
    await waitCompleted([id], 30 * 60_000);
    const elapsed = performance.now() - t;
    clearInterval(sampler);
    const after = rssKiB(pid);
    peak = Math.max(peak, after.rss);
    const pkg = await getPackage(db, id);
    const jobs = worker.timings.map((x) => `${x.job} ${fmt(x.ms)}`).join(", ");
    access.push({ rows: HEAVY[i]!, ms: elapsed, jobs, sizeBytes: pkg?.sizeBytes ?? 0, rssGrowthMiB: (peak - before.rss) / 1024, hwmGrowthMiB: (after.hwm - before.hwm) / 1024 });
    console.log(`access ${fmt(HEAVY[i]!)} events: ${fmt(elapsed)} ms, package ${fmt((pkg?.sizeBytes ?? 0) / 2 ** 20, 1)} MiB, RSS ${fmt(before.rss / 1024)} → peak ${fmt(peak / 1024)} MiB (+${fmt((peak - before.rss) / 1024, 1)}); jobs (ms): ${jobs}`);
  }
} finally {
  worker.child.kill("SIGTERM");
  await new Promise((r) => worker.child.once("exit", r));
}
if (args.profile) {
  const { readdirSync } = await import("node:fs");
  const { summarizeCpuProfile } = await import("./profile.ts");
  for (const file of readdirSync(args.profile).filter((f) => f.endsWith(".cpuprofile"))) {
    const summary = summarizeCpuProfile(join(args.profile, file), { top: 20 });
    if (summary.busyMs < 5000) continue; // a loader thread, not the worker's main thread
    console.log(`worker CPU profile ${file}: busy ${fmt(summary.busyMs)} ms`);
    for (const r of summary.components.slice(0, 15)) console.log(`  ${r.name.padEnd(40)} ${fmt(r.ms).padStart(7)} ms ${(100 * r.share).toFixed(1)} %`);
    for (const r of summary.ownInclusive.slice(0, 20)) console.log(`  incl. ${r.name.padEnd(60)} ${fmt(r.ms).padStart(7)} ms`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const floorRatio = p(engine, 50) / p(floor, 50);
const verdict = (met: boolean) => (met ? "**met**" : "**not met**");
const [pgv] = await shopSql<{ v: string }[]>`select current_setting('server_version') as v`;
const [[myv]] = (await marketingConn.query("select version() as v")) as unknown as [[{ v: string }]];
const a100k = access[0]!;
const a1m = access[1]!;
const tp = throughput!;
const jobRows = Object.entries(tp.byJob).map(([job, t]) => `| ${job} | ${t.n} | ${fmt(t.p50)} ms | ${fmt(t.mean, 1)} ms | ${fmt(t.total / 1000, 1)} s |`);
const storeCol = (j: number, xs: number[][]) => `${fmt(p(xs[j]!, 50), 1)} / ${fmt(p(xs[j]!, 95), 1)}`;
const markdown = [
  `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machineLine()} (shared with other agents' test runs); load average ${loadAtStart} at the start, ${loadAverage()} at the end. Node ${process.version}, PostgreSQL ${pgv!.v.split(" ")[0]}, MariaDB ${myv.v.split("-")[0]}.`,
  `Command: \`${command}\`.`,
  "",
  `Stores: ${generated}. \`stores:test\`: ${missingIndexes.length} missing index${missingIndexes.length === 1 ? "" : "es"}.`,
  "",
  `**Erase one subject across both stores** (${SIZE.subjects} subjects each; ${statementsPerSubject} statements per subject incl. BEGIN/COMMIT; ${erasedOk}/${2 * SIZE.subjects} checked erased in the stores):`,
  "",
  "| | p50 | p95 | shop p50 / p95 | marketing p50 / p95 |",
  "|---|---:|---:|---:|---:|",
  `| engine (\`connector.erase\`, both stores) | ${fmt(p(engine, 50), 1)} ms | ${fmt(p(engine, 95), 1)} ms | ${storeCol(0, enginePer)} ms | ${storeCol(1, enginePer)} ms |`,
  `| floor (same statements replayed, same drivers) | ${fmt(p(floor, 50), 1)} ms | ${fmt(p(floor, 95), 1)} ms | ${storeCol(0, floorPer)} ms | ${storeCol(1, floorPer)} ms |`,
  `| engine at ${fmt(SIZE.small)} customers | ${fmt(p(small, 50), 1)} ms | ${fmt(p(small, 95), 1)} ms | | |`,
  "",
  `**Erasure requests through one worker process** (concurrency ${SIZE.concurrency}): ${SIZE.requests} requests approved while the execution queue was paused, then the queue resumed; the worker drained them in ${fmt(tp.ms / 1000, 1)} s = **${fmt(tp.perSecond, 1)} requests/s** (${tp.erased}/${SIZE.requests} checked erased). The worker process used ${fmt(tp.cpuMsPerRequest, 1)} ms of CPU per request (${fmt(100 * tp.cpuShare)} % of one core over the run). CPU per request across the machine: ${fmt(tp.machineCpu.machine, 1)} ms, of which the worker ${fmt(tp.cpuMsPerRequest, 1)}, PostgreSQL (the portal's database and the shop) ${fmt(tp.machineCpu.postgres, 1)}, MariaDB ${fmt(tp.machineCpu.mariadb, 1)}, Redis ${fmt(tp.machineCpu.redis, 1)}; the rest is this benchmark (its SMTP catcher and polling). At ${TARGET.perSecond}/s the machine's ${os.cpus().length} cores allow ${fmt((os.cpus().length * 1000) / TARGET.perSecond, 1)} ms per request, one worker process ${fmt(1000 / TARGET.perSecond, 1)} ms. Where the worker's time goes (its own job timings; jobs overlap, up to ${SIZE.concurrency} at a time):`,
  "",
  "| job | jobs | p50 | mean | total |",
  "|---|---:|---:|---:|---:|",
  ...jobRows,
  "",
  ...(scaled
    ? [
        `**The same with ${SIZE.scaleWorkers} worker processes** on this machine (another ${SIZE.requests} requests): **${fmt(scaled.perSecond, 1)} requests/s** (${scaled.erased}/${SIZE.requests} checked erased); the workers used ${fmt(scaled.cpuMsPerRequest, 1)} ms of CPU per request together, the machine ${fmt(scaled.machineCpu.machine, 1)} ms (PostgreSQL ${fmt(scaled.machineCpu.postgres, 1)}, MariaDB ${fmt(scaled.machineCpu.mariadb, 1)}, Redis ${fmt(scaled.machineCpu.redis, 1)}).`,
        "",
      ]
    : []),
  `A dry run with a fresh connector per store, which execute-store paid before each erasure until the worker kept its store connectors open (ADR 021), costs ${fmt(subjectCost.dryRunFreshConnectorP50, 1)} ms (p50, both stores) against ${fmt(p(engine, 50), 1)} ms for the erasure itself on open connectors.`,
  "",
  "**Access export of a heavy subject** (one worker process; approval → package built and encrypted → completed):",
  "",
  "| subject | time | package | worker RSS growth (peak of VmRSS) | VmHWM growth | the worker's jobs (ms) |",
  "|---|---:|---:|---:|---:|---|",
  ...access.map((x) => `| ${fmt(x.rows)} events (+ shop rows) | ${fmt(x.ms)} ms | ${fmt(x.sizeBytes / 2 ** 20, 1)} MiB | ${fmt(x.rssGrowthMiB, 1)} MiB | ${fmt(x.hwmGrowthMiB, 1)} MiB | ${x.jobs} |`),
  "",
  "| target (issue 4) | result | verdict |",
  "|---|---|---|",
  `| erase p50 ≤ ${TARGET.eraseP50Ms} ms | ${fmt(p(engine, 50), 1)} ms | ${verdict(p(engine, 50) <= TARGET.eraseP50Ms)} |`,
  `| erase p50 ≤ ${TARGET.floorRatio}× the floor | ${floorRatio.toFixed(2)}× | ${verdict(floorRatio <= TARGET.floorRatio)} |`,
  `| ≥ ${TARGET.perSecond} erasure requests/s, one worker | ${fmt(tp.perSecond, 1)}/s | ${verdict(tp.perSecond >= TARGET.perSecond)} |`,
  `| access of ${fmt(a100k.rows)} rows < ${TARGET.access100kMs / 1000} s | ${fmt(a100k.ms)} ms | ${verdict(a100k.ms < TARGET.access100kMs)} |`,
  `| worker RSS growth < ${TARGET.rssMiB} MiB (${fmt(a100k.rows)} / ${fmt(a1m.rows)} rows) | ${fmt(a100k.rssGrowthMiB, 1)} / ${fmt(a1m.rssGrowthMiB, 1)} MiB | ${verdict(Math.max(a100k.rssGrowthMiB, a1m.rssGrowthMiB) < TARGET.rssMiB)} |`,
  `| erase p50 at ${fmt(SIZE.customers)} within ${TARGET.flatRatio}× of ${fmt(SIZE.small)} | ${flatRatio.toFixed(2)}× | ${verdict(flatRatio <= TARGET.flatRatio)} |`,
].join("\n");
console.log(`\n${markdown}\n`);
if (!args.dry) {
  const path = writeBenchmarkBlock(
    "execution",
    markdown,
    "## Execution: erasure and access against large stores (`npm run bench:execution`)\n\nMethod and checks: the comment at the top of [bench/execution.ts](../bench/execution.ts).",
  );
  console.log(`written to ${path}`);
}

await closeQueues();
await closeMailer();
await closeRedis();
await closeDb();
await shopSql.end({ timeout: 5 });
await shopSmallSql.end({ timeout: 5 });
await marketingConn.end();
await marketingSmallConn.end();
await catcher.close();
await sweepRedis(REDIS_URL, prefix);
await dropDatabase(PG, PORTAL_DB);
if (!args.keep) {
  for (const name of [DB.shop, DB.shopSmall]) await dropDatabase(PG, name);
  for (const name of [DB.marketing, DB.marketingSmall]) await dropMarketing(MY, name);
}
rmSync(packageDir, { recursive: true, force: true });
process.exit(0);
