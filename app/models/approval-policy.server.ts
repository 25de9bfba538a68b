/**
 * Approval policy: per (regime, request type), is a request that reached its required verification level approved
 * automatically, or does it wait for staff review? Built-in default: opt-outs and limits of sensitive data are
 * automatic (they need no verification and the law expects them acted on quickly), everything else is reviewed.
 * Admins change it on /admin/policy; every change is an audit event.
 *
 * `applyApprovalPolicy` is called where a request becomes verified (verification.server.ts after a correct code,
 * requests.server.ts for requests that need no verification). It runs after the verification committed, in its own
 * transaction: if anything fails in between, the request simply stays `verified` and waits for staff — the safe side.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import {
  approvalModes,
  approvalPolicies,
  regimes,
  requests,
  requestTypes,
  type ApprovalMode,
  type Regime,
  type RequestType,
} from "#db/schema/index.ts";
import { logger } from "#app/utils/logger.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { isCorrectionConfirmed } from "./corrections.server.ts";
import { DomainError } from "./errors.ts";
import { queueExecution } from "./request-actions.server.ts";

export { approvalModes, type ApprovalMode };

/** Types approved automatically unless an admin changed it. */
export const AUTOMATIC_BY_DEFAULT: readonly RequestType[] = ["opt_out", "limit_sensitive"];

export function defaultApprovalMode(_regime: Regime, type: RequestType): ApprovalMode {
  return AUTOMATIC_BY_DEFAULT.includes(type) ? "automatic" : "review";
}

export type ApprovalPolicyEntry = {
  regime: Regime;
  type: RequestType;
  mode: ApprovalMode;
  /** True when the mode is the built-in default (no row, or a row equal to it). */
  isDefault: boolean;
  updatedAt: Date | null;
  updatedBy: string | null;
};

/** The whole matrix, every (regime, type) pair, in schema order. */
export async function getApprovalPolicy(db: Executor): Promise<ApprovalPolicyEntry[]> {
  const rows = await db.select().from(approvalPolicies);
  const byKey = new Map(rows.map((r) => [`${r.regime}:${r.type}`, r]));
  return regimes.flatMap((regime) =>
    requestTypes.map((type) => {
      const row = byKey.get(`${regime}:${type}`);
      const mode = row?.mode ?? defaultApprovalMode(regime, type);
      return { regime, type, mode, isDefault: mode === defaultApprovalMode(regime, type), updatedAt: row?.updatedAt ?? null, updatedBy: row?.updatedBy ?? null };
    }),
  );
}

/** The mode of one pair (a configured row, else the default). */
export async function approvalModeFor(db: Executor, regime: Regime, type: RequestType): Promise<ApprovalMode> {
  const [row] = await db
    .select({ mode: approvalPolicies.mode })
    .from(approvalPolicies)
    .where(and(eq(approvalPolicies.regime, regime), eq(approvalPolicies.type, type)))
    .limit(1);
  return row?.mode ?? defaultApprovalMode(regime, type);
}

export type ApprovalPolicyChange = { regime: Regime; type: RequestType; mode: ApprovalMode };

/**
 * Sets the modes given (pairs not mentioned keep theirs), in one transaction; one audit event
 * `approval_policy.changed` per pair whose mode actually changed, naming the admin. Returns the changes made.
 * The caller checks that the actor is an admin who passed a step-up (the route does; the model checks the role).
 */
export async function setApprovalPolicy(
  db: Executor,
  actor: { id: string; role: string },
  changes: readonly ApprovalPolicyChange[],
  clock: Clock = systemClock,
): Promise<{ regime: Regime; type: RequestType; from: ApprovalMode; to: ApprovalMode }[]> {
  if (actor.role !== "admin") throw new DomainError("forbidden", "Only admins can change the approval policy.", 403);
  for (const c of changes) {
    if (!regimes.includes(c.regime) || !requestTypes.includes(c.type) || !approvalModes.includes(c.mode)) {
      throw new DomainError("invalid_policy", "The approval policy names an unknown law, request type or mode.", 400);
    }
  }
  return db.transaction(async (tx) => {
    // Serialize concurrent edits of the matrix (two admins saving at once): one transaction-scoped lock.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('approval_policies'))`);
    const current = new Map((await tx.select().from(approvalPolicies)).map((r) => [`${r.regime}:${r.type}`, r.mode]));
    const now = clock();
    const made: { regime: Regime; type: RequestType; from: ApprovalMode; to: ApprovalMode }[] = [];
    for (const c of changes) {
      const from = current.get(`${c.regime}:${c.type}`) ?? defaultApprovalMode(c.regime, c.type);
      if (from === c.mode) continue;
      await tx
        .insert(approvalPolicies)
        .values({ regime: c.regime, type: c.type, mode: c.mode, updatedAt: now, updatedBy: actor.id })
        .onConflictDoUpdate({ target: [approvalPolicies.regime, approvalPolicies.type], set: { mode: c.mode, updatedAt: now, updatedBy: actor.id } });
      made.push({ regime: c.regime, type: c.type, from, to: c.mode });
    }
    // Audit events last (the chain lock is held until commit, ADR 004).
    for (const m of made) {
      await appendEvent(tx, { actorType: "staff", actorId: actor.id, action: "approval_policy.changed", details: m }, clock);
    }
    return made;
  });
}

export type ApprovalOutcome = "approved" | "review" | "not_ready" | "missing";

/**
 * The hook where a request becomes verified: if it reached its required verification level and the policy of its
 * (regime, type) is automatic, it moves `verified` → `approved` with the audit event `request.approved`
 * (actor: system `approval-policy`), then its execution is started (see `queueExecution`). Otherwise nothing
 * changes: `review` (staff decide) or `not_ready` (not `verified`, verification below the required level, or under a
 * legal hold). Safe to call twice.
 */
export async function applyApprovalPolicy(db: Executor, requestId: string, clock: Clock = systemClock): Promise<ApprovalOutcome> {
  const outcome = await db.transaction(async (tx): Promise<ApprovalOutcome> => {
    // NO KEY UPDATE: see lockRequest in request-actions.server.ts (FOR UPDATE would deadlock with audit appends).
    const [row] = await tx.select().from(requests).where(eq(requests.id, requestId)).for("no key update");
    if (!row) return "missing";
    if (row.status !== "verified" || row.verificationLevel < row.requiredVerificationLevel || row.legalHoldSince) return "not_ready";
    const mode = await approvalModeFor(tx, row.regime, row.type);
    if (mode !== "automatic") return "review";
    // A correction's new values are always checked by a person first (corrections.server.ts).
    if (row.type === "correction" && !(await isCorrectionConfirmed(tx, row.id))) return "review";
    const now = clock();
    await tx.update(requests).set({ status: "approved", updatedAt: now }).where(eq(requests.id, row.id));
    await appendEvent(
      tx,
      {
        requestId: row.id,
        actorType: "system",
        actorId: "approval-policy",
        action: "request.approved",
        details: { policy: "automatic", regime: row.regime, type: row.type, level: row.verificationLevel },
      },
      clock,
    );
    return "approved";
  });
  if (outcome === "approved") await queueExecution(requestId);
  return outcome;
}

/** `applyApprovalPolicy` for the verification paths: never throws (the request then waits for staff). */
export async function applyApprovalPolicySafely(db: Executor, requestId: string, clock: Clock = systemClock): Promise<ApprovalOutcome | "failed"> {
  try {
    return await applyApprovalPolicy(db, requestId, clock);
  } catch (err) {
    logger.warn({ err, requestId }, "approval policy not applied; the request waits for staff review");
    return "failed";
  }
}
