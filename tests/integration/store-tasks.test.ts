/**
 * The console's execution actions and the requester's answer at the model level, where races and edge states are
 * easy to set up: two people completing one task at once, a task while other stores still run, an access task's
 * rows, a run abandoned by its worker, auditors, and two answers sent at once. Real Postgres and Redis (the flows
 * are queued; no worker runs them here).
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordAnswer } from "#app/models/answers.server.ts";
import { listEvents } from "#app/models/audit.server.ts";
import { requestMoreInformation, RequestActionError } from "#app/models/request-actions.server.ts";
import { completeManualTask, manualReport, retryStoreRun, splitRunError, storeRunViews } from "#app/models/store-tasks.server.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestAnswers, requests, storeRuns } from "#db/schema/index.ts";
import { closeConnections } from "#tests/helpers/worker.ts";
import { addRequest, addStaff } from "./console-fixtures.ts";

const db = () => getDb();
let storeId: string;
let otherStoreId: string;
let processor: { id: string; role: "processor" };
let admin: { id: string; role: "admin" };

beforeAll(async () => {
  const manual = (name: string) =>
    applyStoreMap(db(), {
      name,
      title: name,
      kind: "manual",
      metadata: { purposes: ["Support"], retention: "2 years", source: "You" },
      connection: { instructions: `Handle the request in ${name}.` },
    });
  storeId = (await manual("crm")).store.id;
  otherStoreId = (await manual("archive")).store.id;
  processor = { id: (await addStaff(db(), "processor", "tasks")).id, role: "processor" };
  admin = { id: (await addStaff(db(), "admin", "tasks")).id, role: "admin" };
});

afterAll(async () => {
  await closeConnections();
});

const statusOf = async (id: string) => (await db().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;

async function waitingRequest(type: "deletion" | "access" = "deletion", status: "action_required" | "processing" = "action_required") {
  const r = await addRequest(db(), { type, status });
  const action = type === "deletion" ? "erasure" : "access";
  const [run] = await db()
    .insert(storeRuns)
    .values({ requestId: r.id, storeId, action, status: "waiting", attempts: 1, task: { store: "crm", action, instructions: "Handle the request in crm." } })
    .returning();
  return { r, run: run! };
}

describe("manual tasks", () => {
  it("two people recording the same task at once: one succeeds, the other is told it is done; the request resumes once", async () => {
    const { r, run } = await waitingRequest();
    const attempt = (actor: typeof processor | typeof admin) => completeManualTask(db(), { requestId: r.id, runId: run.id, actor, counts: { deleted: 2, masked: 0, kept: 0 } });
    const results = await Promise.allSettled([attempt(processor), attempt(admin)]);
    expect(results.filter((x) => x.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((x) => x.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(RequestActionError);
    expect((refused.reason as RequestActionError).userMessage).toContain("not waiting for a person");
    expect(await statusOf(r.id)).toBe("processing"); // resumed: the finalizer is queued
    const actions = (await listEvents(db(), r.id)).map((e) => e.action);
    expect(actions.filter((a) => a === "store.manual_completed")).toHaveLength(1);
  });

  it("records an access task's rows; refuses while other stores still run, and for auditors", async () => {
    const { r, run } = await waitingRequest("access");
    await expect(completeManualTask(db(), { requestId: r.id, runId: run.id, actor: processor, counts: {} })).rejects.toMatchObject({ userMessage: "Enter the number of rows found (0 if none)." });
    await expect(completeManualTask(db(), { requestId: r.id, runId: run.id, actor: { id: processor.id, role: "auditor" }, counts: { rows: 1 } })).rejects.toMatchObject({ code: "forbidden", status: 403 });
    await completeManualTask(db(), { requestId: r.id, runId: run.id, actor: processor, counts: { rows: 7 }, notes: "" });
    expect((await db().select().from(storeRuns).where(eq(storeRuns.id, run.id)))[0]!).toMatchObject({ status: "completed", report: { manual: true, rows: 7 } });

    const running = await waitingRequest("deletion", "processing");
    await expect(completeManualTask(db(), { requestId: running.r.id, runId: running.run.id, actor: processor, counts: { deleted: 1, masked: 0, kept: 0 } })).rejects.toMatchObject({
      code: "illegal_transition",
      userMessage: "The other stores are still being processed: record the task once the request needs action.",
    });
    const views = await storeRunViews(db(), (await db().select().from(requests).where(eq(requests.id, running.r.id)))[0]!, processor);
    expect(views).toEqual([expect.objectContaining({ status: "waiting", canComplete: false, task: { instructions: "Handle the request in crm.", team: null } })]);
  });

  it("reads counts strictly", () => {
    expect(() => manualReport("erasure", "crm", { deleted: 1, masked: 0 })).toThrow("Enter the number of rows kept (0 if none).");
    expect(() => manualReport("erasure", "crm", { deleted: 1.5, masked: 0, kept: 0 })).toThrow("must be a whole number");
    expect(() => manualReport("access", "crm", { rows: -1 })).toThrow("must be a whole number");
    expect(manualReport("erasure", "crm", { deleted: 1, masked: 2, kept: 3 })).toMatchObject({ totals: { matched: 6, deleted: 1, masked: 2, kept: 3 }, manual: true });
    expect(splitRunError("store_unreachable: cannot reach the database (ECONNREFUSED)")).toEqual({ code: "store_unreachable", message: "cannot reach the database (ECONNREFUSED)" });
    expect(splitRunError("internal_error")).toMatchObject({ code: "internal_error", message: expect.stringContaining("worker's log") });
  });
});

describe("retrying a store", () => {
  it("allows a run its worker abandoned (pending while the request needs action), refuses done and waiting ones and auditors", async () => {
    const r = await addRequest(db(), { type: "deletion", status: "action_required" });
    await db().insert(storeRuns).values([
      { requestId: r.id, storeId, action: "erasure", status: "pending", attempts: 2 },
      { requestId: r.id, storeId: otherStoreId, action: "erasure", status: "completed", attempts: 1, report: { totals: { deleted: 1, masked: 0, kept: 0 } } },
    ]);
    await expect(retryStoreRun(db(), { requestId: r.id, storeId, actor: { id: processor.id, role: "auditor" } })).rejects.toMatchObject({ status: 403 });
    await expect(retryStoreRun(db(), { requestId: r.id, storeId: otherStoreId, actor: processor })).rejects.toMatchObject({ userMessage: "This store is already done." });
    await retryStoreRun(db(), { requestId: r.id, storeId, actor: admin });
    expect(await statusOf(r.id)).toBe("processing");
    expect((await listEvents(db(), r.id)).find((e) => e.action === "store.retry_requested")).toMatchObject({ actorType: "staff", actorId: admin.id });

    const waiting = await waitingRequest();
    await expect(retryStoreRun(db(), { requestId: waiting.r.id, storeId, actor: processor })).rejects.toMatchObject({ userMessage: "This store waits for a person: record its task as done instead." });
    const notRunning = await addRequest(db(), { type: "deletion", status: "verified" });
    await expect(retryStoreRun(db(), { requestId: notRunning.id, storeId, actor: processor })).rejects.toMatchObject({ userMessage: "A request that is verified has no store to retry." });
  });
});

describe("the requester's answer", () => {
  it("two answers sent at once: exactly one is stored, the other is refused", async () => {
    const r = await addRequest(db(), { type: "access", status: "in_review" });
    await requestMoreInformation(db(), { requestId: r.id, actor: processor, message: "Which order?" });
    const results = await Promise.allSettled([recordAnswer(db(), { requestId: r.id, body: "SO-1" }), recordAnswer(db(), { requestId: r.id, body: "SO-2" })]);
    expect(results.map((x) => x.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(await db().select().from(requestAnswers).where(eq(requestAnswers.requestId, r.id))).toHaveLength(1);
    expect(await statusOf(r.id)).toBe("in_review");
    await expect(recordAnswer(db(), { requestId: r.id, body: "\n \r\n" })).rejects.toMatchObject({ userMessage: "Please write your answer." });
  });
});
