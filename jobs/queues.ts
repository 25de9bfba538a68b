/**
 * Typed queue definitions. Every job's payload is a zod schema of ids only — never personal data or secrets.
 * Job ids are deterministic (`<job>-<id>`) so enqueueing the same work twice while it waits is a no-op, and
 * processors re-read state from Postgres so running a job twice is harmless (BullMQ is at-least-once).
 */
import { FlowProducer, Queue, type JobsOptions } from "bullmq";
import { z } from "zod";
import { bullPrefix, createBullConnection } from "./connection.ts";

export const jobDefinitions = {
  "send-verification": { queue: "email", payload: z.object({ challengeId: z.uuid() }).strict() },
  "send-acknowledgement": { queue: "email", payload: z.object({ requestId: z.uuid() }).strict() },
  "send-agent-confirmation": { queue: "email", payload: z.object({ challengeId: z.uuid() }).strict() },
  reconcile: { queue: "maintenance", payload: z.object({}).strict() },
  "deadline-reminders": { queue: "maintenance", payload: z.object({}).strict() },
  "expire-requests": { queue: "maintenance", payload: z.object({}).strict() },
  retention: { queue: "maintenance", payload: z.object({}).strict() },
  "send-expiry-notice": { queue: "email", payload: z.object({ requestId: z.uuid() }).strict() },
  // Execution of an approved request (app/models/execution.server.ts): execute-request starts a flow of one
  // execute-store job per connected store under a finalize-request parent.
  "execute-request": { queue: "execution", payload: z.object({ requestId: z.uuid() }).strict() },
  "execute-store": { queue: "execution", payload: z.object({ requestId: z.uuid(), storeId: z.uuid() }).strict() },
  "finalize-request": { queue: "execution", payload: z.object({ requestId: z.uuid() }).strict() },
  "match-data-points": { queue: "execution", payload: z.object({ requestId: z.uuid() }).strict() },
  "send-completion": { queue: "email", payload: z.object({ requestId: z.uuid() }).strict() },
  "send-package-code": { queue: "email", payload: z.object({ codeId: z.uuid() }).strict() },
  /** A requester email caused by a staff action (denial, more information, extension): the outbox row's id. */
  "send-request-email": { queue: "email", payload: z.object({ emailId: z.uuid() }).strict() },
  /** A staff invitation: the invite's id; the worker makes the link's token and mails it (ADR 019). */
  "send-staff-invitation": { queue: "email", payload: z.object({ inviteId: z.uuid() }).strict() },
  "send-answer-notice": { queue: "email", payload: z.object({ answerId: z.uuid() }).strict() },
} as const;

export type JobName = keyof typeof jobDefinitions;
export type JobPayload<N extends JobName> = z.infer<(typeof jobDefinitions)[N]["payload"]>;
export const queueNames = [...new Set(Object.values(jobDefinitions).map((d) => d.queue))] as QueueName[];
export type QueueName = (typeof jobDefinitions)[JobName]["queue"];

export const defaultJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: "exponential", delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: false,
};

let queues: Map<QueueName, { queue: Queue; connection: ReturnType<typeof createBullConnection> }> | undefined;

export function getQueue(name: QueueName): Queue {
  queues ??= new Map();
  let entry = queues.get(name);
  if (!entry) {
    const connection = createBullConnection();
    const queue = new Queue(name, { connection, prefix: bullPrefix(), defaultJobOptions });
    queue.on("error", () => {});
    entry = { queue, connection };
    queues.set(name, entry);
  }
  return entry.queue;
}

/** The deterministic job id of a payload: the job name and the payload's ids. */
export function jobIdFor<N extends JobName>(name: N, payload: JobPayload<N>) {
  const ids = Object.values(payload as Record<string, string>);
  return ids.length > 0 ? `${name}-${ids.join("-")}` : undefined;
}

export async function enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts: JobsOptions = {}) {
  const def = jobDefinitions[name];
  const data = def.payload.parse(payload);
  return getQueue(def.queue).add(name, data, { jobId: jobIdFor(name, payload), ...opts });
}

let flowProducer: { producer: FlowProducer; connection: ReturnType<typeof createBullConnection> } | undefined;

/** The one FlowProducer of this process (execution flows: app/models/execution.server.ts). */
export function getFlowProducer(): FlowProducer {
  if (!flowProducer) {
    const connection = createBullConnection();
    const producer = new FlowProducer({ connection, prefix: bullPrefix() });
    producer.on("error", () => {});
    flowProducer = { producer, connection };
  }
  return flowProducer.producer;
}

export async function closeQueues() {
  const all = [...(queues?.values() ?? [])];
  queues = undefined;
  const flow = flowProducer;
  flowProducer = undefined;
  if (flow) {
    await flow.producer.close();
    flow.connection.disconnect();
  }
  await Promise.all(
    all.map(async ({ queue, connection }) => {
      await queue.close();
      connection.disconnect();
    }),
  );
}
