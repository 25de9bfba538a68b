/**
 * encryptBytes / decryptBytes: the binary format of the one AES-256-GCM core (files in bytea columns), and that the
 * text format still reads what it wrote before the core was shared.
 */
import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DecryptionError, decrypt, decryptBytes, encrypt, encryptBytes, keyIdOf, type KeyRing } from "#app/utils/crypto.server.ts";

const keyOf = (byte: number) => Buffer.alloc(32, byte);
const oldRing: KeyRing = [{ id: "old", key: keyOf(1) }];
const rotatedRing: KeyRing = [{ id: "new", key: keyOf(2) }, ...oldRing];
const ctx = "request-document:0b6c9a4e-2f43-4d1e-9d43-1c2b3a4d5e6f:5d1f3c2b-8a7e-4e0f-9c6b-2a1d0e9f8c7b";
const HEADER = Buffer.from("v1.old.", "ascii");
const OFFSET = { iv: HEADER.length, tag: HEADER.length + 12, ciphertext: HEADER.length + 28 };

function flipped(value: Buffer, index: number) {
  const copy = Buffer.from(value);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

describe("encryptBytes / decryptBytes", () => {
  it("round-trips empty, small, binary and multi-megabyte data", () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
    for (const data of [Buffer.alloc(0), Buffer.from("%PDF-1.7\n"), png, randomBytes(5 * 1024 * 1024)]) {
      const sealed = encryptBytes(data, ctx, oldRing);
      expect(sealed.subarray(0, HEADER.length).equals(HEADER)).toBe(true);
      // Header + 12-byte IV + 16-byte tag + ciphertext as long as the plaintext (GCM is a stream mode).
      expect(sealed.length).toBe(HEADER.length + 12 + 16 + data.length);
      expect(decryptBytes(sealed, ctx, oldRing).equals(data)).toBe(true);
    }
  });

  it("never contains the plaintext, and uses a fresh IV every time", () => {
    const data = Buffer.from("%PDF-1.4 signed permission of the consumer ".repeat(50));
    const a = encryptBytes(data, ctx, oldRing);
    const b = encryptBytes(data, ctx, oldRing);
    expect(a.includes(Buffer.from("%PDF-"))).toBe(false);
    expect(a.includes(Buffer.from("signed permission"))).toBe(false);
    expect(a.subarray(OFFSET.iv, OFFSET.tag).equals(b.subarray(OFFSET.iv, OFFSET.tag))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it("accepts a Uint8Array view into a larger buffer (only the viewed bytes are sealed)", () => {
    const backing = Buffer.from("xxxxHELLOyyyy");
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, 5);
    expect(decryptBytes(encryptBytes(view, ctx, oldRing), ctx, oldRing).toString()).toBe("HELLO");
  });

  it.each([
    ["iv", OFFSET.iv],
    ["tag", OFFSET.tag],
    ["ciphertext", OFFSET.ciphertext],
    ["last ciphertext byte", -1],
  ] as const)("detects a flipped bit in the %s", (_name, index) => {
    const sealed = encryptBytes(Buffer.from("sensitive bytes"), ctx, oldRing);
    expect(() => decryptBytes(flipped(sealed, index < 0 ? sealed.length + index : index), ctx, oldRing)).toThrow(/authentication failed/);
  });

  it("detects truncation and appended bytes", () => {
    const sealed = encryptBytes(Buffer.from("sensitive bytes"), ctx, oldRing);
    expect(() => decryptBytes(sealed.subarray(0, sealed.length - 1), ctx, oldRing)).toThrow(DecryptionError);
    expect(() => decryptBytes(Buffer.concat([sealed, Buffer.from([0])]), ctx, oldRing)).toThrow(DecryptionError);
    // Shorter than header + IV + tag: not even parsed.
    expect(() => decryptBytes(sealed.subarray(0, OFFSET.ciphertext - 1), ctx, oldRing)).toThrow(/unknown format/);
  });

  it("binds the context: a file moved to another request or document does not decrypt", () => {
    const sealed = encryptBytes(Buffer.from("permission"), ctx, oldRing);
    expect(() => decryptBytes(sealed, `${ctx}x`, oldRing)).toThrow(DecryptionError);
    expect(() => decryptBytes(sealed, "request-document:other", oldRing)).toThrow(DecryptionError);
  });

  it("detects a changed key id, even to another configured key", () => {
    const sealed = encryptBytes(Buffer.from("permission"), ctx, rotatedRing);
    expect(keyIdOf(sealed)).toBe("new");
    const relabelled = Buffer.concat([Buffer.from("v1.old."), sealed.subarray("v1.new.".length)]);
    expect(() => decryptBytes(relabelled, ctx, rotatedRing)).toThrow(/authentication failed/);
    const unknown = Buffer.concat([Buffer.from("v1.zzz."), sealed.subarray("v1.new.".length)]);
    expect(() => decryptBytes(unknown, ctx, rotatedRing)).toThrow(/key "zzz" is not configured/);
  });

  it("rotates keys like the text format: old files stay readable, new ones use the first key", () => {
    const before = encryptBytes(Buffer.from("before"), ctx, oldRing);
    expect(keyIdOf(before)).toBe("old");
    expect(decryptBytes(before, ctx, rotatedRing).toString()).toBe("before");
    const after = encryptBytes(Buffer.from("after"), ctx, rotatedRing);
    expect(keyIdOf(after)).toBe("new");
    expect(() => decryptBytes(after, ctx, oldRing)).toThrow(/key "new" is not configured/);
    expect(() => decryptBytes(before, ctx, [rotatedRing[0]!])).toThrow(/key "old" is not configured/);
  });

  it("refuses malformed values", () => {
    const sealed = encryptBytes(Buffer.from("v"), ctx, oldRing);
    expect(() => decryptBytes(Buffer.alloc(0), ctx, oldRing)).toThrow(/unknown format/);
    expect(() => decryptBytes(Buffer.from("%PDF-1.7 plaintext file"), ctx, oldRing)).toThrow(/unknown format/);
    expect(() => decryptBytes(Buffer.concat([Buffer.from("v2"), sealed.subarray(2)]), ctx, oldRing)).toThrow(/unknown format/);
    // No key id ("v1..") and a key id longer than any ring allows.
    expect(() => decryptBytes(Buffer.concat([Buffer.from("v1.."), randomBytes(40)]), ctx, oldRing)).toThrow(/unknown format/);
    expect(() => decryptBytes(Buffer.concat([Buffer.from(`v1.${"k".repeat(65)}.`), randomBytes(40)]), ctx, oldRing)).toThrow(/unknown format/);
    // The text format is not the binary format, and the other way round.
    expect(() => decryptBytes(Buffer.from(encrypt("v", ctx, oldRing)), ctx, oldRing)).toThrow(DecryptionError);
    expect(keyIdOf(Buffer.from("not encrypted"))).toBeUndefined();
  });

  it("refuses to encrypt without a key or with a key id the formats cannot carry", () => {
    expect(() => encryptBytes(Buffer.from("v"), ctx, [])).toThrow(/No encryption key/);
    expect(() => encryptBytes(Buffer.from("v"), ctx, [{ id: "a.b", key: keyOf(1) }])).toThrow(/Invalid encryption key id/);
    expect(() => encrypt("v", ctx, [{ id: "", key: keyOf(1) }])).toThrow(/Invalid encryption key id/);
  });

  it("decrypts a value sealed independently with node:crypto (the documented layout and AAD)", () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", keyOf(1), iv);
    cipher.setAAD(Buffer.from(`v1.old.${ctx}`));
    const ciphertext = Buffer.concat([cipher.update("made elsewhere"), cipher.final()]);
    const value = Buffer.concat([HEADER, iv, cipher.getAuthTag(), ciphertext]);
    expect(decryptBytes(value, ctx, oldRing).toString()).toBe("made elsewhere");
  });
});

describe("the text format after the refactor onto the shared core", () => {
  it("still decrypts a value sealed independently in the v1 text layout", () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", keyOf(1), iv);
    cipher.setAAD(Buffer.from(`v1.old.${ctx}`));
    const ciphertext = Buffer.concat([cipher.update("Zoë 東京", "utf8"), cipher.final()]);
    const value = ["v1", "old", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
    expect(decrypt(value, ctx, oldRing)).toBe("Zoë 東京");
    expect(decrypt(encrypt("round trip", ctx, rotatedRing), ctx, rotatedRing)).toBe("round trip");
  });
});
