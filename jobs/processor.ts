/** A job processor: parse the payload (a bad one fails for good, no retries), then call one model function. */
import { UnrecoverableError, type Job } from "bullmq";
import { jobDefinitions, type JobName, type JobPayload } from "./queues.ts";

export type Processor = { name: JobName; run: (job: Job) => Promise<unknown> };

export function defineProcessor<N extends JobName>(name: N, handle: (payload: JobPayload<N>, job: Job) => Promise<unknown>): Processor {
  return {
    name,
    async run(job) {
      const parsed = jobDefinitions[name].payload.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${name}: ${parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ")}`);
      return handle(parsed.data as JobPayload<N>, job);
    },
  };
}
