/**
 * Staff on a request's execution, from the request page (ADR 020): the per-store runs as staff see them (status,
 * attempts, the error's code and message — never personal data —, counts, a manual store's task), running a failed
 * store again, and recording that a manual store's task was done (counts and, optionally, notes).
 *
 * The engine does the work (app/models/execution.server.ts: `retryStore`, `resumeExecution`, `executionOverview`;
 * app/models/stores.server.ts: `completeManualRun`). This module adds what the console needs around it: the role
 * check (admins and processors), the states in which each is allowed with messages fit to show, the legal hold (no
 * erasure while it lasts) and the notes, which are ordinary encrypted notes (notes.server.ts).
 */
import { and, eq } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { storeRuns, type RequestRow, type StoreRunRow, type StoreRunStatus } from "#db/schema/index.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { executionOverview, resumeExecution, retryStore, runActionFor } from "./execution.server.ts";
import { addNote, MAX_NOTE_LENGTH } from "./notes.server.ts";
import { assertCanAct, canAct, lockRequest, RequestActionError, type Actor } from "./request-actions.server.ts";
import { getRequestById } from "./requests.server.ts";
import { completeManualRun } from "./stores.server.ts";

/** Request statuses in which the execution is live (the page refreshes itself) or waits for staff. */
export const LIVE_STATUSES: readonly RequestRow["status"][] = ["approved", "processing"];
const EXECUTING: readonly RequestRow["status"][] = ["processing", "action_required"];

/** Counts a person can report for a manual task: at most this many rows per count. */
export const MAX_MANUAL_COUNT = 1_000_000_000;

/** What a store run does: access and erasure, and whatever else the engine runs per store. */
type RunKind = StoreRunRow["action"];

export type StoreRunView = {
  runId: string;
  storeId: string;
  store: string;
  kind: string;
  action: RunKind;
  status: StoreRunStatus;
  attempts: number;
  /** The engine's error: a code and a message about the store (no personal data: ADR 009 / 013). */
  error: { code: string; message: string } | null;
  /** Erasure: rows deleted, masked, kept; access: rows exported (while running: so far). */
  counts: { deleted: number; masked: number; kept: number } | { rows: number } | null;
  /** A manual store's task: what to do, and which team does it. */
  task: { instructions: string; team: string | null } | null;
  finishedAt: Date | null;
  canRetry: boolean;
  canComplete: boolean;
};

const errorMessages: Record<string, string> = {
  internal_error: "An unexpected error in the portal; the worker's log has the details.",
  invalid_data_map: "The store's data map is not valid: fix it on the stores page, then retry.",
};

/** "code: message" (the engine's format) → its parts. */
export function splitRunError(text: string | null): StoreRunView["error"] {
  if (!text) return null;
  const at = text.indexOf(": ");
  const code = (at > 0 ? text.slice(0, at) : text).trim();
  const message = at > 0 ? text.slice(at + 2).trim() : (errorMessages[code] ?? "");
  return { code, message };
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function countsOf(action: RunKind, status: StoreRunStatus, report: Record<string, unknown> | null, progress: Record<string, unknown>): StoreRunView["counts"] {
  if (action === "erasure") {
    const totals = (report?.totals ?? null) as Record<string, unknown> | null;
    return status === "completed" && totals ? { deleted: num(totals.deleted), masked: num(totals.masked), kept: num(totals.kept) } : null;
  }
  if (action !== "access") return null;
  const source = status === "completed" ? report : progress;
  return source && typeof source.rows === "number" ? { rows: source.rows } : null;
}

/** Whether staff may run a store again: a failed run, or one left pending/running by a request that needs action. */
function retryable(requestStatus: RequestRow["status"], runStatus: StoreRunStatus) {
  if (!EXECUTING.includes(requestStatus)) return false;
  return runStatus === "failed" || (requestStatus === "action_required" && (runStatus === "pending" || runStatus === "running"));
}

/** The request's store runs as the request page shows them, by store name. */
export async function storeRunViews(db: Executor, row: Pick<RequestRow, "id" | "status" | "type" | "legalHoldSince">, actor: Pick<Actor, "role">): Promise<StoreRunView[]> {
  const runs = await executionOverview(db, row.id);
  const acting = canAct(actor);
  const heldErasure = row.legalHoldSince !== null && runActionFor(row.type) === "erasure";
  return runs.map((r) => {
    const task = r.task as { instructions?: unknown; team?: unknown } | null;
    return {
      runId: r.runId,
      storeId: r.storeId,
      store: r.title ?? r.store,
      kind: r.kind,
      action: r.action,
      status: r.status,
      attempts: r.attempts,
      error: r.status === "completed" ? null : splitRunError(r.error),
      counts: countsOf(r.action, r.status, r.report, r.progress),
      task: task && typeof task.instructions === "string" ? { instructions: task.instructions, team: typeof task.team === "string" ? task.team : null } : null,
      finishedAt: r.finishedAt,
      canRetry: acting && !heldErasure && retryable(row.status, r.status),
      // While other stores still run, the finalizer has yet to look: completing then could race it (ADR 020).
      canComplete: acting && !heldErasure && r.status === "waiting" && row.status === "action_required",
    };
  });
}

function refuseUnderHold(row: Pick<RequestRow, "legalHoldSince" | "type">) {
  if (row.legalHoldSince && runActionFor(row.type) === "erasure") {
    throw new RequestActionError("legal_hold", "This request is under a legal hold: its data must not be erased until the hold is lifted.");
  }
}

/**
 * Runs one store of the request again (the engine's `retryStore`: the run back to pending, the request back to
 * processing, a new round of the flow for that store and the finalizer). Allowed for a failed run, or a run left
 * pending or running when the request needs action; refused for completed and waiting runs, outside execution, and
 * for an erasure under legal hold. Audit: `store.retry_requested` naming the staff member (written by the engine).
 */
export async function retryStoreRun(db: Executor, input: { requestId: string; storeId: string; actor: Actor }) {
  assertCanAct(input.actor);
  const row = await getRequestById(db, input.requestId);
  if (!row) throw new RequestActionError("not_found", "We could not find that request.", 404);
  refuseUnderHold(row);
  const action = runActionFor(row.type);
  if (!action || !EXECUTING.includes(row.status)) {
    throw new RequestActionError("illegal_transition", `A request that is ${row.status.replaceAll("_", " ")} has no store to retry.`);
  }
  const [run] = await db
    .select({ status: storeRuns.status })
    .from(storeRuns)
    .where(and(eq(storeRuns.requestId, row.id), eq(storeRuns.storeId, input.storeId), eq(storeRuns.action, action)))
    .limit(1);
  if (!run) throw new RequestActionError("not_found", "This store is not part of the request.", 404);
  if (run.status === "completed") throw new RequestActionError("illegal_transition", "This store is already done.");
  if (run.status === "waiting") throw new RequestActionError("illegal_transition", "This store waits for a person: record its task as done instead.");
  if (!retryable(row.status, run.status)) throw new RequestActionError("illegal_transition", "This store is still being processed; retry it if it fails.");
  // The engine re-checks all of this under its own lock.
  await retryStore(db, row.id, input.storeId, { staffId: input.actor.id });
  return { retried: true };
}

/** Reads the counts a person reports for a manual task; a `RequestActionError` (400) names the bad one. */
export function manualReport(action: RunKind, storeName: string, counts: Partial<Record<"deleted" | "masked" | "kept" | "rows", number>>): Record<string, unknown> {
  const read = (name: "deleted" | "masked" | "kept" | "rows") => {
    const v = counts[name];
    const what = name === "rows" ? "found" : name;
    if (v === undefined) throw new RequestActionError("invalid_input", `Enter the number of rows ${what} (0 if none).`, 400);
    if (!Number.isInteger(v) || v < 0 || v > MAX_MANUAL_COUNT) {
      throw new RequestActionError("invalid_input", `The number of rows ${what} must be a whole number from 0 to ${MAX_MANUAL_COUNT.toLocaleString("en")}.`, 400);
    }
    return v;
  };
  if (action === "access") return { manual: true, rows: read("rows") };
  if (action !== "erasure") return { manual: true };
  const deleted = read("deleted");
  const masked = read("masked");
  const kept = read("kept");
  return { store: storeName, dryRun: false, manual: true, totals: { matched: deleted + masked + kept, deleted, masked, kept }, collections: {} };
}

/**
 * A person did a manual store's task: the run completes with the counts they report (the engine's
 * `completeManualRun`, audit `store.manual_completed`) and their notes, if any, become an encrypted note on the
 * request (`request.note_added`) — one transaction, the request row locked first. Then `resumeExecution`: when no
 * other store is left, the request goes back to processing and the finalizer completes it.
 */
export async function completeManualTask(
  db: Executor,
  input: { requestId: string; runId: string; actor: Actor; counts: Partial<Record<"deleted" | "masked" | "kept" | "rows", number>>; notes?: string | null },
  clock: Clock = systemClock,
) {
  assertCanAct(input.actor);
  const notes = (input.notes ?? "").replace(/\r\n?/g, "\n").trim();
  if (notes.length > MAX_NOTE_LENGTH) throw new RequestActionError("invalid_input", `Notes can be at most ${MAX_NOTE_LENGTH.toLocaleString("en")} characters.`, 400);
  await db.transaction(async (tx) => {
    const row = await lockRequest(tx, input.requestId);
    // The run first: someone who completed it a moment ago has already moved the request on.
    const [run] = await tx.select().from(storeRuns).where(and(eq(storeRuns.id, input.runId), eq(storeRuns.requestId, row.id))).limit(1);
    if (!run) throw new RequestActionError("not_found", "This task is not part of the request.", 404);
    if (run.status !== "waiting") throw new RequestActionError("illegal_transition", "This store is not waiting for a person: its task is already done, or it has none.");
    refuseUnderHold(row);
    if (row.status === "processing") {
      throw new RequestActionError("illegal_transition", "The other stores are still being processed: record the task once the request needs action.");
    }
    if (row.status !== "action_required") {
      throw new RequestActionError("illegal_transition", `A request that is ${row.status.replaceAll("_", " ")} has no task to complete.`);
    }
    const storeName = String((run.task as { store?: unknown } | null)?.store ?? "");
    const report = manualReport(run.action, storeName, input.counts);
    await completeManualRun(tx, { runId: run.id, staffId: input.actor.id, report }, clock);
    if (notes) await addNote(tx, { requestId: row.id, actor: input.actor, body: `Manual task (${storeName || "store"}, ${run.action}): ${notes}` }, clock);
  });
  const resumed = await resumeExecution(db, input.requestId, clock);
  return { resumed };
}
