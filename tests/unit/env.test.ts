import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "#app/utils/env.server.ts";

const key = Buffer.alloc(32, 7).toString("base64");
const secrets = { SESSION_SECRET: "x".repeat(40), ENCRYPTION_KEYS: `k1:${key}`, BLIND_INDEX_KEY: key };

describe("env", () => {
  it("uses local defaults when only the secrets are given", () => {
    const env = parseEnv({ ...secrets });
    expect(env.DATABASE_URL).toBe("postgres://postgres@127.0.0.1:5432/privacy_portal");
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(env.PORT).toBe(3000);
    expect(env.APP_URL).toBe("http://localhost:3000");
    expect(env.ENCRYPTION_KEYS[0]?.id).toBe("k1");
  });

  it("names the malformed key and not its value", () => {
    try {
      parseEnv({ ...secrets, PORT: "seventy", REDIS_URL: "not a url" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EnvError);
      expect((e as EnvError).keys.sort()).toEqual(["PORT", "REDIS_URL"]);
      expect((e as Error).message).toContain("PORT");
      expect((e as Error).message).not.toContain("seventy");
    }
  });

  it("refuses to start in production without secrets", () => {
    expect(() => parseEnv({ NODE_ENV: "production" })).toThrow(/SESSION_SECRET.*\n.*ENCRYPTION_KEYS|ENCRYPTION_KEYS/s);
    try {
      parseEnv({ NODE_ENV: "production" });
    } catch (e) {
      expect((e as EnvError).keys).toEqual(expect.arrayContaining(["SESSION_SECRET", "ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "APP_URL"]));
    }
  });

  it("refuses a malformed key ring", () => {
    expect(() => parseEnv({ ...secrets, ENCRYPTION_KEYS: "k1:short" })).toThrow(/ENCRYPTION_KEYS/);
    expect(() => parseEnv({ ...secrets, ENCRYPTION_KEYS: `k1:${key},k1:${key}` })).toThrow(/appears twice/);
  });

  it("reports missing secrets outside production with the command that creates them", () => {
    expect(() => parseEnv({})).toThrow(/npm run secrets/);
  });
});
