/**
 * `npm run worker`: one BullMQ worker per queue, dispatching by job name to the processors (one file each).
 * Registers the schedulers, and on SIGTERM/SIGINT stops taking jobs and lets in-flight ones finish, for at most
 * WORKER_SHUTDOWN_TIMEOUT_MS, before closing.
 */
import { fileURLToPath } from "node:url";
import { Worker, type Job } from "bullmq";
import { closeDb, getDb } from "#db/client.server.ts";
import { recordSchedulerRun, schedulerIdOf } from "#app/models/schedules.server.ts";
import { closeStoreConnectors, keepStoreConnectors } from "#app/models/stores.server.ts";
import { getEnv, getEnvOrExit } from "#app/utils/env.server.ts";
import { logger as rootLogger } from "#app/utils/logger.server.ts";
import { closeMailer } from "#app/utils/mailer.server.ts";
import { closeRedis } from "#app/utils/redis.server.ts";
import { bullPrefix, createBullConnection } from "./connection.ts";
import type { Processor } from "./processor.ts";
import deadlineReminders from "./processors/deadline-reminders.ts";
import executeRequest from "./processors/execute-request.ts";
import executeStore from "./processors/execute-store.ts";
import expireRequests from "./processors/expire-requests.ts";
import finalizeRequest from "./processors/finalize-request.ts";
import matchDataPoints from "./processors/match-data-points.ts";
import reconcile from "./processors/reconcile.ts";
import retention from "./processors/retention.ts";
import sendAcknowledgement from "./processors/send-acknowledgement.ts";
import sendAgentConfirmation from "./processors/send-agent-confirmation.ts";
import sendCompletion from "./processors/send-completion.ts";
import sendExpiryNotice from "./processors/send-expiry-notice.ts";
import sendPackageCode from "./processors/send-package-code.ts";
import sendRequestEmail from "./processors/send-request-email.ts";
import sendStaffInvitation from "./processors/send-staff-invitation.ts";
import sendAnswerNotice from "./processors/send-answer-notice.ts";
import sendVerification from "./processors/send-verification.ts";
import { closeQueues, jobDefinitions, queueNames, type QueueName } from "./queues.ts";
import { registerSchedules } from "./schedules.ts";

export const processors: Processor[] = [
  sendVerification,
  sendAcknowledgement,
  reconcile,
  sendAgentConfirmation,
  deadlineReminders,
  expireRequests,
  retention,
  sendExpiryNotice,
  executeRequest,
  executeStore,
  finalizeRequest,
  matchDataPoints,
  sendCompletion,
  sendPackageCode,
  sendRequestEmail,
  sendStaffInvitation,
  sendAnswerNotice,
];

const log = rootLogger.child({ process: "worker" });

export type RunningWorker = { workers: Worker[]; close: (timeoutMs?: number) => Promise<void> };

export async function startWorker(options: { concurrency?: number; schedules?: boolean } = {}): Promise<RunningWorker> {
  const env = getEnv();
  const byName = new Map(processors.map((p) => [p.name, p]));
  const connections: ReturnType<typeof createBullConnection>[] = [];
  const workers = queueNames.map((queue: QueueName) => {
    const connection = createBullConnection();
    connections.push(connection);
    const worker = new Worker(
      queue,
      async (job: Job) => {
        const processor = byName.get(job.name as Processor["name"]);
        if (!processor || jobDefinitions[processor.name].queue !== queue) throw new Error(`no processor for job ${job.name} on ${queue}`);
        const started = Date.now();
        // A job made by a scheduler is one run of it, recorded in scheduler_runs (the operational view).
        const schedulerId = schedulerIdOf(job);
        const result = schedulerId
          ? await recordSchedulerRun(getDb(), { schedulerId, jobId: job.id, attempt: job.attemptsMade + 1 }, () => processor.run(job))
          : await processor.run(job);
        log.info({ queue, job: job.name, jobId: job.id, attempt: job.attemptsMade + 1, ms: Date.now() - started, result }, "job done");
        return result;
      },
      {
        connection,
        prefix: bullPrefix(),
        concurrency: options.concurrency ?? env.WORKER_CONCURRENCY,
        autorun: true,
        // A job whose worker died (SIGKILL, lost machine) is handed to another worker once its lock lapses.
        lockDuration: env.WORKER_LOCK_DURATION_MS,
        stalledInterval: env.WORKER_STALLED_INTERVAL_MS,
      },
    );
    worker.on("failed", (job, err) =>
      log.error({ queue, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err }, "job failed"),
    );
    worker.on("error", (err) => log.error({ queue, err }, "worker error"));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  if (options.schedules !== false) await registerSchedules();

  let closing: Promise<void> | undefined;
  const close = (timeoutMs = env.WORKER_SHUTDOWN_TIMEOUT_MS) => {
    closing ??= (async () => {
      // Graceful: stop fetching, wait for in-flight jobs; after the bound, force-close (those jobs are retried).
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
      ]);
      if (timedOut) {
        // Their locks lapse and BullMQ hands them to the next worker as stalled jobs (processors are idempotent).
        log.warn({ timeoutMs }, "in-flight jobs did not finish in time; forcing shutdown");
        await Promise.race([Promise.all(workers.map((w) => w.close(true))), new Promise((r) => setTimeout(r, 1000).unref())]);
      }
      for (const c of connections) c.disconnect();
      await closeStoreConnectors();
    })();
    return closing;
  };
  return { workers, close };
}

async function main() {
  getEnvOrExit();
  // A long-running worker keeps each store's connection pool open between jobs (ADR 021).
  keepStoreConnectors();
  const running = await startWorker();
  log.info({ queues: queueNames }, "worker started");
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "worker stopping");
    await running.close();
    // Connections close quickly unless a forced-off job still holds one (an SMTP send, a query): bounded too.
    await Promise.race([
      Promise.allSettled([closeQueues(), closeDb(), closeRedis(), closeMailer()]),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
    log.info("worker stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    log.fatal({ err }, "worker failed to start");
    process.exit(1);
  });
}
