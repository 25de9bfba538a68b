/**
 * `npm run worker` as a real process: SIGTERM lets the in-flight job finish (the mail is delivered and recorded),
 * and the wait is bounded (WORKER_SHUTDOWN_TIMEOUT_MS) when a job hangs. A slow SMTP server holds the job in flight.
 */
import { eq } from "drizzle-orm";
import { SMTPServer } from "smtp-server";
import { afterAll, describe, expect, it } from "vitest";
import { submitRequest } from "#app/models/requests.server.ts";
import { closeRedis } from "#app/utils/redis.server.ts";
import { getDb } from "#db/client.server.ts";
import { verificationChallenges } from "#db/schema/index.ts";
import { closeQueues } from "#jobs/queues.ts";
import { eventually, uniqueEmail } from "#tests/helpers/flow.ts";
import { startPortalProcess } from "#tests/helpers/processes.ts";

/** An SMTP server that holds every message for `delayMs` before accepting it. */
async function slowSmtp(delayMs: number) {
  let receiving = 0;
  let accepted = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _s, cb) {
      receiving++;
      stream.resume();
      stream.on("end", () => setTimeout(() => (accepted++, cb()), delayMs));
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    receiving: () => receiving,
    accepted: () => accepted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

afterAll(async () => {
  await closeQueues();
  await closeRedis();
});

const challengeOf = async (requestId: string) =>
  (await getDb().select().from(verificationChallenges).where(eq(verificationChallenges.requestId, requestId)))[0];

describe("worker shutdown", () => {
  it("finishes the in-flight job on SIGTERM, then exits 0", async () => {
    const smtp = await slowSmtp(1500);
    const worker = await startPortalProcess("jobs/worker.ts", { SMTP_URL: smtp.url, LOG_LEVEL: "info", WORKER_SHUTDOWN_TIMEOUT_MS: "10000" }, /worker started/);
    try {
      const { requestId } = await submitRequest(getDb(), { type: "access", email: uniqueEmail("shutdown"), region: "EU" });
      await eventually(async () => smtp.receiving() > 0, 15_000);
      const started = Date.now();
      const code = await worker.stop(); // SIGTERM while the SMTP server still holds the message
      expect(code).toBe(0);
      expect(smtp.accepted()).toBe(1);
      expect((await challengeOf(requestId))?.sentAt).toBeInstanceOf(Date); // the job completed, not abandoned
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(worker.logs.some((l) => l.includes("worker stopped"))).toBe(true);
    } finally {
      await worker.stop();
      await smtp.close();
    }
  });

  it("gives up waiting after WORKER_SHUTDOWN_TIMEOUT_MS when a job hangs", async () => {
    const smtp = await slowSmtp(20_000);
    const worker = await startPortalProcess("jobs/worker.ts", { SMTP_URL: smtp.url, LOG_LEVEL: "info", WORKER_SHUTDOWN_TIMEOUT_MS: "500" }, /worker started/);
    try {
      const { requestId } = await submitRequest(getDb(), { type: "access", email: uniqueEmail("hang"), region: "EU" });
      await eventually(async () => smtp.receiving() > 0, 15_000);
      const started = Date.now();
      expect(await worker.stop()).toBe(0);
      expect(Date.now() - started, worker.logs.slice(-6).join("\n")).toBeLessThan(5_000);
      expect(worker.logs.some((l) => l.includes("forcing shutdown"))).toBe(true);
      // Not marked sent: the job stays in Redis and is retried by the next worker (or reconcile).
      expect((await challengeOf(requestId))?.sentAt).toBeNull();
    } finally {
      await worker.stop();
      await smtp.close();
    }
  });
});
