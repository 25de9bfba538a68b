/** The shared ioredis connection for rate limits and health checks (BullMQ builds its own, see jobs/connection.ts). */
import { Redis } from "ioredis";
import { getEnv } from "./env.server.ts";

let client: Redis | undefined;

export function getRedis(): Redis {
  if (!client) {
    client = new Redis(getEnv().REDIS_URL, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    client.on("error", () => {}); // surfaced by the calls that fail and by /healthz; avoids unhandled 'error' events
  }
  return client;
}

/** A key in this deployment's namespace: `${REDIS_PREFIX}:${parts.join(":")}`. */
export function redisKey(...parts: string[]) {
  return [getEnv().REDIS_PREFIX, ...parts].join(":");
}

export async function closeRedis() {
  const c = client;
  client = undefined;
  if (c) await c.quit().catch(() => c.disconnect());
}
