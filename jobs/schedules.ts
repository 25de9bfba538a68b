/**
 * Every recurring job of the portal, defined and registered in this one place at worker start.
 *
 * `upsertJobScheduler` is an upsert keyed by the scheduler id, so any number of workers starting together (or
 * restarting) leave exactly one scheduler per id, with one pending job; schedulers this file no longer defines are
 * removed from the queues it owns. Cron patterns run in ORG_TIMEZONE (BullMQ's `tz`), so "08:00" stays 08:00 on the
 * organisation's wall clock across DST changes. Each job is idempotent on its own (see the model functions); the
 * scheduler only decides *when* it runs. README "Schedules" and docs/decisions/011-schedules-and-retention.md.
 */
import type { RepeatOptions } from "bullmq";
import { getEnv, type Env } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { getQueue, jobDefinitions, type JobName, type QueueName } from "./queues.ts";

export type ScheduleDefinition = {
  /** The scheduler id in BullMQ, also the `scheduler_runs.scheduler_id` of its runs. */
  id: string;
  jobName: JobName;
  queue: QueueName;
  repeat: Pick<RepeatOptions, "pattern" | "every" | "tz">;
  /** The env key that sets the timing (README's configuration table). */
  configKey: keyof Env;
  description: string;
};

/** Completed runs kept in Redis per scheduler (Postgres keeps the history in scheduler_runs); failed ones for longer. */
const templateOpts = { removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } };

export function scheduleDefinitions(env: Env = getEnv()): ScheduleDefinition[] {
  const tz = env.ORG_TIMEZONE;
  const def = (id: JobName, repeat: ScheduleDefinition["repeat"], configKey: keyof Env, description: string): ScheduleDefinition => ({
    id,
    jobName: id,
    queue: jobDefinitions[id].queue,
    repeat,
    configKey,
    description,
  });
  return [
    // An `every` scheduler also runs once right away: a starting worker rebuilds lost work at once.
    def("reconcile", { every: env.RECONCILE_EVERY_MS }, "RECONCILE_EVERY_MS", "Re-enqueues work Postgres says is pending (emails Redis may have lost)."),
    def(
      "deadline-reminders",
      { pattern: env.REMINDER_CRON, tz },
      "REMINDER_CRON",
      "Staff digest of requests due soon, due very soon, overdue, extension windows closing and acknowledgements at risk; queues late acknowledgements.",
    ),
    def(
      "expire-requests",
      { pattern: env.EXPIRY_CRON, tz },
      "EXPIRY_CRON",
      "Expires unverified requests and closes requests left without the information asked for; notifies the requester.",
    ),
    def(
      "retention",
      { pattern: env.RETENTION_CRON, tz },
      "RETENTION_CRON",
      "Anonymizes closed requests after the retention period; purges expired challenges, sessions and status tokens.",
    ),
  ];
}

/**
 * Registers (upserts) every scheduler and removes the ones no longer defined. Safe to call from any number of
 * workers at once: the result is the same single scheduler per id.
 */
export async function registerSchedules(env: Env = getEnv()) {
  const definitions = scheduleDefinitions(env);
  for (const d of definitions) {
    await getQueue(d.queue).upsertJobScheduler(d.id, d.repeat, { name: d.jobName, data: {}, opts: templateOpts });
  }
  const known = new Set(definitions.map((d) => d.id));
  for (const queue of new Set(definitions.map((d) => d.queue))) {
    for (const s of await getQueue(queue).getJobSchedulers()) {
      const id = s.id ?? s.key;
      if (!known.has(id)) {
        await getQueue(queue).removeJobScheduler(id);
        logger.info({ queue, scheduler: id }, "removed a job scheduler that is no longer defined");
      }
    }
  }
  return definitions;
}
