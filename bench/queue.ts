/**
 * `npm run bench:queue [-- --rows 1000000 --iterations 200 --keep --reuse --dry]`
 *
 * Latency of the staff queue's page query (app/models/queue.server.ts `queryQueue`: the page of 50 and the capped
 * count, run together as /admin runs them) over a million requests, for the filters staff use. Target: p95 < 50 ms
 * for every filtered page.
 *
 * Data: a dedicated database `portal_bench_queue` (dropped, created and migrated with db/migrate.ts; dropped at the
 * end unless --keep; --reuse keeps an existing one with the right row count), filled with one
 * `insert … select … from generate_series` (seeded random(), so every run has the same data; the secondary indexes
 * are dropped before and rebuilt after from their migrated definitions): realistic shares of
 * statuses (about 10 % open), types and laws, received over three years (open ones in the last two months), the
 * legal due dates, 5 % extended, assignees among 10 staff members, 300,000 distinct subjects, plus one customer with
 * five requests whose blind index is computed like the portal's (for the email search). Then VACUUM ANALYZE.
 * Each scenario: 10 warm-up runs, then `--iterations` timed runs in a row; p50/p95/p99/max in ms. The plan of each
 * scenario's page query is printed (EXPLAIN) so a regression to a sequential scan shows. Figures are written into
 * docs/BENCHMARKS.md between the bench:queue markers (--dry skips that).
 */
import { createHash, randomBytes } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import { sql as dsql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { cpuModel, databaseExists, dropDatabase, fmt, freshDatabase, loadAverage, percentile, writeBenchmarkBlock } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    iterations: { type: "string", default: "200" },
    keep: { type: "boolean", default: false },
    reuse: { type: "boolean", default: false },
    dry: { type: "boolean", default: false },
  },
});
const ROWS = Number(args.rows);
const ITERATIONS = Number(args.iterations);
if (!(ROWS >= 1000 && ROWS <= 20_000_000) || !(ITERATIONS >= 10 && ITERATIONS <= 10_000)) {
  console.error("usage: npm run bench:queue -- [--rows 1000..20000000] [--iterations 10..10000] [--keep] [--reuse] [--dry]");
  process.exit(64);
}

const DB_NAME = "portal_bench_queue";
const base = new URL(process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/privacy_portal");
base.pathname = "";
base.search = "";
/** The server, without a database. */
const PG_BASE = base.toString().replace(/\/+$/, "");
const DB_URL = `${PG_BASE}/${DB_NAME}`;

// The models read their configuration from the environment: this bench's own, with fresh secrets.
Object.assign(process.env, {
  NODE_ENV: "production",
  LOG_LEVEL: "silent",
  DATABASE_URL: DB_URL,
  APP_URL: "http://localhost:3000",
  SESSION_SECRET: randomBytes(32).toString("hex"),
  ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
  // Fixed, so a kept database (--reuse) still matches the email search's blind index.
  BLIND_INDEX_KEY: createHash("sha256").update("portal bench:queue blind index key").digest("base64"),
  ORG_TIMEZONE: "UTC",
});

const { parseQueueParams, queryQueue, queueConditions, effectiveDue } = await import("#app/models/queue.server.ts");
const { emailBlindIndex } = await import("#app/utils/crypto.server.ts");
const schema = await import("#db/schema/index.ts");
const { requests } = schema;

const NOW = new Date();
const SEARCH_EMAIL = "bench.customer@example.com";

async function prepare() {
  if (args.reuse && (await databaseExists(PG_BASE, DB_NAME))) {
    const s = postgres(DB_URL, { max: 1, onnotice: () => {} });
    const [{ n }] = (await s`select count(*)::int as n from requests`) as unknown as [{ n: number }];
    const [staff] = await s`select id from staff_users order by email limit 1`;
    await s.end();
    if (n === ROWS + 5 && staff) return { generatedMs: 0, reused: true };
  }
  await freshDatabase(PG_BASE, DB_NAME, { migrate: true });
  const s = postgres(DB_URL, { max: 1, onnotice: () => {} });
  const started = performance.now();
  try {
    await s.unsafe(`
      insert into staff_users (email, name, role, password_hash)
      select 'bench.staff' || g || '@example.com', 'Bench Staff ' || g, 'processor', 'x' from generate_series(1, 10) g`);
    await s.unsafe(`
      create function pg_temp.ref(g bigint) returns text language sql immutable as $$
        select 'PR-' || string_agg(substr('23456789ABCDEFGHJKLMNPQRSTUVWXYZ', ((g / (32::bigint ^ k)::bigint) % 32)::int + 1, 1), '' order by k desc)
                       filter (where k >= 4)
               || '-' || string_agg(substr('23456789ABCDEFGHJKLMNPQRSTUVWXYZ', ((g / (32::bigint ^ k)::bigint) % 32)::int + 1, 1), '' order by k desc)
                       filter (where k < 4)
        from generate_series(0, 7) k $$`);
    // Build the secondary indexes after the load, from the migrated schema's own definitions (a bulk build is
    // several times faster than maintaining them row by row); the result is the same schema.
    const secondary = (await s`
      select indexname, indexdef from pg_indexes i
      where tablename = 'requests' and schemaname = 'public'
        and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`) as unknown as { indexname: string; indexdef: string }[];
    for (const ix of secondary) await s.unsafe(`drop index "${ix.indexname}"`);
    await s.unsafe(`select setseed(0.42)`);
    await s.unsafe(`
      with staff as (select array_agg(id order by email) ids from staff_users),
      base as (
        select g, random() rs, random() rt, random() rr, random() rd, random() ra, random() re, random() rx
        from generate_series(1, ${ROWS}) g
      ),
      shaped as (
        select g, rd, ra, re, rx,
          case when rs < .020 then 'pending_verification' when rs < .050 then 'verified' when rs < .070 then 'in_review'
               when rs < .080 then 'awaiting_information' when rs < .090 then 'approved' when rs < .100 then 'processing'
               when rs < .105 then 'action_required' when rs < .850 then 'completed' when rs < .900 then 'denied'
               when rs < .930 then 'cancelled' when rs < .970 then 'expired' else 'closed' end as status,
          case when rt < .35 then 'access' when rt < .65 then 'deletion' when rt < .80 then 'opt_out' when rt < .85 then 'correction'
               when rt < .90 then 'portability' when rt < .94 then 'limit_sensitive' when rt < .97 then 'objection' else 'restriction' end as type,
          case when rr < .40 then 'gdpr' when rr < .55 then 'uk_gdpr' when rr < .85 then 'ccpa' else 'us_state' end as regime
        from base
      ),
      dated as (
        select *, ${`'${NOW.toISOString()}'::timestamptz`} - case when status in ('completed','denied','cancelled','expired','closed')
                    then make_interval(secs => rd * 3 * 365 * 86400) else make_interval(secs => rd * 60 * 86400) end as received_at
        from shaped
      )
      insert into requests (reference, type, regime, jurisdiction, status, verification_level, required_verification_level,
                            identity_ciphertext, email_index, received_at, due_at, extended_due_at, assignee_id, updated_at)
      select pg_temp.ref(g), type::request_type, regime::regime,
             case regime when 'gdpr' then 'EU' when 'uk_gdpr' then 'UK' when 'ccpa' then 'US-CA' else 'US-VA' end,
             status::request_status, 1, 1, 'not-decrypted-in-the-bench', md5('subject' || (g % 300000)),
             received_at,
             received_at + case when regime in ('gdpr', 'uk_gdpr') then interval '1 month' else interval '45 days' end,
             case when re < .05 then received_at + case when regime in ('gdpr', 'uk_gdpr') then interval '3 months' else interval '90 days' end end,
             case when ra < case when status in ('completed','denied','cancelled','expired','closed') then .7 else .5 end
                  then (select ids[1 + floor(rx * 10)::int] from staff) end,
             received_at
      from dated`);
    // One customer with five requests, indexed like the portal does (HMAC with BLIND_INDEX_KEY).
    const index = emailBlindIndex(SEARCH_EMAIL);
    await s.unsafe(
      `insert into requests (reference, type, regime, jurisdiction, status, identity_ciphertext, email_index, received_at, due_at)
       select 'PR-ZZZZ-ZZZ' || g, 'access', 'gdpr', 'EU', 'completed', 'x', $1, now() - make_interval(days => g * 100), now() - make_interval(days => g * 100 - 30)
       from generate_series(2, 6) g`,
      [index],
    );
    for (const ix of secondary) await s.unsafe(ix.indexdef);
    await s.unsafe(`vacuum analyze requests`);
    await s.unsafe(`vacuum analyze staff_users`);
  } finally {
    await s.end({ timeout: 5 });
  }
  return { generatedMs: performance.now() - started, reused: false };
}

type Scenario = { name: string; query: string };

async function main() {
  console.log(`bench:queue — ${fmt(ROWS)} requests in ${DB_NAME}`);
  const prep = await prepare();
  console.log(prep.reused ? "reused the existing data" : `generated in ${(prep.generatedMs / 1000).toFixed(1)} s`);

  const client = postgres(DB_URL, { max: 4, onnotice: () => {} });
  const db = drizzle(client, { schema });
  const [me] = (await client`select id from staff_users order by email limit 1`) as unknown as [{ id: string }];
  const [sample] = (await client`select reference from requests where status = 'completed' order by id limit 1`) as unknown as [{ reference: string }];
  const [{ n: total }] = (await client`select count(*)::int as n from requests`) as unknown as [{ n: number }];
  const [{ n: open }] = (await client`select count(*)::int as n from requests where status not in ('completed','denied','cancelled','expired','closed')`) as unknown as [{ n: number }];
  const [{ v: pgVersion }] = (await client`select current_setting('server_version') as v`) as unknown as [{ v: string }];

  const scenarios: Scenario[] = [
    { name: "default: open, due date first", query: "" },
    { name: "open, type + law (access, GDPR)", query: "type=access&regime=gdpr" },
    { name: "open, rare type + law (restriction, US state)", query: "type=restriction&regime=us_state" },
    { name: "overdue", query: "overdue=1" },
    { name: "due within 7 days", query: "within=7" },
    { name: "assigned to me", query: "assignee=me" },
    { name: "unassigned, due within 14 days", query: "assignee=none&within=14" },
    { name: "one status (in review)", query: "status=in_review" },
    { name: "one status (completed), newest first", query: "status=completed&sort=-received" },
    { name: "all statuses, type + law, newest first", query: "status=all&type=correction&regime=ccpa&sort=-received" },
    { name: "all statuses, due date first", query: "status=all" },
    { name: "search: exact email (blind index)", query: `q=${encodeURIComponent(SEARCH_EMAIL)}` },
    { name: "search: reference", query: `q=${sample.reference}` },
    { name: "open, page 20", query: "page=20" },
  ];

  const options = { clock: () => NOW, timeZone: "UTC", dueSoonDays: 7 };
  const results: { name: string; query: string; rows: number; total: string; p50: number; p95: number; p99: number; max: number; plan: string }[] = [];
  for (const s of scenarios) {
    const parsed = parseQueueParams(new URLSearchParams(s.query));
    if (!parsed.ok) throw new Error(`${s.name}: ${JSON.stringify(parsed.errors)}`);
    const run = () => queryQueue(db, parsed.params, parsed.search, me.id, options);
    let last = await run();
    for (let i = 0; i < 9; i++) last = await run();
    const times: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const t = performance.now();
      last = await run();
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    // The page query's plan: which index answered (the count query filters the same way).
    const where = queueConditions(parsed.params, parsed.search, me.id, NOW, "UTC");
    const order = parsed.params.sort === "-received" ? dsql`${requests.receivedAt} desc, ${requests.id} desc` : dsql`${effectiveDue}, ${requests.id}`;
    const explain = (await db.execute(
      dsql`explain select ${requests.id} from ${requests} where ${where.length ? dsql.join(where, dsql` and `) : dsql`true`} order by ${order} limit 51 offset ${(parsed.params.page - 1) * 50}`,
    )) as unknown as { "QUERY PLAN": string }[];
    const plan = explain
      .map((r) => r["QUERY PLAN"])
      .filter((l) => /Scan|Sort|Bitmap/.test(l))
      .map((l) => l.trim().replace(/^->\s*/, "").replace(/\s+\(cost=.*$/, ""))
      .join(" → ");
    const r = {
      name: s.name,
      query: s.query || "(none)",
      rows: last.rows.length,
      total: last.totalCapped ? `> ${last.total}` : String(last.total),
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      p99: percentile(times, 99),
      max: times.at(-1)!,
      plan,
    };
    results.push(r);
    console.log(`${r.name.padEnd(48)} p50 ${r.p50.toFixed(1).padStart(6)} ms  p95 ${r.p95.toFixed(1).padStart(6)} ms  max ${r.max.toFixed(1).padStart(6)} ms  rows ${String(r.rows).padStart(2)} / ${r.total}  ${r.plan}`);
  }
  await client.end({ timeout: 5 });

  const worst = results.reduce((a, b) => (b.p95 > a.p95 ? b : a));
  const met = worst.p95 < 50;
  console.log(`\nworst p95: ${worst.p95.toFixed(1)} ms (${worst.name}) — target p95 < 50 ms ${met ? "met" : "MISSED"}`);

  if (!args.keep) await dropDatabase(PG_BASE, DB_NAME);

  if (args.dry) return;
  const block = [
    `Measured ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} with \`npm run bench:queue${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\`: ` +
      `${fmt(total)} requests (${fmt(open)} open), ${ITERATIONS} timed runs per scenario after 10 warm-up runs, ` +
      `one at a time, through \`queryQueue\` (page of 50 + capped count, in parallel on a pool of 4 connections).`,
    "",
    `Machine: ${cpuModel()} (nproc ${os.availableParallelism()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node.js ${process.version}, ` +
      `PostgreSQL ${pgVersion}; load average at the end ${loadAverage(" / ")}.` +
      (prep.reused ? "" : ` Data generated in ${(prep.generatedMs / 1000).toFixed(0)} s.`),
    "",
    "| scenario | URL parameters | rows / matching | p50 ms | p95 ms | p99 ms | max ms | plan of the page query |",
    "|---|---|---|---:|---:|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${r.name} | \`${r.query}\` | ${r.rows} / ${r.total} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.plan.replaceAll("|", "\\|")} |`,
    ),
    "",
    `**Worst p95: ${worst.p95.toFixed(1)} ms** (${worst.name}) — target p95 < 50 ms **${met ? "met" : "missed"}**.`,
  ].join("\n");
  writeBenchmarkBlock("queue", block, "## Staff queue: /admin (`npm run bench:queue`)");
  console.log("figures written to docs/BENCHMARKS.md");
}

await main();
