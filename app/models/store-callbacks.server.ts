/**
 * Asynchronous answers of HTTP stores (docs/connectors.md, "Asynchronous answers"). A store whose map says
 * `connection.callbacks: true` may answer an erasure, a correction or an opt-out with `202 {"reference": "…"}`; its
 * store run then waits. Later the store POSTs the result to `<APP_URL>/api/stores/callback`, signed like the
 * portal's own calls (HMAC-SHA-256 with the store's shared secret over "<timestamp>.<raw body>", timestamps more
 * than 5 minutes off refused, constant-time comparison) and naming itself in `X-Portal-Store`. The result completes
 * the run (a counts-only report, checked against the same contract as a synchronous answer) or fails it with the
 * store's error code; then the execution continues. A repeated callback changes nothing (idempotent).
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { erasureReportFrom, updateReportFrom } from "#app/connectors/http/index.ts";
import { verifyPortalSignature } from "#app/connectors/http/signature.ts";
import { StoreError } from "#app/connectors/types.ts";
import type { Executor } from "#db/client.server.ts";
import { storeRuns } from "#db/schema/index.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { DomainError } from "./errors.ts";
import { resolveRef } from "./engine/values.ts";
import { continueAfterCallback } from "./execution.server.ts";
import { storeContext, type AsyncProgress } from "./stores.server.ts";

const callbackBody = z
  .object({
    reference: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/),
    result: z.unknown().optional(),
    error: z.object({ code: z.string().regex(/^[a-z0-9_]{1,60}$/) }).optional(),
  })
  .refine((b) => (b.result === undefined) !== (b.error === undefined), { message: "exactly one of result and error" });

export type CallbackInput = { store: string | null; timestamp: string | null; signature: string | null; body: string };

const refused = () => new DomainError("bad_signature", "The callback's signature is missing, stale or wrong.", 401);

/** Verifies and records one callback; returns whether it completed a run now or had been recorded already. */
export async function handleStoreCallback(db: Executor, input: CallbackInput, clock: Clock = systemClock, env: Record<string, string | undefined> = process.env) {
  if (!input.store || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(input.store)) throw refused();
  let found: Awaited<ReturnType<typeof storeContext>>;
  try {
    found = await storeContext(db, input.store, env);
  } catch {
    throw refused(); // an unknown store is answered like a bad signature: nothing to learn by probing names
  }
  const { context } = found;
  const store = found.store.id;
  if (context.map.kind !== "http" || !context.map.connection.callbacks || found.store.name !== input.store) throw refused();
  let secret: string;
  try {
    secret = resolveRef(context.map.connection.secret, "connection.secret", context.secrets, "secret", env);
  } catch {
    throw new DomainError("store_misconfigured", "The store's secret is not available.", 503);
  }
  const check = verifyPortalSignature({ secret, body: input.body, timestamp: input.timestamp ?? undefined, signature: input.signature ?? undefined, now: clock().getTime() });
  if (!check.ok) throw refused();

  let parsed: z.infer<typeof callbackBody>;
  try {
    const r = callbackBody.safeParse(JSON.parse(input.body));
    if (!r.success) throw new Error("contract");
    parsed = r.data;
  } catch {
    throw new DomainError("bad_body", 'The body must be JSON: {"reference": "…", "result": {…}} or {"reference": "…", "error": {"code": "…"}}.', 400);
  }

  const outcome = await db.transaction(async (tx) => {
    const [run] = await tx
      .select()
      .from(storeRuns)
      .where(
        and(
          eq(storeRuns.storeId, store),
          inArray(storeRuns.status, ["waiting", "completed", "failed"]),
          sql`${storeRuns.progress}->'async'->>'reference' = ${parsed.reference}`,
        ),
      )
      .for("update")
      .limit(1);
    if (!run) throw new DomainError("unknown_reference", "No work of this store is waiting under this reference.", 404);
    if (run.status !== "waiting") return { status: "already_recorded" as const, runId: run.id, requestId: run.requestId };
    const progress = run.progress as { async: AsyncProgress };
    const now = clock();
    if (parsed.error) {
      await tx
        .update(storeRuns)
        .set({ status: "failed", error: `http_async_failed: the store reported ${parsed.error.code}`, progress: { async: { ...progress.async, answeredAt: now.toISOString() } }, updatedAt: now })
        .where(eq(storeRuns.id, run.id));
      await appendEvent(tx, { requestId: run.requestId, actorType: "system", actorId: "store-callback", action: "store.async_failed", details: { storeId: store, store: context.store, code: parsed.error.code } }, clock);
      return { status: "failed" as const, runId: run.id, requestId: run.requestId };
    }
    let report: { totals: Record<string, number> };
    try {
      if (run.action === "erasure") report = erasureReportFrom(context.store, parsed.result);
      else if (run.action === "correction" || run.action === "opt_out") report = updateReportFrom(context.store, run.action, progress.async.targets ?? [], parsed.result);
      else throw new StoreError("http_bad_response", "access is answered synchronously");
    } catch (error) {
      throw new DomainError("bad_body", error instanceof StoreError ? error.message : "The result does not follow the contract.", 400);
    }
    await tx
      .update(storeRuns)
      .set({
        status: "completed",
        report: { ...report, async: true } as unknown as Record<string, unknown>,
        progress: { async: { ...progress.async, answeredAt: now.toISOString() } },
        error: null,
        finishedAt: now,
        updatedAt: now,
      })
      .where(eq(storeRuns.id, run.id));
    await appendEvent(
      tx,
      {
        requestId: run.requestId,
        actorType: "system",
        actorId: "store-callback",
        action: run.action === "erasure" ? "store.erasure_completed" : run.action === "correction" ? "store.correction_completed" : "store.opt_out_completed",
        details: { storeId: store, store: context.store, totals: report.totals, async: true },
      },
      clock,
    );
    return { status: "completed" as const, runId: run.id, requestId: run.requestId };
  });
  if (outcome.status !== "already_recorded") await continueAfterCallback(db, outcome.requestId, outcome.runId, clock);
  return { status: outcome.status };
}
