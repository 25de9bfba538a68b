/** The real BullMQ worker in a test file, and the connections every worker or web test closes at its end. */
import { afterAll, beforeAll } from "vitest";
import { closeMailer } from "#app/utils/mailer.server.ts";
import { closeRedis } from "#app/utils/redis.server.ts";
import { closeQueues } from "#jobs/queues.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";

/** Closes the queues, the mailer and Redis (what the process opened for jobs and email). */
export async function closeConnections(): Promise<void> {
  await closeQueues();
  await closeMailer();
  await closeRedis();
}

/** Stops the worker (if one was started), then closes the queues, the mailer and Redis: every worker test's `afterAll`. */
export async function stopWorkerAndConnections(worker: RunningWorker | undefined): Promise<void> {
  await worker?.close(5000);
  await closeConnections();
}

/** A real worker (no schedules, concurrency 2) for the tests of one file: started before them, stopped after them with the connections. */
export function workerForTests(): void {
  let worker: RunningWorker | undefined;
  beforeAll(async () => {
    worker = await startWorker({ schedules: false, concurrency: 2 });
  });
  afterAll(async () => {
    await stopWorkerAndConnections(worker);
  });
}
