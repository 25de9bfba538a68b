import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { closeRedis, getRedis, redisKey } from "#app/utils/redis.server.ts";
import { RateLimitedError, enforceRateLimit, rateLimit, rateLimitKey, rateLimits, resetRateLimit } from "#app/utils/rate-limit.server.ts";

let n = 0;
/** A bucket of its own for each test, so tests do not share counters. */
const bucket = () => `test-bucket-${++n}`;

afterAll(closeRedis);

async function keysOfThisFile() {
  const redis = getRedis();
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${redisKey()}*`, "COUNT", 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}

describe("rateLimit", () => {
  it("allows `limit` hits per window, counting down, then refuses with a retry time", async () => {
    const b = bucket();
    const opts = { bucket: b, key: "203.0.113.7", limit: 3, windowSeconds: 60 };
    expect(await rateLimit(opts)).toEqual({ allowed: true, remaining: 2, retryAfterSeconds: 0 });
    expect(await rateLimit(opts)).toEqual({ allowed: true, remaining: 1, retryAfterSeconds: 0 });
    expect(await rateLimit(opts)).toEqual({ allowed: true, remaining: 0, retryAfterSeconds: 0 });
    const refused = await rateLimit(opts);
    expect(refused.allowed).toBe(false);
    expect(refused.remaining).toBe(0);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Refused hits are not recorded, and the key expires with the window.
    expect(await getRedis().zcard(rateLimitKey(b, "203.0.113.7"))).toBe(3);
    const ttl = await getRedis().pttl(rateLimitKey(b, "203.0.113.7"));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("lets hits in again once the window has passed (sliding)", async () => {
    const opts = { bucket: bucket(), key: "198.51.100.1", limit: 2, windowSeconds: 1 };
    expect((await rateLimit(opts)).allowed).toBe(true);
    await sleep(600);
    expect((await rateLimit(opts)).allowed).toBe(true);
    const refused = await rateLimit(opts);
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    await sleep(500); // the first hit (t=0) has aged out, the second (t≈600ms) has not
    expect(await rateLimit(opts)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await rateLimit(opts)).allowed).toBe(false);
    await sleep(1100); // everything has aged out
    expect(await rateLimit(opts)).toEqual({ allowed: true, remaining: 1, retryAfterSeconds: 0 });
  });

  it("counts keys and buckets independently", async () => {
    const b = bucket();
    const limit = { limit: 1, windowSeconds: 60 };
    expect((await rateLimit({ bucket: b, key: "alice@example.com", ...limit })).allowed).toBe(true);
    expect((await rateLimit({ bucket: b, key: "alice@example.com", ...limit })).allowed).toBe(false);
    expect((await rateLimit({ bucket: b, key: "bob@example.com", ...limit })).allowed).toBe(true);
    expect((await rateLimit({ bucket: bucket(), key: "alice@example.com", ...limit })).allowed).toBe(true);
  });

  it("checks several keys in one call exactly as separate calls would: each recorded and refused on its own", async () => {
    const ip = { bucket: bucket(), key: "192.0.2.77", limit: 3, windowSeconds: 60 };
    const email = { bucket: bucket(), key: "carol@example.com", limit: 1, windowSeconds: 120 };
    expect(await rateLimits([ip, email])).toEqual([
      { allowed: true, remaining: 2, retryAfterSeconds: 0 },
      { allowed: true, remaining: 0, retryAfterSeconds: 0 },
    ]);
    const [ipAgain, emailAgain] = await rateLimits([ip, email]);
    expect(ipAgain).toEqual({ allowed: true, remaining: 1, retryAfterSeconds: 0 }); // the IP's hit counts though the email is refused
    expect(emailAgain!.allowed).toBe(false);
    expect(emailAgain!.retryAfterSeconds).toBeGreaterThan(60);
    expect(emailAgain!.retryAfterSeconds).toBeLessThanOrEqual(120);
    // The same windows seen through the one-key call.
    expect(await rateLimit(ip)).toEqual({ allowed: true, remaining: 0, retryAfterSeconds: 0 });
    expect((await rateLimit(email)).allowed).toBe(false);
    const [ipRefused, emailRefused] = await rateLimits([ip, email]);
    expect(ipRefused!.allowed).toBe(false);
    expect(emailRefused!.allowed).toBe(false);
    expect(await getRedis().zcard(rateLimitKey(ip.bucket, ip.key))).toBe(3);
    expect(await getRedis().zcard(rateLimitKey(email.bucket, email.key))).toBe(1);
    expect(await rateLimits([])).toEqual([]);
    await expect(rateLimits([ip, { ...ip }])).rejects.toThrow(TypeError);
    await expect(rateLimits([ip, { ...email, limit: 0 }])).rejects.toThrow(TypeError);
  });

  it("is atomic: 50 concurrent hits against a limit of 10 let exactly 10 through", async () => {
    const opts = { bucket: bucket(), key: "192.0.2.50", limit: 10, windowSeconds: 60 };
    const results = await Promise.all(Array.from({ length: 50 }, () => rateLimit(opts)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(results.filter((r) => r.allowed).map((r) => r.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("never puts the raw key in a Redis key name or value", async () => {
    const secrets = ["carol.secret@example.com", "203.0.113.99", "PR-ABCD-EFGH"];
    for (const key of secrets) await rateLimit({ bucket: "privacy-check", key, limit: 5, windowSeconds: 60 });
    const keys = await keysOfThisFile();
    expect(keys.length).toBeGreaterThan(0);
    for (const name of keys) {
      expect(name.startsWith(`${redisKey("ratelimit")}:`)).toBe(true);
      expect(name).toMatch(/:[0-9a-f]{64}$/);
      for (const secret of secrets) {
        expect(name).not.toContain(secret);
        expect(name.toLowerCase()).not.toContain("carol");
      }
      const members = await getRedis().zrange(name, 0, -1);
      for (const member of members) for (const secret of secrets) expect(member).not.toContain(secret);
    }
    // Keyed (not a plain SHA-256 an attacker could recompute from a list of emails).
    const { createHash } = await import("node:crypto");
    const plain = createHash("sha256").update("privacy-check\0carol.secret@example.com").digest("hex");
    expect(keys.some((k) => k.includes(plain))).toBe(false);
    expect(keys).toContain(rateLimitKey("privacy-check", "carol.secret@example.com"));
  });

  it("refuses bad options", async () => {
    await expect(rateLimit({ bucket: "has space", key: "k", limit: 1, windowSeconds: 1 })).rejects.toThrow(TypeError);
    await expect(rateLimit({ bucket: "ok", key: "k", limit: 0, windowSeconds: 1 })).rejects.toThrow(TypeError);
    await expect(rateLimit({ bucket: "ok", key: "k", limit: 1, windowSeconds: 0.5 })).rejects.toThrow(TypeError);
  });
});

describe("enforceRateLimit / resetRateLimit", () => {
  it("throws RateLimitedError with a retry time and a user-facing message", async () => {
    const opts = { bucket: bucket(), key: "staff@example.com", limit: 1, windowSeconds: 900 };
    await expect(enforceRateLimit(opts)).resolves.toMatchObject({ allowed: true });
    const error = await enforceRateLimit(opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: "rate_limited", status: 429 });
    expect((error as RateLimitedError).retryAfterSeconds).toBeGreaterThan(890);
    expect((error as RateLimitedError).userMessage).toBe("Too many attempts. Please try again in 15 minutes.");
    expect((error as Error).message).not.toContain("staff@example.com");
  });

  it("reset forgets the hits of one key", async () => {
    const opts = { bucket: bucket(), key: "10.0.0.1", limit: 1, windowSeconds: 60 };
    await rateLimit(opts);
    expect((await rateLimit(opts)).allowed).toBe(false);
    await resetRateLimit(opts);
    expect((await rateLimit(opts)).allowed).toBe(true);
  });
});
