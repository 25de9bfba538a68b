/**
 * Losing Redis loses no request: Postgres says what is pending, and the reconcile job (run by its scheduler when a
 * worker starts) puts the work back. This file owns Redis database 9 so it can really FLUSHDB mid-flow.
 */
import { Redis } from "ioredis";
import { afterAll, describe, expect, it, vi } from "vitest";
import { getRequestByReference, submitRequest } from "#app/models/requests.server.ts";
import { verifyCode } from "#app/models/verification.server.ts";
import { getDb } from "#db/client.server.ts";
import { getQueue } from "#jobs/queues.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { acknowledgementMailFor, codeFromMail, eventually, mailsTo, uniqueEmail, verificationMailFor } from "#tests/helpers/flow.ts";
import { stopWorkerAndConnections } from "#tests/helpers/worker.ts";

const REDIS_DB_URL = vi.hoisted(() => {
  const url = `${process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"}/9`;
  process.env.REDIS_URL = url;
  return url;
});

const redis = new Redis(REDIS_DB_URL);
let worker: RunningWorker | undefined;

afterAll(async () => {
  await stopWorkerAndConnections(worker);
  await redis.flushdb();
  redis.disconnect();
});

describe("reconcile", () => {
  it("re-enqueues verification and acknowledgement work after Redis is flushed mid-flow", async () => {
    const db = getDb();
    const email = uniqueEmail("reconcile");
    const { reference } = await submitRequest(db, { type: "access", email, region: "EU" });
    expect(await getQueue("email").getJobCounts("waiting")).toMatchObject({ waiting: 1 });

    // Redis loses everything before any worker ran.
    await redis.flushdb();
    expect(await redis.dbsize()).toBe(0);

    // A worker starts: its scheduler runs reconcile immediately, which finds the unsent challenge in Postgres.
    worker = await startWorker({ concurrency: 2 });
    const code = codeFromMail(await verificationMailFor(email));

    // Stop the worker, verify (the acknowledgement job is queued), and lose Redis again.
    await worker.close(5000);
    expect((await verifyCode(db, reference, code)).ok).toBe(true);
    await redis.flushdb();

    worker = await startWorker({ concurrency: 2 });
    await acknowledgementMailFor(email, reference);
    await eventually(async () => (await getRequestByReference(db, reference))?.acknowledgedAt);

    // Exactly one of each, although reconcile ran several times.
    await getQueue("maintenance").add("reconcile", {});
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(email)).toHaveLength(2);
  });

  it("registers a single reconcile scheduler however many workers start", async () => {
    const others = await Promise.all([startWorker({ concurrency: 1 }), startWorker({ concurrency: 1 })]);
    const schedulers = await getQueue("maintenance").getJobSchedulers();
    expect(schedulers.filter((s) => s.key === "reconcile" || s.id === "reconcile")).toHaveLength(1);
    await Promise.all(others.map((w) => w.close(5000)));
  });
});
