/**
 * Redis-backed rate limits (sliding window log).
 *
 * Each (bucket, key) pair is one sorted set of the accepted hits of the last `windowSeconds`; one Lua script trims
 * old hits, counts and records the new hit atomically, with Redis' own clock, so every web process shares one view.
 * Refused hits are not recorded: a client that keeps hammering gets in again as soon as its oldest hit ages out.
 *
 * The caller's `key` (an IP address, a normalized email, a request reference) is personal data, so it never appears
 * in Redis: the key name carries HMAC-SHA-256(SESSION_SECRET, bucket + key) instead — keyed, so a copy of Redis
 * cannot be matched against a list of known emails. Normalize emails (`normalizeEmail`) before passing them.
 *
 * Memory: up to `limit` small entries per active key for one window; meant for limits of tens to hundreds.
 * If Redis is unreachable the call rejects; callers choose whether that fails open or closed.
 */
import type { Redis } from "ioredis";
import { DomainError } from "#app/models/errors.ts";
import { hashSecret, randomToken } from "./crypto.server.ts";
import { getRedis, redisKey } from "./redis.server.ts";

export type RateLimitOptions = {
  /** What is limited, chosen by the code: "staff-login", "intake-ip", "verify-code". [A-Za-z0-9_.-], ≤ 64. */
  bucket: string;
  /** Who is limited: an IP, a normalized email, a request id. Hashed before it touches Redis. */
  key: string;
  /** Hits allowed per window. */
  limit: number;
  windowSeconds: number;
};

export type RateLimitResult = { allowed: boolean; remaining: number; retryAfterSeconds: number };

/** Too many attempts; `retryAfterSeconds` fits a Retry-After header. */
export class RateLimitedError extends DomainError {
  constructor(public readonly retryAfterSeconds: number) {
    super("rate_limited", `Too many attempts. Please try again in ${describeWait(retryAfterSeconds)}.`, 429);
    this.name = "RateLimitedError";
  }
}

function describeWait(seconds: number) {
  if (seconds < 60) return seconds <= 1 ? "a second" : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return minutes === 1 ? "a minute" : `${minutes} minutes`;
  const hours = Math.ceil(minutes / 60);
  return hours === 1 ? "an hour" : `${hours} hours`;
}

// KEYS: one sorted set per window checked; ARGV: a random nonce (members must be unique), then per key its limit and
// window in ms. Each key is checked and recorded on its own, exactly as separate calls would, in one round trip.
// Returns { allowed (1/0), remaining, retry-after in ms } per key, flattened.
const SLIDING_WINDOW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count < limit then
    redis.call('ZADD', key, now, now .. '-' .. ARGV[1])
    redis.call('PEXPIRE', key, window)
    out[#out + 1] = 1
    out[#out + 1] = limit - count - 1
    out[#out + 1] = 0
  else
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local retry = window
    if oldest[2] then retry = tonumber(oldest[2]) + window - now end
    if retry < 1 then retry = 1 end
    out[#out + 1] = 0
    out[#out + 1] = 0
    out[#out + 1] = retry
  end
end
return out
`;

const LUA_NAME = "portalRateLimits";

const prepared = new WeakSet<Redis>();

function client(): Redis & Record<typeof LUA_NAME, (...args: (string | number)[]) => Promise<number[]>> {
  const redis = getRedis();
  if (!prepared.has(redis)) {
    redis.defineCommand(LUA_NAME, { lua: SLIDING_WINDOW_LUA }); // number of keys given per call
    prepared.add(redis);
  }
  return redis as Redis & Record<typeof LUA_NAME, (...args: (string | number)[]) => Promise<number[]>>;
}

const BUCKET_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** The Redis key of a (bucket, key) pair: `<prefix>:ratelimit:<bucket>:<hmac hex>`. */
export function rateLimitKey(bucket: string, key: string): string {
  if (!BUCKET_RE.test(bucket)) throw new TypeError("rate limit bucket must match [A-Za-z0-9_.-]{1,64}");
  return redisKey("ratelimit", bucket, hashSecret("rate-limit", `${bucket}\0${key}`));
}

function check({ limit, windowSeconds }: Pick<RateLimitOptions, "limit" | "windowSeconds">) {
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError("rate limit `limit` must be a positive integer");
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new TypeError("rate limit `windowSeconds` must be a positive integer");
}

/**
 * Records one hit for each (bucket, key) that is within its limit, and says for each whether it was — the same as
 * calling `rateLimit` once per entry, in one Redis round trip (intake checks the IP and the email together).
 */
export async function rateLimits(list: readonly RateLimitOptions[]): Promise<RateLimitResult[]> {
  if (list.length === 0) return [];
  if (new Set(list.map((o) => `${o.bucket}\0${o.key}`)).size !== list.length) throw new TypeError("rate limits: the same (bucket, key) twice");
  for (const options of list) check(options);
  const keys = list.map((o) => rateLimitKey(o.bucket, o.key));
  const args = list.flatMap((o) => [o.limit, o.windowSeconds * 1000]);
  const flat = await client()[LUA_NAME](list.length, ...keys, randomToken(9), ...args);
  return list.map((_, i) => {
    const [allowed, remaining, retryMs] = [Number(flat[3 * i]), Number(flat[3 * i + 1]), Number(flat[3 * i + 2])];
    return { allowed: allowed === 1, remaining, retryAfterSeconds: allowed === 1 ? 0 : Math.ceil(retryMs / 1000) };
  });
}

/** Records one hit for (bucket, key) if it is within the limit, and says whether it was. */
export async function rateLimit(options: RateLimitOptions): Promise<RateLimitResult> {
  const [result] = await rateLimits([options]);
  return result!;
}

/** Like `rateLimit`, but throws `RateLimitedError` when the hit is over the limit. */
export async function enforceRateLimit(options: RateLimitOptions): Promise<RateLimitResult> {
  const result = await rateLimit(options);
  if (!result.allowed) throw new RateLimitedError(result.retryAfterSeconds);
  return result;
}

/** Forgets the hits of (bucket, key) — e.g. the failed sign-ins of an account after a successful one. */
export async function resetRateLimit({ bucket, key }: Pick<RateLimitOptions, "bucket" | "key">): Promise<void> {
  await getRedis().del(rateLimitKey(bucket, key));
}
