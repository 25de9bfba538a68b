/** Redis connections for BullMQ (workers need maxRetriesPerRequest: null) and the queues' key prefix. */
import { Redis, type RedisOptions } from "ioredis";
import { getEnv } from "#app/utils/env.server.ts";

export function bullPrefix() {
  return `${getEnv().REDIS_PREFIX}:bull`;
}

export function createBullConnection(extra: RedisOptions = {}) {
  const redis = new Redis(getEnv().REDIS_URL, { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra });
  redis.on("error", () => {}); // BullMQ reports through its own 'error' events; avoid unhandled emitter errors
  return redis;
}
