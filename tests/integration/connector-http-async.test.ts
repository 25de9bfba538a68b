/**
 * Asynchronous HTTP answers, end to end with real HTTP servers and the real worker: a store service that answers
 * erasure and correction with 202 and a reference, and the portal's callback route (app/routes/api.stores.callback.ts,
 * served by the real web app — server/app.ts and the compiled build, CSRF and body-type checks included) receiving the
 * store's signed result. The run waits, the request stays processing, the callback completes it; replays, bad or
 * stale signatures, unknown references and malformed bodies change nothing; a reported error fails the store.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signPortalBody, verifyPortalSignature } from "#app/connectors/http/signature.ts";
import { listEvents } from "#app/models/audit.server.ts";
import { confirmCorrection } from "#app/models/corrections.server.ts";
import { CALLBACK_TIMEOUT_ERROR, expireStoreCallbacks, retryStore } from "#app/models/execution.server.ts";
import { insertRequest } from "#app/models/requests.server.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { createApp } from "#server/app.ts";
import { requests, storeRuns, type RequestType } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { eventually } from "#tests/helpers/flow.ts";
import { loadBuild } from "#tests/helpers/web.ts";
import { stopWorkerAndConnections } from "#tests/helpers/worker.ts";
import { addStaff } from "./console-fixtures.ts";
import { verifiedRequest } from "./execution-fixtures.ts";

const PORTAL_PORT = vi.hoisted(() => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  process.env.APP_URL = `http://127.0.0.1:${port}`;
  process.env.EXECUTION_ATTEMPTS = "2";
  return port;
});

const SECRET = randomBytes(32).toString("base64url");
type Accepted = { reference: string; action: string; callbackUrl: string };
const accepted: Accepted[] = [];
let store: Server;
let portal: Server;
let worker: RunningWorker;
const db = () => getDb();

const read = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};
const send = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

beforeAll(async () => {
  // The company's service: verifies the portal's signature, accepts erasures and corrections for later.
  store = createServer((req, res) => {
    void (async () => {
      const raw = await read(req);
      const check = verifyPortalSignature({ secret: SECRET, body: raw, timestamp: req.headers["x-portal-timestamp"] as string, signature: req.headers["x-portal-signature"] as string });
      if (!check.ok) return send(res, 401, { error: "bad_signature" });
      const body = JSON.parse(raw) as { action: string; callbackUrl?: string; dryRun?: boolean };
      if (req.url === "/ping") return send(res, 200, { ok: true });
      // Dry runs are always answered at once (the portal records an erasure's plan before it erases).
      if (body.dryRun) return send(res, 200, { collections: { accounts: { matched: 1, deleted: 1, masked: 0, kept: 0, bases: [] } } });
      if (req.url === "/access") return send(res, 200, { collections: { accounts: [] } });
      if (!body.callbackUrl) return send(res, 400, { error: "callback_expected" });
      const reference = `job-${accepted.length + 1}-${randomBytes(3).toString("hex")}`;
      accepted.push({ reference, action: body.action, callbackUrl: body.callbackUrl });
      return send(res, 202, { reference });
    })();
  });
  await new Promise<void>((r) => store.listen(0, "127.0.0.1", () => r()));
  // The portal itself (server/app.ts + the compiled build) at APP_URL: the callbacks pass its whole middleware stack.
  portal = createApp(getEnv(), await loadBuild()).listen(PORTAL_PORT, "127.0.0.1");
  await new Promise<void>((r) => portal.once("listening", () => r()));
  const { port } = store.address() as { port: number };
  await applyStoreMap(db(), {
    name: "billing",
    title: "Billing system",
    kind: "http",
    connection: { baseUrl: `http://127.0.0.1:${port}`, secret: SECRET, tls: { allowHttp: true }, callbacks: true },
    metadata: { purposes: ["Invoices"], retention: "10 years", source: "You" },
    collections: { accounts: { category: "contact", fields: { id: { category: "identifiers" }, email: { identity: "email" }, holder: { subjectAttribute: "name" } } } },
  });
  worker = await startWorker({ concurrency: 2, schedules: false });
}, 60_000);

afterAll(async () => {
  await stopWorkerAndConnections(worker);
  await new Promise((r) => store?.close(r));
  await new Promise((r) => portal?.close(r));
});

const approvedRequest = (type: RequestType) => verifiedRequest(db(), { type, email: `async-${randomBytes(3).toString("hex")}@example.com`, region: "EU" });
const statusOf = async (id: string) => (await db().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;
const runOf = async (id: string) => (await db().select().from(storeRuns).where(eq(storeRuns.requestId, id)))[0]!;

/** The store posts its result, signed (timestamp: now unless given). */
function callback(job: Accepted, payload: Record<string, unknown>, opts: { secret?: string; timestamp?: number; store?: string } = {}) {
  const body = JSON.stringify({ reference: job.reference, ...payload });
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(job.callbackUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-portal-store": opts.store ?? "billing",
      "x-portal-timestamp": String(timestamp),
      "x-portal-signature": signPortalBody(opts.secret ?? SECRET, timestamp, body),
    },
    body,
  });
}

describe("asynchronous HTTP answers", () => {
  it("an erasure accepted with 202 waits; the signed callback completes it; replays and forgeries change nothing", async () => {
    const { id } = await approvedRequest("deletion");
    await enqueue("execute-request", { requestId: id });
    const job = await eventually(async () => accepted.find((a) => a.action === "erasure"), 30_000, 100);
    expect(job.callbackUrl).toBe(`${process.env.APP_URL}/api/stores/callback`);
    await eventually(async () => (await runOf(id)).status === "waiting", 30_000, 100);
    await eventually(async () => (await listEvents(db(), id)).some((e) => e.action === "store.async_accepted"), 30_000, 100);
    await new Promise((r) => setTimeout(r, 500)); // the finalizer ran and left the request processing
    expect(await statusOf(id)).toBe("processing");
    expect((await runOf(id)).progress).toMatchObject({ async: { reference: job.reference } });

    const result = { collections: { accounts: { matched: 1, deleted: 1, masked: 0, kept: 0, bases: [] } } };
    // Forged, stale, unknown and malformed callbacks are refused and record nothing.
    expect((await callback(job, { result }, { secret: randomBytes(32).toString("base64url") })).status).toBe(401);
    expect((await callback(job, { result }, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(401);
    expect((await callback(job, { result }, { store: "nonexistent" })).status).toBe(401);
    expect((await callback({ ...job, reference: "job-unknown" }, { result })).status).toBe(404);
    const bad = await callback(job, { result: { collections: { accounts: { matched: -1 } } } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "bad_body" });
    // Not JSON: refused by the server's body-type check before the route (the CSRF check does not apply here).
    const form = await fetch(job.callbackUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "reference=x" });
    expect(form.status).toBe(415);
    expect((await runOf(id)).status).toBe("waiting");

    const ok = await callback(job, { result });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, status: "completed" });
    await eventually(async () => (await statusOf(id)) === "completed", 30_000, 100);
    expect((await runOf(id)).report).toMatchObject({ totals: { matched: 1, deleted: 1 }, async: true });
    const replay = await callback(job, { result: { collections: { accounts: { matched: 9, deleted: 9, masked: 0, kept: 0, bases: [] } } } });
    expect(await replay.json()).toEqual({ ok: true, status: "already_recorded" });
    expect((await runOf(id)).report).toMatchObject({ totals: { matched: 1, deleted: 1 } });
    expect((await listEvents(db(), id)).filter((e) => e.action === "store.erasure_completed")).toHaveLength(1);
  }, 90_000);

  it("a correction accepted with 202 fails when the store reports an error: staff see its code", async () => {
    const processor = await addStaff(db(), "processor");
    const { id } = await insertRequest(db(), { type: "correction", email: `async-fix-${randomBytes(3).toString("hex")}@example.com`, region: "EU", receivedAt: new Date() });
    await db().update(requests).set({ status: "in_review", verifiedAt: new Date(), verificationLevel: 1 }).where(eq(requests.id, id));
    await confirmCorrection(db(), { requestId: id, actor: { id: processor.id, role: "processor" }, values: { name: "Ada King" } });
    await db().update(requests).set({ status: "approved" }).where(eq(requests.id, id));
    const before = accepted.length;
    await enqueue("execute-request", { requestId: id });
    const job = await eventually(async () => accepted.slice(before).find((a) => a.action === "correction"), 30_000, 100);
    await eventually(async () => (await runOf(id)).status === "waiting", 30_000, 100);
    expect((await runOf(id)).progress).toMatchObject({ async: { reference: job.reference, targets: ["name"] } });

    expect((await callback(job, { error: { code: "account_locked" } })).status).toBe(200);
    await eventually(async () => (await statusOf(id)) === "action_required", 30_000, 100);
    expect(await runOf(id)).toMatchObject({ status: "failed", error: "http_async_failed: the store reported account_locked" });
    expect((await listEvents(db(), id)).find((e) => e.action === "request.action_required")?.details).toMatchObject({ code: "store_failed", errors: ["http_async_failed"] });
    // A store already had the values: they can no longer be changed (a retry must write the same).
    await expect(confirmCorrection(db(), { requestId: id, actor: { id: processor.id, role: "processor" }, values: { name: "Ada Byron" } })).rejects.toMatchObject({ code: "correction_started", status: 409 });
  }, 90_000);

  it("a store that never calls back: after STORE_CALLBACK_TIMEOUT_HOURS the run fails, the request needs action, staff can retry; a late callback changes nothing", async () => {
    const { id } = await approvedRequest("deletion");
    const before = accepted.length;
    await enqueue("execute-request", { requestId: id });
    const job = await eventually(async () => accepted.slice(before).find((a) => a.action === "erasure"), 30_000, 100);
    await eventually(async () => (await runOf(id)).status === "waiting", 30_000, 100);

    // Within the window nothing happens; past it (the run last changed 73 hours ago) the run fails.
    expect(await expireStoreCallbacks(db())).toBe(0);
    expect((await runOf(id)).status).toBe("waiting");
    await db().update(storeRuns).set({ updatedAt: new Date(Date.now() - 73 * 3_600_000) }).where(eq(storeRuns.requestId, id));
    expect(await expireStoreCallbacks(db())).toBe(1);
    expect(await expireStoreCallbacks(db())).toBe(0);
    expect(await runOf(id)).toMatchObject({ status: "failed", error: CALLBACK_TIMEOUT_ERROR });
    expect(await statusOf(id)).toBe("action_required");
    const events = await listEvents(db(), id);
    expect(events.find((e) => e.action === "store.async_timeout")?.details).toMatchObject({ hours: 72 });
    expect(events.find((e) => e.action === "request.action_required")?.details).toMatchObject({ code: "store_failed", errors: ["http_async_timeout"] });

    const result = { collections: { accounts: { matched: 1, deleted: 1, masked: 0, kept: 0, bases: [] } } };
    const late = await callback(job, { result });
    expect(await late.json()).toEqual({ ok: true, status: "already_recorded" });
    expect((await runOf(id)).status).toBe("failed");

    // Staff retry the store: it is asked again (a new reference) and this time it answers.
    const admin = await addStaff(db(), "admin");
    const retried = accepted.length;
    await retryStore(db(), id, (await runOf(id)).storeId, { staffId: admin.id });
    const again = await eventually(async () => accepted.slice(retried).find((a) => a.action === "erasure"), 30_000, 100);
    expect(again.reference).not.toBe(job.reference);
    expect((await callback(again, { result })).status).toBe(200);
    await eventually(async () => (await statusOf(id)) === "completed", 30_000, 100);
  }, 90_000);
});
