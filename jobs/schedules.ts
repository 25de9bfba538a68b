/**
 * The cron-like schedules, registered in one place at worker start. `upsertJobScheduler` is idempotent, so
 * several workers starting together keep exactly one scheduler per id.
 */
import { getEnv } from "#app/utils/env.server.ts";
import { getQueue } from "./queues.ts";

export async function registerSchedules() {
  const env = getEnv();
  await getQueue("maintenance").upsertJobScheduler(
    "reconcile",
    { every: env.RECONCILE_EVERY_MS }, // an `every` scheduler also runs once right away
    { name: "reconcile", data: {}, opts: { removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } } },
  );
}
