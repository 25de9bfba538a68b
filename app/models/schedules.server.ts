/**
 * The scheduled jobs seen from the outside: each run recorded in Postgres (`scheduler_runs`), and a report per
 * scheduler — its timing, last run, next run and whether it is late — for the operational view (/admin/schedules).
 * Also the two helpers the scheduled jobs share: their clock, and enqueueing a job that must really run again.
 */
import { getNextMillis, type Job, type JobSchedulerJson } from "bullmq";
import { and, desc, eq, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { schedulerRuns, type SchedulerRunOutcome } from "#db/schema/index.ts";
import { enqueue, getQueue, jobDefinitions, jobIdFor, type JobName, type JobPayload } from "#jobs/queues.ts";
import { scheduleDefinitions, type ScheduleDefinition } from "#jobs/schedules.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { scrubString } from "#app/utils/logger.server.ts";

// ---------------------------------------------------------------------------------------------------------------
// The scheduled jobs' clock

let clockOverride: Clock | undefined;

/**
 * "Now" for the scheduled jobs (their processors pass it to the model functions). The system clock, unless a test
 * or the benchmark moved it with `setSchedulerClock` — the only way simulated days reach jobs run by a real worker.
 */
export const schedulerClock: Clock = () => (clockOverride ?? systemClock)();

/** Moves the scheduled jobs' clock (tests, bench); `undefined` restores the system clock. */
export function setSchedulerClock(clock: Clock | undefined) {
  clockOverride = clock;
}

// ---------------------------------------------------------------------------------------------------------------
// Enqueueing work that must run again

/**
 * Enqueues `name` with its deterministic job id, even when a job with that id already finished: a completed job is
 * removed first (BullMQ would otherwise ignore the add while it keeps the old one), a failed one is retried. A job
 * still waiting, delayed or active is left alone. Returns what happened.
 */
export async function enqueueAgain<N extends JobName>(name: N, payload: JobPayload<N>): Promise<"enqueued" | "retried" | "pending"> {
  const queue = getQueue(jobDefinitions[name].queue);
  const id = jobIdFor(name, payload);
  const existing = id ? await queue.getJob(id) : undefined;
  if (existing) {
    const state = await existing.getState();
    if (state === "failed") {
      await existing.retry("failed");
      return "retried";
    }
    if (state === "completed") await existing.remove();
    else if (state !== "unknown") return "pending";
  }
  await enqueue(name, payload);
  return "enqueued";
}

// ---------------------------------------------------------------------------------------------------------------
// Recording runs

/** The numbers of a job's result, flattened (`{ recorded: { overdue: 2 } }` → `{ "recorded.overdue": 2 }`). */
export function countsOf(result: unknown, prefix = "", out: Record<string, number> = {}, depth = 0): Record<string, number> {
  if (typeof result === "number" && Number.isFinite(result)) {
    out[prefix || "value"] = result;
  } else if (result && typeof result === "object" && !Array.isArray(result) && !(result instanceof Date) && depth < 4) {
    for (const [k, v] of Object.entries(result)) countsOf(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  }
  return out;
}

function errorText(error: unknown) {
  const e = error instanceof Error ? error : new Error(String(error));
  return scrubString(`${e.name}: ${e.message}`).slice(0, 500);
}

/**
 * Runs `fn` as one run of scheduler `schedulerId`, recorded in `scheduler_runs`: a `running` row first, then
 * `succeeded` with the numbers of its result, or `failed` with the error's class and scrubbed message (rethrown, so
 * BullMQ retries). A failure to record never fails the job.
 */
export async function recordSchedulerRun<T>(
  db: Executor,
  run: { schedulerId: string; jobId?: string | null; attempt?: number },
  fn: () => Promise<T>,
  clock: Clock = schedulerClock,
): Promise<T> {
  let id: number | undefined;
  try {
    const [row] = await db
      .insert(schedulerRuns)
      .values({ schedulerId: run.schedulerId, jobId: run.jobId ?? null, attempt: run.attempt ?? 1, startedAt: clock() })
      .returning({ id: schedulerRuns.id });
    id = row?.id;
  } catch {
    id = undefined; // the job matters more than its record
  }
  const finish = async (outcome: SchedulerRunOutcome, counts: Record<string, number>, error: string | null) => {
    if (id === undefined) return;
    await db
      .update(schedulerRuns)
      .set({ finishedAt: clock(), outcome, counts, error })
      .where(eq(schedulerRuns.id, id))
      .catch(() => {});
  };
  try {
    const result = await fn();
    await finish("succeeded", countsOf(result), null);
    return result;
  } catch (error) {
    await finish("failed", {}, errorText(error));
    throw error;
  }
}

/** The scheduler a BullMQ job came from (its `repeatJobKey`), or undefined for a job added by hand. */
export function schedulerIdOf(job: Pick<Job, "repeatJobKey">): string | undefined {
  return job.repeatJobKey ?? undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The report

export type SchedulerRunSummary = {
  startedAt: Date;
  finishedAt: Date | null;
  outcome: SchedulerRunOutcome;
  counts: Record<string, number>;
  error: string | null;
};

export type ScheduleHealth = "ok" | "late" | "failing" | "not_registered" | "waiting_first_run";

export type ScheduleStatus = {
  id: string;
  queue: string;
  description: string;
  configKey: string | null;
  pattern: string | null;
  every: number | null;
  timeZone: string | null;
  /** Registered in Redis (a worker has started with this definition since Redis last lost its data). */
  registered: boolean;
  /** When the scheduler's pending job is due (BullMQ), or the next time the definition gives if not registered. */
  nextRunAt: Date | null;
  /** The scheduler's period (for a cron pattern, the longest gap between its next times). */
  intervalMs: number | null;
  lastRun: SchedulerRunSummary | null;
  lastSuccessAt: Date | null;
  health: ScheduleHealth;
  /** True when it has not run when it should have: last run older than two intervals, or next run overdue by one. */
  late: boolean;
};

/**
 * The period of a repeat setting, measured from `from`: `every`, or for a cron pattern the longest gap between its
 * next 15 times (so "weekdays at 08:00" has a period of 3 days, from Friday to Monday, and raises no alarm on Sundays).
 */
export function intervalOf(repeat: { every?: number | null; pattern?: string | null; tz?: string | null }, from: number): number | null {
  if (repeat.every) return repeat.every;
  if (!repeat.pattern) return null;
  const opts = { pattern: repeat.pattern, ...(repeat.tz ? { tz: repeat.tz } : {}) };
  let longest: number | null = null;
  let t = getNextMillis(from, opts);
  for (let i = 0; i < 14 && t !== undefined; i++) {
    const next = getNextMillis(t, opts);
    if (next === undefined) break;
    longest = Math.max(longest ?? 0, next - t);
    t = next;
  }
  return longest;
}

/**
 * Late: the last run started more than two intervals ago, or — whatever the last run — the pending job's due time
 * is more than one interval in the past (no worker is taking it). A scheduler that never ran is late once its first
 * due time is an interval behind.
 */
export function assessHealth(input: {
  now: number;
  registered: boolean;
  intervalMs: number | null;
  nextRunAt: number | null;
  lastRun: Pick<SchedulerRunSummary, "startedAt" | "outcome"> | null;
}): { health: ScheduleHealth; late: boolean } {
  const { now, intervalMs, nextRunAt, lastRun } = input;
  if (!input.registered) return { health: "not_registered", late: true };
  const staleRun = lastRun !== null && intervalMs !== null && now - lastRun.startedAt.getTime() > 2 * intervalMs;
  const stuckNext = nextRunAt !== null && intervalMs !== null && now - nextRunAt > intervalMs;
  const late = staleRun || stuckNext;
  if (late) return { health: "late", late };
  if (lastRun === null) return { health: "waiting_first_run", late };
  if (lastRun.outcome === "failed") return { health: "failing", late };
  return { health: "ok", late };
}

async function lastRuns(db: Executor, schedulerId: string) {
  const [last] = await db
    .select()
    .from(schedulerRuns)
    .where(eq(schedulerRuns.schedulerId, schedulerId))
    .orderBy(desc(schedulerRuns.startedAt), desc(schedulerRuns.id))
    .limit(1);
  const [success] = await db
    .select({ finishedAt: schedulerRuns.finishedAt })
    .from(schedulerRuns)
    .where(and(eq(schedulerRuns.schedulerId, schedulerId), eq(schedulerRuns.outcome, "succeeded")))
    .orderBy(desc(schedulerRuns.startedAt), desc(schedulerRuns.id))
    .limit(1);
  return { last, lastSuccessAt: success?.finishedAt ?? null };
}

/**
 * One status per scheduler: those defined in jobs/schedules.ts (registered or not) and any other scheduler found in
 * their queues. Reads Redis (BullMQ's `getJobSchedulers`) and Postgres.
 */
export async function getScheduleStatuses(
  db: Executor,
  { clock = systemClock, definitions = scheduleDefinitions() }: { clock?: Clock; definitions?: ScheduleDefinition[] } = {},
): Promise<ScheduleStatus[]> {
  const now = clock().getTime();
  const inRedis = new Map<string, { queue: string; json: JobSchedulerJson }>();
  for (const queue of new Set(definitions.map((d) => d.queue))) {
    for (const json of await getQueue(queue).getJobSchedulers()) inRedis.set(json.id ?? json.key, { queue, json });
  }
  const ids = [...new Set([...definitions.map((d) => d.id), ...inRedis.keys()])];
  const out: ScheduleStatus[] = [];
  for (const id of ids) {
    const def = definitions.find((d) => d.id === id);
    const found = inRedis.get(id);
    const pattern = found?.json.pattern ?? def?.repeat.pattern ?? null;
    const every = found?.json.every ?? def?.repeat.every ?? null;
    const tz = found?.json.tz ?? def?.repeat.tz ?? null;
    const repeat = { pattern, every, tz };
    const nextRunAt = found?.json.next ?? (pattern ? (getNextMillis(now, { pattern, ...(tz ? { tz } : {}) }) ?? null) : null);
    const intervalMs = intervalOf(repeat, nextRunAt ?? now);
    const { last, lastSuccessAt } = await lastRuns(db, id);
    const lastRun = last
      ? { startedAt: last.startedAt, finishedAt: last.finishedAt, outcome: last.outcome, counts: last.counts, error: last.error }
      : null;
    const { health, late } = assessHealth({ now, registered: Boolean(found), intervalMs, nextRunAt: found ? (found.json.next ?? null) : null, lastRun });
    out.push({
      id,
      queue: found?.queue ?? def!.queue,
      description: def?.description ?? "Not defined in jobs/schedules.ts (removed at the next worker start).",
      configKey: def?.configKey ?? null,
      pattern,
      every,
      timeZone: tz,
      registered: Boolean(found),
      nextRunAt: nextRunAt === null ? null : new Date(nextRunAt),
      intervalMs,
      lastRun,
      lastSuccessAt,
      health,
      late,
    });
  }
  return out;
}

/** Recent runs of one scheduler, newest first. */
export async function listSchedulerRuns(db: Executor, schedulerId: string, limit = 10) {
  return db
    .select()
    .from(schedulerRuns)
    .where(eq(schedulerRuns.schedulerId, schedulerId))
    .orderBy(desc(schedulerRuns.startedAt), desc(schedulerRuns.id))
    .limit(Math.min(Math.max(limit, 1), 100));
}

/** Deletes run records older than `keepDays` (retention job housekeeping); returns how many. */
export async function purgeSchedulerRuns(db: Executor, now: Date, keepDays = 30) {
  const cutoff = new Date(now.getTime() - keepDays * 86_400_000);
  const rows = await db.execute<{ n: number }>(sql`with d as (delete from ${schedulerRuns} where ${schedulerRuns.startedAt} < ${cutoff.toISOString()}::timestamptz returning 1) select count(*)::int as n from d`);
  return (rows as unknown as { n: number }[])[0]?.n ?? 0;
}
