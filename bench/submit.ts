/**
 * `npm run bench:submit [-- --duration 10 --connections 20 --runs 2 --profile auto|always|never --keep-profile --dry]`
 *
 * Submissions per second and p50/p99 latency of the real intake — POST /request/access: conform + zod validation,
 * the rate limit (IP and email, one Redis script call), one statement that inserts the request (AES-256-GCM
 * encryption, blind index), its verification challenge and the hash-chained audit event (ADR 014), the BullMQ
 * enqueue — next to a bare Remix POST handler
 * measured the same way in the same run (bench/bare/server.ts explains the baseline):
 *
 *   bare    Express + @remix-run/express createRequestHandler + an in-memory one-route ServerBuild
 *   stack   the portal's Express stack (server/app.ts) around the same bare route: what the middleware costs
 *   portal  `server.ts` with the compiled build — the real thing, as `npm start` runs it
 *
 * Every server is its own child process in production mode (NODE_ENV=production, freshly generated secrets,
 * request logs at `info` to /dev/null) on loopback, against a dedicated database `portal_bench` (dropped, created
 * and migrated with db/migrate.ts at the start, dropped at the end) and its own REDIS_PREFIX (its keys deleted at the
 * end). The portal runs with TRUST_PROXY=true and every request carries its own X-Forwarded-For address and its own
 * email: the rate limit is evaluated on every request (one Redis round trip, two keys) but never refuses — per client it is
 * effectively unlimited, which is what lets one load generator stand in for many customers.
 *
 * autocannon (closed loop, `connections` concurrent keep-alive connections, no pipelining) runs in this process;
 * runs are interleaved (bare, stack, portal, bare, stack, portal …) so background load hits all alike. No warm-up
 * phase: run 1 includes JIT warm-up, run 2 is warm. Target: portal ≥ 0.5 × bare throughput and portal p99 < 50 ms.
 * When missed (or with --profile always) the cluster's commit latency is probed (servers stopped) and one more
 * portal run is made under `--cpu-prof` while pg_stat_activity is sampled, and the report says where the time goes. Figures are printed and written into docs/BENCHMARKS.md
 * (between the bench:submit markers; --dry skips that).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import postgres from "postgres";
import { AUDIT_CHAIN_LOCK_KEY } from "#app/models/audit.server.ts";
import { freePort } from "#tests/helpers/processes.ts";
import { PG_BASE, REDIS_URL, cpuModel, cpuSeconds, dropDatabase, freshDatabase, root, sweepRedis, writeBenchmarkBlock } from "./lib.ts";
import { summarizeCpuProfile, type ProfileSummary } from "./profile.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "20" },
    runs: { type: "string", default: "2" },
    profile: { type: "string", default: "auto" },
    dry: { type: "boolean", default: false },
    "keep-profile": { type: "boolean", default: false },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const RUNS = Number(args.runs);
const PROFILE = args.profile as "auto" | "always" | "never";
if (!(DURATION >= 1 && DURATION <= 120) || !(CONNECTIONS >= 1 && CONNECTIONS <= 500) || !(RUNS >= 1 && RUNS <= 10) || !["auto", "always", "never"].includes(PROFILE)) {
  console.error("usage: npm run bench:submit -- [--duration 1..120] [--connections 1..500] [--runs 1..10] [--profile auto|always|never] [--keep-profile] [--dry]");
  process.exit(64);
}

const DB_NAME = "portal_bench";
const DATABASE_URL = `${PG_BASE}/${DB_NAME}`;
const REDIS_PREFIX = `bench-${process.pid}`;
const TAG = `${process.pid.toString(36)}${Date.now().toString(36)}`;

const secrets = {
  SESSION_SECRET: randomBytes(32).toString("hex"),
  ENCRYPTION_KEYS: `bench1:${randomBytes(32).toString("base64")}`,
  BLIND_INDEX_KEY: randomBytes(32).toString("base64"),
};

// ---------------------------------------------------------------------------------------------------------------

type TargetId = "bare" | "stack" | "portal";
type Server = { id: TargetId; label: string; port: number; base: string; child: ChildProcess; stderr: string[] };

const labels: Record<TargetId, string> = {
  bare: "bare Remix POST handler",
  stack: "portal middleware + bare route",
  portal: "portal intake (POST /request/access)",
};

function serverEnv(port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...secrets,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(port),
    APP_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL,
    REDIS_URL,
    REDIS_PREFIX,
    TRUST_PROXY: "true",
    FORCE_HTTPS: "false",
    BODY_LIMIT_BYTES: "1048576",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
  };
}

async function startServer(id: TargetId, nodeArgs: string[] = []): Promise<Server> {
  const port = await freePort();
  const script = id === "portal" ? ["server.ts"] : ["bench/bare/server.ts", String(port), id === "bare" ? "bare" : "portal"];
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", ...script], {
    cwd: root,
    env: serverEnv(port),
    stdio: ["ignore", "ignore", "pipe"], // request logs (stdout) go to /dev/null, as to a log shipper
  });
  const stderr: string[] = [];
  child.stderr!.on("data", (c: Buffer) => stderr.push(c.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${id} server exited (${child.exitCode}): ${stderr.join("")}`);
    try {
      const res = await fetch(id === "bare" ? `${base}/` : `${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (id === "bare" || res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${id} server did not become ready: ${stderr.join("")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { id, label: labels[id], port, base, child, stderr };
}

async function stopServer(s: Server) {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGTERM");
  const timer = setTimeout(() => s.child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------------------

let sequence = 0;
const clientAddress = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

type Measurement = {
  target: TargetId;
  /** 1…RUNS; 0 for the profiled run, -1 for the single-connection run. */
  run: number;
  connections: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  redirects: number;
  other: number;
  errors: number;
  serverCpuMsPerReq: number;
  pgCpuMsPerReq?: number;
  rowsCreated?: number;
  eventsCreated?: number;
};

let sql: postgres.Sql;

async function pgBackendPids(): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${DB_NAME} and application_name = 'privacy-portal'`;
  return rows.map((r) => r.pid);
}

async function tableCounts() {
  const [row] = await sql<{ requests: string; events: string }[]>`
    select (select count(*) from requests) as requests, (select count(*) from request_events) as events`;
  return { requests: Number(row!.requests), events: Number(row!.events) };
}

async function measure(s: Server, run: number, { duration = DURATION, connections = CONNECTIONS } = {}): Promise<Measurement> {
  const before = s.id === "portal" ? await tableCounts() : undefined;
  const pgCpu0 = new Map((s.id === "portal" ? await pgBackendPids() : []).map((pid) => [pid, cpuSeconds(pid)]));
  const cpu0 = cpuSeconds(s.child.pid!);
  const result = await autocannon({
    url: s.base,
    connections,
    duration,
    timeout: 10,
    headers: { "content-type": "application/x-www-form-urlencoded", origin: s.base },
    requests: [
      {
        method: "POST",
        path: "/request/access",
        setupRequest: (req) => {
          const n = ++sequence;
          return {
            ...req,
            headers: { ...req.headers, "x-forwarded-for": clientAddress(n) },
            body: `email=bench-${TAG}-${n}%40example.com&name=Bench+Customer&region=EU&accessScope=categories&website=`,
          };
        },
      },
    ],
  });
  const cpu = cpuSeconds(s.child.pid!) - cpu0;
  // Backends opened during the run (the web process' pool grows on demand) count from zero.
  const pgCpu = (s.id === "portal" ? await pgBackendPids() : []).reduce((sum, pid) => {
    const v = cpuSeconds(pid);
    return sum + (Number.isFinite(v) ? v - (pgCpu0.get(pid) ?? 0) : 0);
  }, 0);
  const redirects = result["3xx"];
  const answered = result["1xx"] + result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"];
  const after = s.id === "portal" ? await tableCounts() : undefined;
  return {
    target: s.id,
    run,
    connections,
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    redirects,
    other: answered - redirects,
    errors: result.errors,
    serverCpuMsPerReq: answered > 0 ? (cpu * 1000) / answered : NaN,
    ...(before && after
      ? { pgCpuMsPerReq: answered > 0 ? (pgCpu * 1000) / answered : NaN, rowsCreated: after.requests - before.requests, eventsCreated: after.events - before.events }
      : {}),
  };
}

/** One POST before measuring: the target must answer a valid submission with the intake's redirect. */
async function sanityCheck(s: Server) {
  const n = ++sequence;
  const res = await fetch(`${s.base}/request/access`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: s.base, "x-forwarded-for": clientAddress(n) },
    body: `email=bench-${TAG}-${n}%40example.com&region=EU`,
  });
  const location = res.headers.get("location") ?? "";
  if (res.status !== 302 || !/^\/requests\/PR-[A-Z0-9]{4}-[A-Z0-9]{4}\/verify$/.test(location)) {
    throw new Error(`${s.id}: a valid submission got ${res.status} ${location} ${(await res.text()).slice(0, 200)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Profiling (when the target is missed)

type WaitSample = {
  active: number;
  advisory: number;
  otherLock: number;
  idleInTx: number;
  total: number;
  /** What the backend holding the audit chain lock was doing, if one held it. */
  holder?: { state: string; wait: string };
};

async function samplePgActivity(stopAt: number): Promise<WaitSample[]> {
  const samples: WaitSample[] = [];
  while (Date.now() < stopAt) {
    const rows = await sql<{ state: string | null; wait_event_type: string | null; wait_event: string | null }[]>`
      select state, wait_event_type, wait_event from pg_stat_activity
      where datname = ${DB_NAME} and application_name = 'privacy-portal'`;
    const [holder] = await sql<{ state: string | null; wait_event_type: string | null; wait_event: string | null }[]>`
      select a.state, a.wait_event_type, a.wait_event from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and a.datname = ${DB_NAME}
        and l.objid::text = ${String(AUDIT_CHAIN_LOCK_KEY & 0xffffffffn)} and l.classid::text = ${String(AUDIT_CHAIN_LOCK_KEY >> 32n)}`;
    samples.push({
      ...(holder ? { holder: { state: holder.state ?? "?", wait: holder.wait_event_type ? `${holder.wait_event_type}:${holder.wait_event}` : "on CPU" } } : {}),
      active: rows.filter((r) => r.state === "active").length,
      advisory: rows.filter((r) => r.wait_event_type === "Lock" && r.wait_event === "advisory").length,
      otherLock: rows.filter((r) => r.wait_event_type === "Lock" && r.wait_event !== "advisory").length,
      idleInTx: rows.filter((r) => r.state === "idle in transaction").length,
      total: rows.length,
    });
    await new Promise((r) => setTimeout(r, 20));
  }
  return samples;
}

/**
 * Commit latency of this PostgreSQL cluster, measured with the servers idle: `n` one-row INSERTs in their own
 * implicit transactions (each waits for its WAL flush), first one after the other — what a chain whose lock is held
 * across each commit can at best do — then from `parallel` connections at once, where commits can share a flush.
 */
async function commitProbe(n = 300, parallel = 10) {
  await sql`create table if not exists bench_commit_probe (id bigserial primary key, at timestamptz not null default now())`;
  const serial: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await sql`insert into bench_commit_probe default values`;
    serial.push(performance.now() - t0);
  }
  serial.sort((a, b) => a - b);
  const pool = postgres(DATABASE_URL, { max: parallel, onnotice: () => {} });
  try {
    await Promise.all(Array.from({ length: parallel }, () => pool`select 1`)); // connect first
    const t0 = performance.now();
    let left = n;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (left-- > 0) await pool`insert into bench_commit_probe default values`;
      }),
    );
    const parallelPerSecond = (n / (performance.now() - t0)) * 1000;
    const q = (p: number) => serial[Math.min(serial.length - 1, Math.floor(p * serial.length))]!;
    return { n, parallel, p50: q(0.5), p90: q(0.9), serialPerSecond: (n / serial.reduce((a, b) => a + b, 0)) * 1000, parallelPerSecond };
  } finally {
    await pool.end({ timeout: 5 });
  }
}

type CommitProbe = Awaited<ReturnType<typeof commitProbe>>;

type ProfileReport = {
  measurement: Measurement;
  commits: CommitProbe;
  /** The same server at one connection: the uncontended service time. */
  single: Measurement;
  cpu: ProfileSummary;
  pg: {
    samples: number;
    meanActive: number;
    meanAdvisoryWaiters: number;
    shareWithAdvisoryWait: number;
    meanIdleInTx: number;
    meanOtherLock: number;
    meanConnections: number;
    /** Share of samples in which some transaction held the audit chain lock. */
    lockHeld: number;
    /** While held: what the holder was doing, as shares of the held samples. */
    holderStates: { what: string; share: number }[];
  };
};

async function profilePortal(single: Measurement, commits: CommitProbe): Promise<ProfileReport> {
  const dir = join(root, ".cache", `bench-profile-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const s = await startServer("portal", ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
  try {
    await sanityCheck(s);
    const sampling = samplePgActivity(Date.now() + DURATION * 1000);
    const measurement = await measure(s, 0);
    const samples = await sampling;
    await stopServer(s);
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no CPU profile was written to ${dir}`);
    const cpu = summarizeCpuProfile(join(dir, file), { windowMs: DURATION * 1000 });
    if (args["keep-profile"]) {
      const kept = join(root, ".cache", "bench-submit.cpuprofile");
      copyFileSync(join(dir, file), kept);
      console.log(`  CPU profile kept at ${relative(root, kept)} (open it in Chrome DevTools → Performance)`);
    }
    const mean = (f: (w: WaitSample) => number) => samples.reduce((a, w) => a + f(w), 0) / (samples.length || 1);
    const held = samples.filter((w) => w.holder);
    const states = new Map<string, number>();
    for (const w of held) {
      const what = w.holder!.state === "idle in transaction" ? "idle in transaction (waiting for the web process)" : `${w.holder!.state}, ${w.holder!.wait}`;
      states.set(what, (states.get(what) ?? 0) + 1);
    }
    return {
      measurement,
      commits,
      single,
      cpu,
      pg: {
        samples: samples.length,
        meanActive: mean((w) => w.active),
        meanAdvisoryWaiters: mean((w) => w.advisory),
        shareWithAdvisoryWait: mean((w) => (w.advisory > 0 ? 1 : 0)),
        meanIdleInTx: mean((w) => w.idleInTx),
        meanOtherLock: mean((w) => w.otherLock),
        meanConnections: mean((w) => w.total),
        lockHeld: held.length / (samples.length || 1),
        holderStates: [...states.entries()].sort((a, b) => b[1] - a[1]).map(([what, n]) => ({ what, share: n / (held.length || 1) })),
      },
    };
  } finally {
    await stopServer(s);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function machine() {
  return {
    nproc: os.availableParallelism(),
    cpu: cpuModel(),
    memoryGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "–");
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "–");

function table(ms: Measurement[]): string {
  const head = "| target | run | req/s | p50 ms | p90 ms | p99 ms | max ms | 302s | other | errors | server CPU ms/req | Postgres CPU ms/req | rows / events created |";
  const sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";
  const lines = ms.map(
    (m) =>
      `| ${labels[m.target]} | ${m.run > 0 ? m.run : m.run === 0 ? "profiled" : "1 connection"} | ${f0(m.rps)} | ${f0(m.p50)} | ${f0(m.p90)} | ${f0(m.p99)} | ${f0(m.max)} | ${m.redirects} | ${m.other} | ${m.errors} | ${f2(m.serverCpuMsPerReq)} | ${m.pgCpuMsPerReq === undefined ? "" : f2(m.pgCpuMsPerReq)} | ${m.rowsCreated === undefined ? "" : `${m.rowsCreated} / ${m.eventsCreated}`} |`,
  );
  return [head, sep, ...lines].join("\n");
}

type Verdict = { run: number; ratio: number; p99: number; met: boolean };

function verdicts(ms: Measurement[]): Verdict[] {
  const out: Verdict[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const bare = ms.find((m) => m.target === "bare" && m.run === run)!;
    const portal = ms.find((m) => m.target === "portal" && m.run === run)!;
    const ratio = portal.rps / bare.rps;
    out.push({ run, ratio, p99: portal.p99, met: ratio >= 0.5 && portal.p99 < 50 && portal.other === 0 && portal.errors === 0 });
  }
  return out;
}

function report(ms: Measurement[], v: Verdict[], prof: ProfileReport | undefined, env: { loadBefore: number[]; loadAfter: number[]; pg: string; redis: string; command: string; build: string }) {
  const m = machine();
  const met = v.every((x) => x.met);
  const lines: string[] = [];
  lines.push(`Measured ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} with \`${env.command}\`.`);
  lines.push("");
  lines.push("| machine | |");
  lines.push("|---|---|");
  lines.push(`| CPU | ${m.cpu} (nproc ${m.nproc}) |`);
  lines.push(`| memory | ${m.memoryGiB} GiB |`);
  lines.push(`| Node.js | ${m.node} |`);
  lines.push(`| OS | ${m.os} |`);
  lines.push(`| PostgreSQL | ${env.pg} |`);
  lines.push(`| Redis | ${env.redis} |`);
  lines.push(`| load average (1/5/15 min) before → after | ${env.loadBefore.map(f1).join(" / ")} → ${env.loadAfter.map(f1).join(" / ")} |`);
  lines.push(`| Remix build | ${env.build} |`);
  lines.push("");
  lines.push(
    `Load: autocannon, ${CONNECTIONS} connections, ${DURATION} s per run, ${RUNS} interleaved runs per target, no warm-up phase (run 1 includes JIT warm-up). ` +
      "Each request: `email=<unique>&name=Bench+Customer&region=EU&accessScope=categories&website=` with its own X-Forwarded-For " +
      "(TRUST_PROXY=true), so the rate limit is checked on every request but never refuses. Loopback only; servers in production mode.",
  );
  lines.push("");
  lines.push(table(prof ? [...ms, prof.single, prof.measurement] : ms));
  lines.push("");
  lines.push(`Target (portal ≥ 0.5 × bare throughput, portal p99 < 50 ms, no errors): **${met ? "met" : "missed"}**.`);
  for (const x of v) lines.push(`- run ${x.run}: portal/bare throughput ${f2(x.ratio)}, portal p99 ${f0(x.p99)} ms → ${x.met ? "met" : "missed"}`);
  if (prof) {
    lines.push("");
    lines.push(`Profiled portal run (node --cpu-prof, pg_stat_activity sampled every ~20 ms, ${prof.pg.samples} samples; profiling slows the server, so these figures are not in the verdict):`);
    lines.push("");
    lines.push(
      `- Postgres, per sample, mean: ${f1(prof.pg.meanConnections)} connections of the web process, ${f1(prof.pg.meanActive)} active, ` +
        `${f2(prof.pg.meanAdvisoryWaiters)} waiting for the audit advisory lock (≥ 1 waiter in ${f0(prof.pg.shareWithAdvisoryWait * 100)} % of samples), ` +
        `${f2(prof.pg.meanOtherLock)} waiting for other locks, ${f1(prof.pg.meanIdleInTx)} idle in transaction (waiting for the web process).`,
    );
    const rows = prof.measurement.rowsCreated ?? prof.measurement.redirects;
    lines.push(
      `- The audit chain lock (\`pg_advisory_xact_lock\`, taken by every submission) was held in ${f0(prof.pg.lockHeld * 100)} % of samples — ` +
        `about ${f1((prof.pg.lockHeld * DURATION * 1000) / (rows || 1))} ms per submission (${rows} submissions in ${DURATION} s). While held, the holder was: ` +
        prof.pg.holderStates.map((h) => `${h.what} ${f0(h.share * 100)} %`).join("; ") +
        ".",
    );
    const c = prof.commits;
    lines.push(
      `- Commit latency of the cluster (measured between the runs, servers stopped: ${c.n} one-row INSERTs, each its own transaction): ` +
        `p50 ${f2(c.p50)} ms, p90 ${f2(c.p90)} ms one after the other = ${f0(c.serialPerSecond)} commits/s; ${f0(c.parallelPerSecond)} commits/s from ` +
        `${c.parallel} connections at once (commits sharing a WAL flush). A chained append whose transaction commits synchronously holds the ` +
        `chain lock until its flush, so such appends top out near ${f0(c.serialPerSecond)}/s here; the intake commits asynchronously under ` +
        `the lock and waits for a shared flush after it (ADR 014).`,
    );
    lines.push(`- Web process CPU during the load (the last ${DURATION} s of the profile): ${f0(prof.cpu.busyMs)} ms busy of ${f0(prof.cpu.totalMs)} ms, for ${prof.measurement.redirects + prof.measurement.other} answers. Self time by component:`);
    lines.push("");
    lines.push("| component | self ms | share of busy |");
    lines.push("|---|---:|---:|");
    for (const c of prof.cpu.components) lines.push(`| ${c.name} | ${f0(c.ms)} | ${f0(c.share * 100)} % |`);
    lines.push("");
    lines.push("| function (top self time) | self ms | share of busy |");
    lines.push("|---|---:|---:|");
    for (const c of prof.cpu.functions.slice(0, 12)) lines.push(`| \`${c.name.replace(/\|/g, "\\|")}\` | ${f0(c.ms)} | ${f0(c.share * 100)} % |`);
    lines.push("");
    lines.push("| portal function (inclusive, synchronous part only) | ms | share of busy |");
    lines.push("|---|---:|---:|");
    for (const c of prof.cpu.ownInclusive.slice(0, 12)) lines.push(`| \`${c.name.replace(/\|/g, "\\|")}\` | ${f0(c.ms)} | ${f0(c.share * 100)} % |`);
  }
  return { markdown: lines.join("\n"), met };
}

// ---------------------------------------------------------------------------------------------------------------

function buildInfo() {
  const build = join(root, "build", "index.js");
  if (!existsSync(build)) throw new Error("build/index.js is missing: run `npm run build` first");
  const built = statSync(build).mtimeMs;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
      const p = join(dir, e.name);
      return Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  const stale = newest(join(root, "app")) > built;
  if (stale) console.warn("warning: build/ is older than app/ — run `npm run build` to measure the current code");
  return `${relative(root, build)} of ${new Date(built).toISOString().replace(/\.\d+Z$/, "Z")}${stale ? " (older than app/)" : ""}`;
}

async function main() {
  const command = `npm run bench:submit${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const build = buildInfo();
  const loadBefore = os.loadavg();
  await freshDatabase(PG_BASE, DB_NAME, { migrate: true });
  sql = postgres(DATABASE_URL, { max: 2, onnotice: () => {} });
  const redisInfo = await (async () => {
    const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      return /redis_version:(\S+)/.exec(await r.info("server"))?.[1] ?? "?";
    } finally {
      r.disconnect();
    }
  })();
  const pgVersion = ((await sql<{ v: string }[]>`select current_setting('server_version') as v`)[0]?.v ?? "?").split(" ")[0]!;

  const servers: Server[] = [];
  const results: Measurement[] = [];
  let prof: ProfileReport | undefined;
  try {
    for (const id of ["bare", "stack", "portal"] as const) servers.push(await startServer(id));
    for (const s of servers) await sanityCheck(s);
    console.log(`bench:submit — ${CONNECTIONS} connections, ${DURATION} s × ${RUNS} runs per target (database ${DB_NAME}, Redis prefix ${REDIS_PREFIX})`);
    for (let run = 1; run <= RUNS; run++) {
      for (const s of servers) {
        const m = await measure(s, run);
        results.push(m);
        console.log(`  run ${run} ${s.id.padEnd(6)} ${f0(m.rps).padStart(6)} req/s  p50 ${f0(m.p50)} ms  p99 ${f0(m.p99)} ms  (${m.redirects} redirects, ${m.other} other, ${m.errors} errors)`);
      }
    }
    const v = verdicts(results);
    if (PROFILE === "always" || (PROFILE === "auto" && !v.every((x) => x.met))) {
      // One connection, no queueing: the uncontended service time. If it is about as fast as many connections,
      // the path is serialized somewhere.
      const portal = servers.find((x) => x.id === "portal")!;
      const single = await measure(portal, -1, { connections: 1, duration: Math.max(3, Math.round(DURATION / 2)) });
      console.log(`  portal at 1 connection: ${f0(single.rps)} req/s  p50 ${f0(single.p50)} ms  p99 ${f0(single.p99)} ms`);
      for (const x of servers) await stopServer(x);
      const commits = await commitProbe();
      console.log(`  commit latency (servers stopped): p50 ${f2(commits.p50)} ms serially (${f0(commits.serialPerSecond)} commits/s), ${f0(commits.parallelPerSecond)} commits/s from ${commits.parallel} connections`);
      console.log("  profiling one more portal run (node --cpu-prof + pg_stat_activity sampling) …");
      prof = await profilePortal(single, commits);
    }
    for (const x of servers) await stopServer(x);
    const { markdown, met } = report(results, v, prof, { loadBefore, loadAfter: os.loadavg(), pg: pgVersion, redis: redisInfo, command, build });
    console.log(`\n${markdown}\n`);
    if (!args.dry) console.log(`written to ${relative(root, writeBenchmarkBlock("submit", markdown, "## Intake: POST /request/access (`npm run bench:submit`)"))}`);
    for (const m of results.filter((x) => x.target === "portal")) {
      // Requests still in flight when a run ends are served but not counted by autocannon: up to one per connection.
      const ok = (n: number | undefined) => n !== undefined && n >= m.redirects && n <= m.redirects + CONNECTIONS;
      if (!ok(m.rowsCreated) || (m.eventsCreated ?? 0) < (m.rowsCreated ?? 0)) {
        console.warn(`warning: portal run ${m.run}: ${m.redirects} redirects but ${m.rowsCreated} rows and ${m.eventsCreated} audit events created`);
      }
    }
    if (!met) console.log("target missed (see the profile above)");
  } finally {
    for (const s of servers) await stopServer(s).catch(() => {});
    for (const s of servers) if (s.stderr.length > 0) console.error(`${s.id} stderr:\n${s.stderr.join("").slice(-2000)}`);
    await sql.end({ timeout: 5 });
    await dropDatabase(PG_BASE, DB_NAME);
    await sweepRedis(REDIS_URL, `${REDIS_PREFIX}:`);
  }
}

await main();
