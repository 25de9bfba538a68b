/**
 * Execution of an approved request across the connected stores (docs/decisions/013-execution-and-packages.md).
 *
 * `execute-request` moves the request approved → processing, records one pending store run per enabled store, and
 * adds a BullMQ flow: one `execute-store` child per store under a `finalize-request` parent. Children retry with
 * exponential backoff and carry `ignoreDependencyOnFailure`, so a child that finally fails never leaves the parent
 * waiting: the parent runs once every child completed or failed. PostgreSQL is the source of truth: the finalizer
 * reads store_runs, not job results. Every step re-reads state and is safe to run twice; job ids are deterministic.
 *
 * - access/portability: each child streams its store's rows into encrypted package parts; the finalizer assembles
 *   the package, completes the request and queues `send-completion`.
 * - deletion: each child erases its store (one transaction per store, engine ADR 009). Before erasing it records
 *   the dry-run plan, so a worker killed between the store's commit and the run's record still reports right.
 * - correction: each child writes the values staff confirmed (read from their encrypted column, never from the job)
 *   into the fields the store's map marks with those subject attributes; opt-out and limit-sensitive set the fields
 *   marked as such preferences (docs/decisions/015-correction-and-opt-out.md). Counts only in the reports.
 * - a store that keeps failing, or a manual store's task, makes the request `action_required` (staff see the run's
 *   error — codes and messages without personal data); `retryStore` runs one store again.
 * - legal hold: an erasure whose request is put under legal hold after approval is refused in every store not yet
 *   erased (the run records `legal_hold`); once the hold is lifted the reconcile job retries those stores.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { UnrecoverableError, type FlowJob, type JobsOptions } from "bullmq";
import type { ErasureReport } from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import { transactionalKinds } from "#app/connectors/registry.ts";
import type { Executor } from "#db/client.server.ts";
import { requestEvents, requests, storeRuns, stores, type RequestRow, type StoreRunRow } from "#db/schema/index.ts";
import { defaultJobOptions, enqueue, getFlowProducer, getQueue, jobDefinitions } from "#jobs/queues.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import type { ErasureSummaryRow, UpdateSummaryRow } from "#app/emails/completion.tsx";
import type { UpdateReport } from "#app/connectors/types.ts";
import { correctionAttributeWords, getConfirmedCorrection } from "./corrections.server.ts";
import type { OptOutKind, SubjectAttribute } from "./data-map.ts";
import { appendEvent } from "./audit.server.ts";
import { validateDataMap } from "./data-map.ts";
import { formatDueDate } from "./deadlines.ts";
import { DomainError } from "./errors.ts";
import { buildPackage, getPackage, hasStoreParts, openStoreParts, packageFormatFor, removeParts } from "./packages.server.ts";
import { requestTypeInfo } from "./request-types.ts";
import { decryptIdentity, getRequestById } from "./requests.server.ts";
import { issueStatusToken, statusUrl } from "./status.server.ts";
import { dryRunStore, getStore, runStoreAccess, runStoreErasure, runStoreUpdate, subjectForRequest, type StoreRunOutcome } from "./stores.server.ts";

export type RunAction = StoreRunRow["action"];

/** The store-run action a request type executes; undefined: not automated (staff carry it out). */
export function runActionFor(type: RequestRow["type"]): RunAction | undefined {
  switch (type) {
    case "access":
    case "portability":
      return "access";
    case "deletion":
      return "erasure";
    case "correction":
      return "correction";
    case "opt_out":
    case "limit_sensitive":
      return "opt_out";
    default:
      return undefined;
  }
}

/**
 * The preferences an opt-out request sets (ADR 015). "Do not sell or share" also withdraws marketing consent: the
 * portal cannot tell which marketing lists feed advertising audiences, so it takes the reading that protects the
 * requester (the completion email names what was switched off); "Limit the use of my sensitive data" sets the limit.
 */
export function optOutKindsFor(type: RequestRow["type"]): OptOutKind[] {
  return type === "opt_out" ? ["sale_sharing", "marketing_consent"] : type === "limit_sensitive" ? ["sensitive_limit"] : [];
}

/** The code and message a store run records when a legal hold stops an erasure (shown to staff as is). */
export const LEGAL_HOLD_ERROR = "legal_hold: the request is under a legal hold, so nothing was erased; the erasure resumes when the hold is lifted";

// ---------------------------------------------------------------------------------------------------------------
// The flow

const QUEUE = jobDefinitions["execute-store"].queue;

/** Children: retried with exponential backoff; a final failure is recorded and does not block the parent. */
function childOptions(jobId: string): JobsOptions {
  return {
    ...defaultJobOptions,
    jobId,
    attempts: getEnv().EXECUTION_ATTEMPTS,
    backoff: { type: "exponential", delay: 2_000 },
    ignoreDependencyOnFailure: true,
  };
}

/** Job ids of one round of execution: round 0 is the first; a retry of one store is its own round. */
export function flowIds(requestId: string, storeIds: string[], round = "") {
  const suffix = round ? `-${round}` : "";
  return {
    parent: `finalize-request-${requestId}${suffix}`,
    children: storeIds.map((storeId) => ({ storeId, jobId: `execute-store-${requestId}-${storeId}${suffix}` })),
  };
}

async function addFlow(requestId: string, storeIds: string[], round = "") {
  const ids = flowIds(requestId, storeIds, round);
  // The parent's id says whether this round was already added (BullMQ keeps completed jobs for a day, failed ones
  // for good): adding again after a crash between the commit and this call is then a no-op.
  if (await getQueue(QUEUE).getJob(ids.parent)) return false;
  const flow: FlowJob = {
    name: "finalize-request",
    queueName: QUEUE,
    data: jobDefinitions["finalize-request"].payload.parse({ requestId }),
    opts: { ...defaultJobOptions, jobId: ids.parent },
    children: ids.children.map(({ storeId, jobId }) => ({
      name: "execute-store",
      queueName: QUEUE,
      data: jobDefinitions["execute-store"].payload.parse({ requestId, storeId }),
      opts: childOptions(jobId),
    })),
  };
  await getFlowProducer().add(flow);
  return true;
}

async function runsOf(db: Executor, requestId: string, action?: RunAction): Promise<StoreRunRow[]> {
  return db
    .select()
    .from(storeRuns)
    .where(action ? and(eq(storeRuns.requestId, requestId), eq(storeRuns.action, action)) : eq(storeRuns.requestId, requestId))
    .orderBy(asc(storeRuns.createdAt));
}

/**
 * Job `execute-request`. approved → processing (public timeline: "request.processing_started"), one pending store
 * run per enabled store, then the flow. A request already processing gets its flow added if it is missing (a crash
 * after the commit); anything else is skipped. Types that are not automated go to action_required for staff.
 */
export async function startExecution(db: Executor, requestId: string, clock: Clock = systemClock) {
  const request = await getRequestById(db, requestId);
  if (!request) return "missing" as const;
  const action = runActionFor(request.type);
  if (request.status === "approved" && action === "correction" && !(await getConfirmedCorrection(db, requestId))) {
    // Approved before staff confirmed the new values (the approve action should have refused): touch no store, wait.
    await db.transaction(async (tx) => {
      const updated = await tx
        .update(requests)
        .set({ status: "action_required", updatedAt: clock() })
        .where(and(eq(requests.id, requestId), eq(requests.status, "approved")))
        .returning({ id: requests.id });
      if (updated.length === 0) return;
      await appendEvent(tx, { requestId, actorType: "system", action: "request.action_required", details: { code: "correction_not_confirmed" } }, clock);
    });
    return "action_required" as const;
  }
  if (request.status === "approved") {
    const moved = await db.transaction(async (tx) => {
      const now = clock();
      const updated = await tx
        .update(requests)
        .set({ status: action ? "processing" : "action_required", updatedAt: now })
        .where(and(eq(requests.id, requestId), eq(requests.status, "approved")))
        .returning({ id: requests.id });
      if (updated.length === 0) return false;
      const enabled = await tx.select({ id: stores.id }).from(stores).where(sql`${stores.disabledAt} is null`).orderBy(asc(stores.name));
      if (action && enabled.length > 0) {
        await tx
          .insert(storeRuns)
          .values(enabled.map((s) => ({ requestId, storeId: s.id, action, createdAt: now, updatedAt: now })))
          .onConflictDoNothing();
      }
      await appendEvent(tx, { requestId, actorType: "system", action: "request.processing_started", details: { type: request.type, stores: action ? enabled.length : 0 } }, clock);
      if (!action) {
        await appendEvent(tx, { requestId, actorType: "system", action: "request.action_required", details: { code: "type_not_automated", type: request.type } }, clock);
      }
      return true;
    });
    if (!moved) return startExecution(db, requestId, clock);
    if (!action) return "action_required" as const;
  } else if (request.status !== "processing" || !action) {
    return "skipped" as const;
  }
  const runs = await runsOf(db, requestId, action);
  const added = await addFlow(requestId, runs.map((r) => r.storeId));
  return added ? ("started" as const) : ("already_started" as const);
}

// ---------------------------------------------------------------------------------------------------------------
// One store

/** Whether a fresh dry run shows that an interrupted erasure's planned changes were already committed. */
export function looksCommitted(planned: Pick<ErasureReport, "totals">, now: Pick<ErasureReport, "totals">) {
  if (now.totals.deleted > 0) return false;
  return now.totals.deleted < planned.totals.deleted || now.totals.matched < planned.totals.matched;
}

export type StoreStepResult = StoreRunOutcome | { status: "skipped"; reason: string } | { status: "completed"; runId: string; report: Record<string, unknown>; reused: false; recovered: true };

async function runRow(db: Executor, requestId: string, storeId: string, action: RunAction) {
  const [run] = await db
    .select()
    .from(storeRuns)
    .where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.storeId, storeId), eq(storeRuns.action, action)))
    .limit(1);
  return run;
}

async function eraseStore(db: Executor, request: RequestRow, storeId: string, kind: string, clock: Clock): Promise<StoreStepResult> {
  const requestId = request.id;
  const run = await runRow(db, requestId, storeId, "erasure");
  if (run?.status === "completed") return { status: "completed", runId: run.id, report: run.report ?? {}, reused: true };
  if (request.legalHoldSince) {
    // Placed after approval: nothing may be erased. The run says why (staff see it); the finalizer then makes the
    // request action_required, and lifting the hold lets the reconcile job retry the store.
    await db.insert(storeRuns).values({ requestId, storeId, action: "erasure", createdAt: clock(), updatedAt: clock() }).onConflictDoNothing();
    await db
      .update(storeRuns)
      .set({ status: "failed", error: LEGAL_HOLD_ERROR, updatedAt: clock() })
      .where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.storeId, storeId), eq(storeRuns.action, "erasure")));
    return { status: "skipped", reason: "legal_hold" };
  }
  const subject = subjectForRequest(request);
  // PostgreSQL and MySQL stores record the plan inside the erasure's own transaction, just before it commits
  // (`beforeCommit`); other stores, and a retry after a worker died mid-erasure, dry-run first.
  const recordsBeforeCommit = transactionalKinds.has(kind);
  const planned = (run?.progress as { planned?: ErasureReport } | undefined)?.planned;
  if (kind !== "manual" && run?.status !== "waiting" && (!recordsBeforeCommit || (run?.status === "running" && planned))) {
    const dry = await dryRunStore(db, storeId, { subject, action: "erase" }).catch(async (error: unknown) => {
      if (run) {
        const retryable = error instanceof StoreError && error.retryable;
        const text = error instanceof StoreError ? `${error.code}: ${error.message}`.slice(0, 500) : "internal_error";
        await db
          .update(storeRuns)
          .set({ status: retryable ? "pending" : "failed", error: text, attempts: sql`${storeRuns.attempts} + 1`, updatedAt: clock() })
          .where(eq(storeRuns.id, run.id));
      }
      throw error;
    });
    if ("report" in dry && run?.status === "running" && planned && looksCommitted(planned, dry.report)) {
      // The previous attempt died after the store committed but before the run recorded it: the store is erased,
      // and what it did is the plan that attempt recorded just before committing.
      const report = { ...planned, dryRun: false, recovered: true } as unknown as Record<string, unknown>;
      await db.update(storeRuns).set({ status: "completed", report, error: null, finishedAt: clock(), updatedAt: clock() }).where(eq(storeRuns.id, run.id));
      return { status: "completed", runId: run.id, report, reused: false, recovered: true };
    }
    if ("report" in dry) {
      await db
        .insert(storeRuns)
        .values({ requestId, storeId, action: "erasure", createdAt: clock(), updatedAt: clock() })
        .onConflictDoNothing();
      await recordPlan(db, requestId, storeId, dry.report, clock);
    }
  }
  return runStoreErasure(db, { requestId, storeId, subject }, { clock, ...(recordsBeforeCommit ? { beforeCommit: (report) => recordPlan(db, requestId, storeId, report, clock) } : {}) });
}

/** What an erasure is about to do in a store (counts only), kept on its run for recovery (see `looksCommitted`). */
async function recordPlan(db: Executor, requestId: string, storeId: string, report: ErasureReport, clock: Clock) {
  await db
    .update(storeRuns)
    .set({ progress: { planned: report }, updatedAt: clock() })
    .where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.storeId, storeId), eq(storeRuns.action, "erasure")));
}

async function accessStore(db: Executor, request: RequestRow, storeId: string, clock: Clock): Promise<StoreStepResult> {
  const requestId = request.id;
  const format = packageFormatFor(request.type)!;
  const run = await runRow(db, requestId, storeId, "access");
  if (run?.status === "completed" && !run.task && !(await hasStoreParts(db, requestId, storeId)) && !(await getPackage(db, requestId))) {
    // Completed, but its parts were never recorded (the worker died in between): export again.
    await db.update(storeRuns).set({ status: "pending", updatedAt: clock() }).where(eq(storeRuns.id, run.id));
  } else if (run?.status === "completed") {
    return { status: "completed", runId: run.id, report: run.report ?? {}, reused: true };
  }
  const store = await getStore(db, storeId);
  if (!store) throw new UnrecoverableError("store_not_found");
  let columns: Record<string, string[]> | undefined;
  try {
    const map = validateDataMap(store.dataMap);
    columns = Object.fromEntries(
      Object.values(map.collections).map((c) => [c.name, Object.values(c.fields).filter((f) => f.access === "include").map((f) => f.name)]),
    );
  } catch {
    columns = undefined; // runStoreAccess records the invalid map
  }
  const parts = await openStoreParts({ requestId, storeId, storeName: store.name, storeTitle: store.title, format, ...(columns ? { columns } : {}) });
  let outcome: StoreRunOutcome;
  try {
    outcome = await runStoreAccess(db, { requestId, storeId }, (item) => parts.write(item), { clock });
  } catch (error) {
    await parts.abort();
    throw error;
  }
  if (outcome.status === "completed" && !outcome.reused) await parts.finish(db, clock);
  else await parts.abort();
  return outcome;
}

async function updateStore(db: Executor, request: RequestRow, storeId: string, action: "correction" | "opt_out", clock: Clock): Promise<StoreStepResult> {
  const run = await runRow(db, request.id, storeId, action);
  if (run?.status === "completed") return { status: "completed", runId: run.id, report: run.report ?? {}, reused: true };
  if (action === "correction") {
    const confirmed = await getConfirmedCorrection(db, request.id);
    if (!confirmed) throw new UnrecoverableError("correction_not_confirmed: the corrected values were never confirmed");
    return runStoreUpdate(db, { requestId: request.id, storeId, action, values: confirmed.values }, { clock });
  }
  return runStoreUpdate(db, { requestId: request.id, storeId, action, kinds: optOutKindsFor(request.type) }, { clock });
}

const completedEvent: Record<RunAction, string> = {
  access: "store.access_completed",
  erasure: "store.erasure_completed",
  correction: "store.correction_completed",
  opt_out: "store.opt_out_completed",
};

/**
 * Job `execute-store`: one request's work in one store. Retryable store failures are thrown for BullMQ to retry
 * with backoff; a failure retrying cannot fix (bad map, refused credentials) fails the job at once.
 */
export async function executeStore(db: Executor, input: { requestId: string; storeId: string }, clock: Clock = systemClock): Promise<StoreStepResult> {
  const request = await getRequestById(db, input.requestId);
  if (!request) return { status: "skipped", reason: "request_missing" };
  const action = runActionFor(request.type);
  if (request.status !== "processing" || !action) return { status: "skipped", reason: `status_${request.status}` };
  const store = await getStore(db, input.storeId);
  if (!store) return { status: "skipped", reason: "store_missing" };
  try {
    const result =
      action === "erasure"
        ? await eraseStore(db, request, store.id, store.kind, clock)
        : action === "access"
          ? await accessStore(db, request, store.id, clock)
          : await updateStore(db, request, store.id, action, clock);
    if (result.status === "completed" && !result.reused) {
      const report = result.report as { totals?: Record<string, number>; rows?: number };
      await appendEvent(
        db,
        {
          requestId: request.id,
          actorType: "system",
          actorId: "execute-store",
          action: completedEvent[action],
          details: {
            storeId: store.id,
            store: store.name,
            ...(report.totals ? { totals: report.totals } : {}),
            ...(typeof report.rows === "number" ? { rows: report.rows } : {}),
            ...("recovered" in result ? { recovered: true } : {}),
          },
        },
        clock,
      );
    } else if (result.status === "waiting") {
      await appendEvent(db, { requestId: request.id, actorType: "system", actorId: "execute-store", action: "store.task_created", details: { storeId: store.id, store: store.name, action } }, clock);
    } else if (result.status === "accepted") {
      await appendEvent(db, { requestId: request.id, actorType: "system", actorId: "execute-store", action: "store.async_accepted", details: { storeId: store.id, store: store.name, action } }, clock);
    } else if (result.status === "skipped" && result.reason === "legal_hold") {
      await appendEvent(db, { requestId: request.id, actorType: "system", actorId: "execute-store", action: "store.erasure_refused", details: { storeId: store.id, store: store.name, code: "legal_hold" } }, clock);
    }
    return result;
  } catch (error) {
    if (error instanceof StoreError && !error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`.slice(0, 300));
    if (error instanceof StoreError) throw new Error(`${error.code}: ${error.message}`.slice(0, 300));
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Finalize

/**
 * Job `finalize-request`, the flow's parent (it runs once every child completed or finally failed). Runs that did
 * not complete are marked failed; any failed or waiting (manual) run makes the request action_required. Otherwise
 * the package is built (access/portability), the request completed (public timeline: "request.completed") and the
 * completion email queued.
 */
export async function finalizeRequest(db: Executor, requestId: string, clock: Clock = systemClock) {
  const request = await getRequestById(db, requestId);
  if (!request) return "missing" as const;
  if (request.status === "completed") {
    await enqueueCompletion(requestId);
    return "already_completed" as const;
  }
  if (request.status !== "processing") return "skipped" as const;
  const action = runActionFor(request.type);
  if (!action) return "skipped" as const;
  const now = clock();
  // Every child has ended: a run that is still pending or running was abandoned by its final attempt.
  await db
    .update(storeRuns)
    .set({ status: "failed", error: sql`coalesce(${storeRuns.error}, 'gave_up: the store could not be processed')`, updatedAt: now })
    .where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.action, action), inArray(storeRuns.status, ["pending", "running"])));
  const runs = await runsOf(db, requestId, action);
  const failed = runs.filter((r) => r.status === "failed");
  const waiting = runs.filter((r) => r.status === "waiting");
  const awaitingStores = waiting.filter((r) => !r.task && (r.progress as { async?: unknown }).async);
  if (failed.length === 0 && awaitingStores.length > 0 && awaitingStores.length === waiting.length) {
    // Only HTTP stores that accepted the work (202) are left: their signed callbacks continue the execution.
    return "waiting_for_stores" as const;
  }
  if (failed.length > 0 || waiting.length > 0) {
    await db.transaction(async (tx) => {
      const updated = await tx
        .update(requests)
        .set({ status: "action_required", updatedAt: now })
        .where(and(eq(requests.id, requestId), eq(requests.status, "processing")))
        .returning({ id: requests.id });
      if (updated.length === 0) return;
      await appendEvent(
        tx,
        {
          requestId,
          actorType: "system",
          actorId: "finalize-request",
          action: "request.action_required",
          details: {
            code: failed.length > 0 ? "store_failed" : "manual_task",
            failedStores: failed.map((r) => r.storeId),
            errors: failed.map((r) => (r.error ?? "").split(":")[0]!.slice(0, 60)),
            waitingStores: waiting.map((r) => r.storeId),
          },
        },
        clock,
      );
    });
    return "action_required" as const;
  }

  const format = packageFormatFor(request.type);
  const pkg = format ? await buildPackage(db, requestId, clock) : undefined;
  const totals = { deleted: 0, masked: 0, kept: 0, rows: 0, applied: 0, shared: 0 };
  for (const r of runs) {
    const report = (r.report ?? {}) as { totals?: Record<string, number>; rows?: number };
    totals.deleted += report.totals?.deleted ?? 0;
    totals.masked += report.totals?.masked ?? 0;
    totals.kept += report.totals?.kept ?? 0;
    totals.applied += report.totals?.applied ?? 0;
    totals.shared += report.totals?.shared ?? 0;
    totals.rows += report.rows ?? 0;
  }
  const outcome =
    action === "correction" || action === "opt_out"
      ? { applied: totals.applied, shared: totals.shared }
      : pkg
        ? { packageId: pkg.id, rows: totals.rows }
        : { deleted: totals.deleted, masked: totals.masked, kept: totals.kept };
  const completed = await db.transaction(async (tx) => {
    const updated = await tx
      .update(requests)
      .set({ status: "completed", completedAt: now, updatedAt: now })
      .where(and(eq(requests.id, requestId), eq(requests.status, "processing")))
      .returning({ id: requests.id });
    if (updated.length === 0) return false;
    await appendEvent(
      tx,
      {
        requestId,
        actorType: "system",
        actorId: "finalize-request",
        action: "request.completed",
        details: { stores: runs.length, ...outcome },
      },
      clock,
    );
    return true;
  });
  if (!completed) return "skipped" as const;
  await enqueueCompletion(requestId);
  return "completed" as const;
}

async function enqueueCompletion(requestId: string) {
  await enqueue("send-completion", { requestId }).catch((err: unknown) => logger.warn({ err, requestId }, "could not enqueue the completion email"));
}

// ---------------------------------------------------------------------------------------------------------------
// Staff: retry one store, resume after a manual task

/**
 * Runs one store again (staff, from the console): its run goes back to pending, the request back to processing,
 * and a new round of the flow (that store only, then the finalizer) is added. Refused for a completed run.
 */
export async function retryStore(db: Executor, requestId: string, storeId: string, options: { staffId?: string; clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  const round = await db.transaction(async (tx) => {
    // NO KEY UPDATE: the audit event below takes KEY SHARE on this row (FOR UPDATE would deadlock, see lockRequest).
    const [request] = await tx.select().from(requests).where(eq(requests.id, requestId)).for("no key update").limit(1);
    if (!request) throw new DomainError("request_not_found", "No such request.", 404);
    const action = runActionFor(request.type);
    if (!action || !["processing", "action_required"].includes(request.status)) {
      throw new DomainError("not_executing", "Only a request that is being processed can have a store retried.", 409);
    }
    if (action === "erasure" && request.legalHoldSince) {
      throw new DomainError("legal_hold", "This request is under a legal hold: nothing may be erased until the hold is lifted.", 409);
    }
    const [run] = await tx
      .select()
      .from(storeRuns)
      .where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.storeId, storeId), eq(storeRuns.action, action)))
      .for("update")
      .limit(1);
    if (!run) throw new DomainError("store_run_not_found", "This store is not part of the request.", 404);
    if (run.status === "completed") throw new DomainError("store_run_completed", "This store is already done.", 409);
    if (run.status === "waiting") throw new DomainError("store_run_waiting", "This store waits for a person to complete its task.", 409);
    const now = clock();
    await tx.update(storeRuns).set({ status: "pending", error: null, updatedAt: now }).where(eq(storeRuns.id, run.id));
    await tx.update(requests).set({ status: "processing", updatedAt: now }).where(eq(requests.id, requestId));
    await appendEvent(
      tx,
      { requestId, actorType: options.staffId ? "staff" : "system", actorId: options.staffId ?? "portal", action: "store.retry_requested", details: { storeId, attempts: run.attempts } },
      clock,
    );
    return `${storeId.slice(0, 8)}-a${run.attempts}`;
  });
  await addFlow(requestId, [storeId], `retry-${round}`);
}

/**
 * After a store's callback recorded its result (app/models/store-callbacks.server.ts): when no store is left
 * working, the finalizer runs again (a finalizer-only round) — from processing, or via `resumeExecution` when the
 * request waits for staff.
 */
export async function continueAfterCallback(db: Executor, requestId: string, runId: string, clock: Clock = systemClock) {
  const request = await getRequestById(db, requestId);
  if (!request) return "missing" as const;
  if (request.status === "action_required") return resumeExecution(db, requestId, clock);
  if (request.status !== "processing") return "skipped" as const;
  const runs = await runsOf(db, requestId);
  if (runs.some((r) => r.status === "pending" || r.status === "running" || r.status === "waiting")) return "not_ready" as const;
  await addFlow(requestId, [], `callback-${runId.slice(0, 8)}`);
  return "resumed" as const;
}

/**
 * After staff completed a manual store's task (`completeManualRun`): the request goes back to processing and the
 * finalizer runs again (completing the request when every store is done).
 */
export async function resumeExecution(db: Executor, requestId: string, clock: Clock = systemClock) {
  const runs = await runsOf(db, requestId);
  if (runs.some((r) => r.status === "waiting" || r.status === "failed" || r.status === "pending" || r.status === "running")) return "not_ready" as const;
  const moved = await db
    .update(requests)
    .set({ status: "processing", updatedAt: clock() })
    .where(and(eq(requests.id, requestId), eq(requests.status, "action_required")))
    .returning({ id: requests.id });
  if (moved.length === 0) return "skipped" as const;
  await addFlow(requestId, [], `resume-${runs.filter((r) => r.task).length}`);
  return "resumed" as const;
}

// ---------------------------------------------------------------------------------------------------------------
// The completion email

/** What erasure did per store, for the completion email (counts and bases only). */
export async function erasureSummary(db: Executor, requestId: string): Promise<ErasureSummaryRow[]> {
  const rows = await db
    .select({ run: storeRuns, store: stores })
    .from(storeRuns)
    .innerJoin(stores, eq(stores.id, storeRuns.storeId))
    .where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.action, "erasure"), eq(storeRuns.status, "completed")))
    .orderBy(asc(stores.name));
  return rows.map(({ run, store }) => {
    const report = (run.report ?? {}) as Partial<ErasureReport> & { deleted?: number; masked?: number; kept?: number };
    const collections = Object.values(report.collections ?? {});
    const reasons = [...new Set(collections.flatMap((c) => c.bases.map((b) => b.basis)))];
    return {
      store: store.title ?? store.name,
      deleted: report.totals?.deleted ?? report.deleted ?? 0,
      masked: report.totals?.masked ?? report.masked ?? 0,
      kept: report.totals?.kept ?? report.kept ?? 0,
      keptReasons: reasons,
    };
  });
}

const optOutWords: Record<OptOutKind, string> = {
  sale_sharing: "sale or sharing of your data",
  sensitive_limit: "use of your sensitive data limited",
  marketing_consent: "marketing consent withdrawn",
};

/** What a correction or an opt-out did per store, for the completion email (counts and names only). */
export async function updateSummary(db: Executor, requestId: string, action: "correction" | "opt_out"): Promise<UpdateSummaryRow[]> {
  const rows = await db
    .select({ run: storeRuns, store: stores })
    .from(storeRuns)
    .innerJoin(stores, eq(stores.id, storeRuns.storeId))
    .where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.action, action), eq(storeRuns.status, "completed")))
    .orderBy(asc(stores.name));
  return rows.map(({ run, store }) => {
    const report = (run.report ?? {}) as Partial<UpdateReport> & { applied?: number; updated?: number; shared?: number };
    const words = (report.targets ?? []).map((t) =>
      action === "correction" ? correctionAttributeWords[t as SubjectAttribute] ?? t : optOutWords[t as OptOutKind] ?? t,
    );
    // A manual run records what staff entered (`applied` or `updated`, or no count at all).
    const updated = report.totals?.applied ?? report.applied ?? report.updated;
    return {
      store: store.title ?? store.name,
      ...(updated !== undefined ? { updated } : {}),
      shared: report.totals?.shared ?? report.shared ?? 0,
      what: words,
      ...(run.task ? { byHand: true } : {}),
    };
  });
}

/**
 * Job `send-completion`: a completed request's email — access: where to download (a fresh status token, made here
 * by the job that mails it, ADR 006); deletion: the erasure summary per store. Sent once (an audit event says so).
 */
export async function sendCompletionEmail(db: Executor, requestId: string, clock: Clock = systemClock) {
  const request = await getRequestById(db, requestId);
  if (!request) return "missing" as const;
  if (request.status !== "completed") return "skipped" as const;
  const [sent] = await db
    .select({ id: requestEvents.id })
    .from(requestEvents)
    .where(and(eq(requestEvents.requestId, requestId), eq(requestEvents.action, "request.completion_sent")))
    .limit(1);
  if (sent) return "skipped" as const;

  const format = packageFormatFor(request.type);
  const pkg = format ? await getPackage(db, requestId) : undefined;
  const token = await issueStatusToken(db, requestId);
  const action = runActionFor(request.type);
  const kind = format ? "access" : request.type === "deletion" ? "deletion" : action === "correction" || action === "opt_out" ? action : "other";
  await sendEmail({
    to: decryptIdentity(request).email,
    template: "completion",
    props: {
      orgName: getEnv().ORG_NAME,
      reference: request.reference,
      requestTypeLabel: requestTypeInfo[request.type].label,
      kind,
      statusUrl: statusUrl(token),
      ...(pkg ? { downloadExpiresOn: formatDueDate(pkg.expiresAt) } : {}),
      ...(kind === "deletion" ? { erasureSummary: await erasureSummary(db, requestId) } : {}),
      ...(kind === "correction" || kind === "opt_out" ? { updateSummary: await updateSummary(db, requestId, kind) } : {}),
    },
  });
  await appendEvent(db, { requestId, actorType: "system", actorId: "send-completion", action: "request.completion_sent", details: { channel: "email", kind } }, clock);
  return "sent" as const;
}

/**
 * For the reconcile job (Redis may lose jobs): approved requests get `execute-request` again, processing requests
 * whose flow is gone get it back (startExecution adds it only when its parent job is missing), and completed requests
 * whose completion email was never recorded get it queued. Work younger than a minute is left to the jobs in flight.
 */
export async function reconcileExecutions(db: Executor, clock: Clock = systemClock) {
  const now = clock();
  const settled = new Date(now.getTime() - 60_000);
  const executing = await db
    .select({ id: requests.id, status: requests.status })
    .from(requests)
    .where(and(inArray(requests.status, ["approved", "processing"]), sql`${requests.updatedAt} < ${settled.toISOString()}`));
  let restarted = 0;
  for (const r of executing) {
    if (r.status === "approved") await enqueue("execute-request", { requestId: r.id });
    else if ((await startExecution(db, r.id, clock)) === "started") restarted++;
  }
  const since = new Date(now.getTime() - 7 * 86_400_000);
  const unsent = await db
    .select({ id: requests.id })
    .from(requests)
    .where(
      and(
        eq(requests.status, "completed"),
        sql`${requests.completedAt} > ${since.toISOString()}`,
        sql`${requests.completedAt} < ${settled.toISOString()}`,
        sql`not exists (select 1 from ${requestEvents} e where e.request_id = ${requests.id} and e.action = 'request.completion_sent')`,
      ),
    );
  for (const r of unsent) await enqueueCompletion(r.id);
  const resumedAfterHold = await resumeAfterLegalHold(db, clock);
  const callbacksTimedOut = await expireStoreCallbacks(db, clock);
  return { approved: executing.filter((r) => r.status === "approved").length, restarted, completionEmails: unsent.length, resumedAfterHold, callbacksTimedOut };
}

/** The code and message of a store run whose HTTP store accepted the work (202) but never posted its result. */
export const CALLBACK_TIMEOUT_ERROR = "http_async_timeout: the store accepted the work but sent no result in time; retry the store";

/**
 * HTTP stores that answered 202 and never called back within STORE_CALLBACK_TIMEOUT_HOURS: their runs fail (a late
 * callback then finds no waiting run and changes nothing), and the request's finalizer makes it action_required, so
 * staff see it and can retry the store — a request never waits forever for a store. Called by the reconcile job;
 * safe to run twice (only runs still waiting are taken).
 */
export async function expireStoreCallbacks(db: Executor, clock: Clock = systemClock) {
  const cutoff = new Date(clock().getTime() - getEnv().STORE_CALLBACK_TIMEOUT_HOURS * 3_600_000);
  const late = await db
    .select({ id: storeRuns.id, requestId: storeRuns.requestId, storeId: storeRuns.storeId })
    .from(storeRuns)
    .where(and(eq(storeRuns.status, "waiting"), sql`${storeRuns.progress} -> 'async' is not null`, sql`${storeRuns.updatedAt} < ${cutoff.toISOString()}`));
  let expired = 0;
  for (const run of late) {
    const failed = await db.transaction(async (tx) => {
      const now = clock();
      const updated = await tx
        .update(storeRuns)
        .set({ status: "failed", error: CALLBACK_TIMEOUT_ERROR, updatedAt: now })
        .where(and(eq(storeRuns.id, run.id), eq(storeRuns.status, "waiting")))
        .returning({ id: storeRuns.id });
      if (updated.length === 0) return false;
      await appendEvent(
        tx,
        { requestId: run.requestId, actorType: "system", actorId: "reconcile", action: "store.async_timeout", details: { storeId: run.storeId, hours: getEnv().STORE_CALLBACK_TIMEOUT_HOURS } },
        clock,
      );
      return true;
    });
    if (!failed) continue;
    expired++;
    await finalizeRequest(db, run.requestId, clock);
  }
  return expired;
}

/**
 * Erasures a legal hold stopped, whose hold has since been lifted: the refused stores of each such request go back to
 * pending and run in ONE new round of the flow (one finalizer for all of them: separate rounds would each finalize
 * while the others still run). Called by the reconcile job; `requestId` limits it to one request (e.g. right after
 * the hold is lifted). Safe to run twice: only runs still marked as refused are taken, inside a transaction.
 */
export async function resumeAfterLegalHold(db: Executor, clock: Clock = systemClock, requestId?: string) {
  const rows = await db
    .select({ requestId: storeRuns.requestId })
    .from(storeRuns)
    .innerJoin(requests, eq(requests.id, storeRuns.requestId))
    .where(
      and(
        eq(storeRuns.action, "erasure"),
        eq(storeRuns.status, "failed"),
        eq(storeRuns.error, LEGAL_HOLD_ERROR),
        eq(requests.status, "action_required"),
        sql`${requests.legalHoldSince} is null`,
        ...(requestId ? [eq(storeRuns.requestId, requestId)] : []),
      ),
    );
  let resumed = 0;
  for (const id of new Set(rows.map((r) => r.requestId))) {
    const storeIds = await db.transaction(async (tx) => {
      const [request] = await tx.select().from(requests).where(eq(requests.id, id)).for("no key update").limit(1);
      if (!request || request.status !== "action_required" || request.legalHoldSince) return [];
      const now = clock();
      const taken = await tx
        .update(storeRuns)
        .set({ status: "pending", error: null, updatedAt: now })
        .where(and(eq(storeRuns.requestId, id), eq(storeRuns.action, "erasure"), eq(storeRuns.status, "failed"), eq(storeRuns.error, LEGAL_HOLD_ERROR)))
        .returning({ storeId: storeRuns.storeId });
      if (taken.length === 0) return [];
      await tx.update(requests).set({ status: "processing", updatedAt: now }).where(eq(requests.id, id));
      await appendEvent(tx, { requestId: id, actorType: "system", actorId: "reconcile", action: "request.erasure_resumed", details: { stores: taken.length } }, clock);
      return taken.map((t) => t.storeId);
    });
    if (storeIds.length === 0) continue;
    await addFlow(id, storeIds, `hold-lifted-${clock().getTime()}`);
    resumed += storeIds.length;
  }
  return resumed;
}

/** The store runs of a request with their store's name (for the console). */
export async function executionOverview(db: Executor, requestId: string) {
  return db
    .select({
      runId: storeRuns.id,
      storeId: stores.id,
      store: stores.name,
      title: stores.title,
      kind: stores.kind,
      action: storeRuns.action,
      status: storeRuns.status,
      attempts: storeRuns.attempts,
      error: storeRuns.error,
      progress: storeRuns.progress,
      report: storeRuns.report,
      task: storeRuns.task,
      finishedAt: storeRuns.finishedAt,
    })
    .from(storeRuns)
    .innerJoin(stores, eq(stores.id, storeRuns.storeId))
    .where(eq(storeRuns.requestId, requestId))
    .orderBy(asc(stores.name));
}

/** Leftover parts of requests that ended without a package (e.g. denied after a failure) — for maintenance. */
export async function cleanUpParts(db: Executor, requestId: string) {
  const request = await getRequestById(db, requestId);
  if (request && !["processing", "action_required", "approved"].includes(request.status)) await removeParts(db, requestId);
}

