/** TOTP (RFC 6238) and HOTP (RFC 4226) against the RFCs' own test vectors, base32 (RFC 4648), and matching rules. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  base32Decode,
  base32Encode,
  formatManualKey,
  generateTotpSecret,
  hotp,
  matchTotp,
  normalizeTotpCode,
  otpauthUri,
  totp,
  totpAtStep,
  totpStep,
} from "#app/models/totp.ts";

const ascii = (s: string) => Buffer.from(s, "ascii");
// RFC 6238 Appendix B: the seed for each algorithm is the ASCII digits repeated to the hash's length.
const seeds = {
  sha1: ascii("12345678901234567890"),
  sha256: ascii("12345678901234567890123456789012"),
  sha512: ascii("1234567890123456789012345678901234567890123456789012345678901234"),
};

describe("RFC 6238 test vectors (8 digits, 30 s steps)", () => {
  const vectors: [number, string, string, string][] = [
    [59, "94287082", "46119246", "90693936"],
    [1111111109, "07081804", "68084774", "25091201"],
    [1111111111, "14050471", "67062674", "99943326"],
    [1234567890, "89005924", "91819424", "93441116"],
    [2000000000, "69279037", "90698825", "38618901"],
    [20000000000, "65353130", "77737706", "47863826"],
  ];
  it.each(vectors)("T = %i s", (seconds, sha1, sha256, sha512) => {
    const ms = seconds * 1000;
    expect(totp(seeds.sha1, ms, { digits: 8 })).toBe(sha1);
    expect(totp(seeds.sha1, ms, { digits: 8, algorithm: "sha1" })).toBe(sha1);
    expect(totp(seeds.sha256, ms, { digits: 8, algorithm: "sha256" })).toBe(sha256);
    expect(totp(seeds.sha512, ms, { digits: 8, algorithm: "sha512" })).toBe(sha512);
  });

  it("the 6-digit SHA-1 code staff use is the last six digits of the 8-digit one", () => {
    expect(totp(seeds.sha1, 59_000)).toBe("287082");
    expect(totp(seeds.sha1, 1111111109_000)).toBe("081804");
    expect(totp(seeds.sha1, 20000000000_000)).toBe("353130");
  });

  it("computes the time step as floor(unix seconds / 30)", () => {
    expect(totpStep(0)).toBe(0);
    expect(totpStep(29_999)).toBe(0);
    expect(totpStep(30_000)).toBe(1);
    expect(totpStep(59_000)).toBe(1);
    expect(totpStep(1111111109_000)).toBe(0x23523ec);
    expect(totpStep(20000000000_000)).toBe(0x27bc86aa);
  });
});

describe("RFC 4226 HOTP test vectors", () => {
  const expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
  it.each(expected.map((code, count) => [count, code] as const))("count %i → %s", (count, code) => {
    expect(hotp(seeds.sha1, count)).toBe(code);
    expect(totpAtStep(seeds.sha1, count)).toBe(code);
  });

  it("refuses digit counts and counters outside the RFC", () => {
    expect(() => hotp(seeds.sha1, 0, { digits: 5 })).toThrow(RangeError);
    expect(() => hotp(seeds.sha1, 0, { digits: 9 })).toThrow(RangeError);
    expect(() => hotp(seeds.sha1, -1)).toThrow(RangeError);
  });
});

describe("base32 (RFC 4648 §10 vectors, unpadded)", () => {
  const vectors = [
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ];
  it.each(vectors)("%j ↔ %s", (plain, encoded) => {
    expect(base32Encode(Buffer.from(plain))).toBe(encoded);
    expect(base32Decode(encoded).toString()).toBe(plain);
  });

  it("decodes what people type: lower case, spaces, hyphens, padding", () => {
    expect(base32Decode("mzxw 6ytb-oi======").toString()).toBe("foobar");
    expect(() => base32Decode("MZXW1")).toThrow(TypeError); // 1 is not in the alphabet
  });

  it("round-trips any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(base32Decode(base32Encode(bytes)).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it("makes 160-bit secrets that show as 32 characters in groups of four", () => {
    const secret = generateTotpSecret();
    expect(secret).toHaveLength(20);
    const key = base32Encode(secret);
    expect(key).toMatch(/^[A-Z2-7]{32}$/);
    expect(formatManualKey(key)).toMatch(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
    expect(base32Encode(generateTotpSecret())).not.toBe(key);
  });
});

describe("matchTotp", () => {
  const secret = seeds.sha1;
  const t = 1_700_000_000_000; // an arbitrary moment
  const step = totpStep(t);
  const at = (s: number) => totpAtStep(secret, s);

  it("accepts the current step and one either side, and nothing further", () => {
    expect(matchTotp(secret, at(step), t)).toBe(step);
    expect(matchTotp(secret, at(step - 1), t)).toBe(step - 1);
    expect(matchTotp(secret, at(step + 1), t)).toBe(step + 1);
    // Codes of other steps are rejected unless they happen to collide with an accepted step's code.
    for (const far of [step - 2, step + 2, step - 20]) {
      if (![at(step - 1), at(step), at(step + 1)].includes(at(far))) expect(matchTotp(secret, at(far), t)).toBeNull();
    }
  });

  it("never returns a step at or before the last accepted one (replay)", () => {
    expect(matchTotp(secret, at(step), t, { afterStep: step })).toBeNull();
    expect(matchTotp(secret, at(step - 1), t, { afterStep: step - 1 })).toBeNull();
    expect(matchTotp(secret, at(step - 1), t, { afterStep: step })).toBeNull();
    expect(matchTotp(secret, at(step + 1), t, { afterStep: step })).toBe(step + 1);
  });

  it("accepts spaces and hyphens, refuses anything that is not six digits", () => {
    const code = at(step);
    expect(matchTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, t)).toBe(step);
    expect(matchTotp(secret, `${code.slice(0, 3)}-${code.slice(3)}`, t)).toBe(step);
    for (const bad of ["", "12345", "1234567", "abcdef", `${code}0`, ` ${code.slice(1)}x`]) expect(matchTotp(secret, bad, t)).toBeNull();
    expect(normalizeTotpCode(" 123 456 ")).toBe("123456");
    expect(normalizeTotpCode("12345a")).toBeNull();
  });

  it("a code from another secret does not match", () => {
    const other = generateTotpSecret();
    const code = totp(other, t);
    if (![at(step - 1), at(step), at(step + 1)].includes(code)) expect(matchTotp(secret, code, t)).toBeNull();
  });
});

describe("otpauthUri", () => {
  it("follows the Key Uri Format: issuer and account in the label, secret and parameters in the query", () => {
    const uri = otpauthUri({ secretBase32: "JBSWY3DPEHPK3PXP", issuer: "Demo Shop Privacy Portal", account: "ada@example.com" });
    expect(uri).toBe(
      "otpauth://totp/Demo%20Shop%20Privacy%20Portal:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Demo%20Shop%20Privacy%20Portal&algorithm=SHA1&digits=6&period=30",
    );
  });
});
