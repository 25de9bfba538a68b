import { describe, expect, it } from "vitest";
import {
  DecryptionError,
  blindIndex,
  decrypt,
  decryptJson,
  emailBlindIndex,
  encrypt,
  encryptJson,
  hashSecret,
  keyIdOf,
  normalizeEmail,
  randomCode,
  randomToken,
  secretMatches,
  sha256Hex,
  type KeyRing,
} from "#app/utils/crypto.server.ts";

const keyOf = (byte: number) => Buffer.alloc(32, byte);
const oldRing: KeyRing = [{ id: "old", key: keyOf(1) }];
const rotatedRing: KeyRing = [{ id: "new", key: keyOf(2) }, ...oldRing];
const ctx = "request-identity:0b6c9a4e-2f43-4d1e-9d43-1c2b3a4d5e6f";

/** Flips one bit of byte `index` of the dot-separated part `part` (1 = key id, 2 = iv, 3 = tag, 4 = ciphertext). */
function flip(value: string, part: 2 | 3 | 4, index = 0) {
  const parts = value.split(".");
  const bytes = Buffer.from(parts[part]!, "base64url");
  bytes[index] = bytes[index]! ^ 0x01;
  parts[part] = bytes.toString("base64url");
  return parts.join(".");
}

describe("encrypt / decrypt", () => {
  it("round-trips ASCII, Unicode and empty strings", () => {
    for (const text of ["hello", "", "Zoë Ångström — 東京都 🙂 \u0000 end", "x".repeat(100_000)]) {
      const sealed = encrypt(text, ctx, oldRing);
      expect(sealed).toMatch(/^v1\.old\.[\w-]+\.[\w-]+\.[\w-]*$/);
      expect(sealed).not.toContain(text.slice(0, 5) || "§");
      expect(decrypt(sealed, ctx, oldRing)).toBe(text);
    }
  });

  it("round-trips JSON", () => {
    const value = { email: "zoë@example.com", name: "Zoë", dataPoints: { city: "Zürich" } };
    expect(decryptJson(encryptJson(value, ctx, oldRing), ctx, oldRing)).toEqual(value);
  });

  it("uses a fresh IV every time", () => {
    const a = encrypt("same", ctx, oldRing);
    const b = encrypt("same", ctx, oldRing);
    expect(a).not.toBe(b);
    expect(a.split(".")[2]).not.toBe(b.split(".")[2]);
  });

  it.each([
    ["iv", 2],
    ["tag", 3],
    ["ciphertext", 4],
  ] as const)("detects a flipped bit in the %s", (_name, part) => {
    const sealed = encrypt("sensitive value", ctx, oldRing);
    expect(() => decrypt(flip(sealed, part), ctx, oldRing)).toThrow(DecryptionError);
    expect(() => decrypt(flip(sealed, part, 5), ctx, oldRing)).toThrow(/authentication failed/);
  });

  it("detects a changed key id, even to another configured key", () => {
    const sealed = encrypt("sensitive value", ctx, rotatedRing);
    expect(keyIdOf(sealed)).toBe("new");
    const relabelled = sealed.replace(/^v1\.new\./, "v1.old.");
    expect(() => decrypt(relabelled, ctx, rotatedRing)).toThrow(DecryptionError);
    const unknown = sealed.replace(/^v1\.new\./, "v1.zzz.");
    expect(() => decrypt(unknown, ctx, rotatedRing)).toThrow(DecryptionError);
  });

  it("binds the context: a value moved to another record does not decrypt", () => {
    const sealed = encrypt("sensitive value", ctx, oldRing);
    expect(() => decrypt(sealed, `${ctx}x`, oldRing)).toThrow(DecryptionError);
    expect(() => decrypt(sealed, "request-identity:other", oldRing)).toThrow(DecryptionError);
  });

  it("refuses malformed values", () => {
    const sealed = encrypt("v", ctx, oldRing);
    expect(() => decrypt("not encrypted", ctx, oldRing)).toThrow(DecryptionError);
    expect(() => decrypt(sealed.replace(/^v1/, "v2"), ctx, oldRing)).toThrow(/unknown format/);
    expect(() => decrypt(`${sealed}.extra`, ctx, oldRing)).toThrow(DecryptionError);
  });

  // Node accepts GCM tags of 4..16 bytes unless the decipher pins { authTagLength: 16 }; a truncated tag would
  // make forgery cost ~2^32 tries instead of 2^128.
  it("refuses a truncated authentication tag", () => {
    const sealed = encrypt("v", ctx, oldRing);
    const parts = sealed.split(".");
    parts[3] = Buffer.from(parts[3]!, "base64url").subarray(0, 4).toString("base64url");
    expect(() => decrypt(parts.join("."), ctx, oldRing)).toThrow(DecryptionError);
  });

  it("does not decrypt with the wrong key under the same id", () => {
    const sealed = encrypt("v", ctx, oldRing);
    expect(() => decrypt(sealed, ctx, [{ id: "old", key: keyOf(9) }])).toThrow(DecryptionError);
  });
});

describe("key rotation", () => {
  it("keeps old values readable after a new key is prepended and writes with the new key", () => {
    const before = encrypt("written before rotation", ctx, oldRing);
    expect(keyIdOf(before)).toBe("old");

    expect(decrypt(before, ctx, rotatedRing)).toBe("written before rotation");
    const after = encrypt("written after rotation", ctx, rotatedRing);
    expect(keyIdOf(after)).toBe("new");
    expect(decrypt(after, ctx, rotatedRing)).toBe("written after rotation");
    // The old ring alone cannot read the new value.
    expect(() => decrypt(after, ctx, oldRing)).toThrow(/key "new" is not configured/);
  });

  it("fails with a clear error once the old key is removed", () => {
    const before = encrypt("written before rotation", ctx, oldRing);
    const newOnly: KeyRing = [rotatedRing[0]!];
    try {
      decrypt(before, ctx, newOnly);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecryptionError);
      expect((e as Error).message).toBe('Could not decrypt value: key "old" is not configured');
    }
  });

  it("refuses to encrypt without any key", () => {
    expect(() => encrypt("v", ctx, [])).toThrow(/No encryption key/);
  });
});

describe("blind index", () => {
  const key = keyOf(1).toString("base64");

  it("matches a fixed known vector (HMAC-SHA-256 of `email\\0<normalized>`, computed with openssl)", () => {
    expect(emailBlindIndex("alice@example.com", key)).toBe("8fd2b2ac75307dc0d18f52cb61cb1b0fed2ad35bf2c3df44ad42c125087e6734");
  });

  it("is stable across case, surrounding whitespace and Unicode compatibility forms", () => {
    const expected = emailBlindIndex("alice@example.com", key);
    for (const variant of ["Alice@Example.COM", "  alice@example.com\t", "\nALICE@EXAMPLE.COM ", "ａｌｉｃｅ@example.com"]) {
      expect(emailBlindIndex(variant, key)).toBe(expected);
    }
    expect(normalizeEmail("  Zoë@Example.com ")).toBe("zoë@example.com");
  });

  it("differs for another email, another key and another namespace", () => {
    const base = emailBlindIndex("alice@example.com", key);
    expect(emailBlindIndex("alice@example.org", key)).not.toBe(base);
    expect(emailBlindIndex("alice@example.com", keyOf(2).toString("base64"))).not.toBe(base);
    expect(blindIndex("phone", "alice@example.com", key)).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  it("uses the configured key by default", () => {
    expect(emailBlindIndex("Alice@example.com")).toBe(emailBlindIndex("alice@example.com", process.env.BLIND_INDEX_KEY));
  });
});

describe("random secrets", () => {
  it("randomCode is always six digits, leading zeros kept", () => {
    const codes = Array.from({ length: 20_000 }, () => randomCode());
    for (const c of codes) expect(c).toMatch(/^\d{6}$/);
    expect(codes.some((c) => c.startsWith("0"))).toBe(true);
    expect(randomCode(8)).toMatch(/^\d{8}$/);
  });

  it("randomCode is roughly uniform in every position (chi-square, 9 degrees of freedom)", () => {
    const n = 30_000;
    const counts = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < n; i++) {
      const code = randomCode();
      for (let p = 0; p < 6; p++) counts[p]![Number(code[p])]!++;
    }
    const expected = n / 10;
    for (const position of counts) {
      const chi2 = position.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
      // p < 1e-6 for 9 degrees of freedom is about 44; a correct generator fails this once in a million runs.
      expect(chi2).toBeLessThan(44);
    }
    // And the codes themselves are not repeating more than chance allows (10^6 possibilities).
    expect(new Set(Array.from({ length: 2000 }, () => randomCode())).size).toBeGreaterThan(1980);
  });

  it("randomToken is 256-bit base64url and unique", () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => randomToken()));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(randomToken(), "base64url")).toHaveLength(32);
  });
});

describe("hashSecret / secretMatches", () => {
  const key = "test-session-secret-0123456789abcdef";

  it("matches a fixed known vector (HMAC-SHA-256 of `purpose\\0secret`, computed with Python's hmac)", () => {
    expect(hashSecret("code", "123456", key)).toBe("799b8562bfa21fafd1622b9f390c9afb10e98744add7009ac36b836ecee1b17d");
  });

  it("accepts the right secret and refuses everything else", () => {
    const stored = hashSecret("code", "123456", key);
    expect(secretMatches("code", "123456", stored, key)).toBe(true);
    expect(secretMatches("code", "123457", stored, key)).toBe(false);
    expect(secretMatches("link", "123456", stored, key)).toBe(false); // purpose separates uses
    expect(secretMatches("code", "123456", stored, `${key}x`)).toBe(false);
    expect(secretMatches("code", "123456", stored.slice(0, 10), key)).toBe(false); // length mismatch, no throw
    expect(secretMatches("code", "123456", "", key)).toBe(false);
  });

  it("uses SESSION_SECRET by default", () => {
    const stored = hashSecret("code", "000001");
    expect(secretMatches("code", "000001", stored)).toBe(true);
    expect(stored).toBe(hashSecret("code", "000001", process.env.SESSION_SECRET));
  });

  it("sha256Hex matches the standard test vector", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
