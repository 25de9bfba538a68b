/**
 * Encryption at rest and the secrets the portal hands out.
 *
 * - `encrypt`/`decrypt`: AES-256-GCM; the value carries the key id (`v1.<kid>.<iv>.<tag>.<ciphertext>`), so keys
 *   rotate: the first key of ENCRYPTION_KEYS encrypts, every listed key decrypts. `context` is bound as additional
 *   authenticated data, so a ciphertext moved to another column or record fails to decrypt.
 * - `encryptBytes`/`decryptBytes`: the same (one shared core), for binary data in bytea columns (`v1.<kid>.` + raw
 *   IV, tag and ciphertext).
 * - `blindIndex`: keyed HMAC-SHA-256 of a normalized value, for equality lookups without decrypting.
 * - `randomCode` / `randomToken`: CSPRNG secrets; `hashSecret` / `secretMatches`: keyed hashes compared in constant time.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { getEnv } from "./env.server.ts";

export type KeyRing = { id: string; key: Buffer }[];

export class DecryptionError extends Error {
  constructor(reason: string) {
    super(`Could not decrypt value: ${reason}`);
    this.name = "DecryptionError";
  }
}

const VERSION = "v1";
const b64u = (b: Buffer) => b.toString("base64url");

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Longest key id the binary header accepts (ids are short names such as `k20260105`). */
const MAX_KID_BYTES = 64;
const BYTES_PREFIX = Buffer.from(`${VERSION}.`, "ascii");

/** What one AES-256-GCM encryption produced; the two storage formats below serialize it. */
type Sealed = { kid: string; iv: Buffer; tag: Buffer; ciphertext: Buffer };

/** The additional authenticated data: format version, key id and the caller's context. */
const aad = (kid: string, context: string) => Buffer.from(`${VERSION}.${kid}.${context}`);

/** The one encryption core: the ring's first key, a fresh 96-bit IV, the key id and context bound as AAD. */
function seal(plaintext: Buffer, context: string, keys: KeyRing): Sealed {
  const current = keys[0];
  if (!current) throw new Error("No encryption key configured");
  // Both formats use "." as the separator after the id (env.server.ts allows [A-Za-z0-9_-]{1,32}).
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(current.id)) throw new Error("Invalid encryption key id");
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", current.key, iv);
  cipher.setAAD(aad(current.id, context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { kid: current.id, iv, tag: cipher.getAuthTag(), ciphertext };
}

/** The one decryption core: finds the value's key in the ring and checks tag, key id and context. */
function open({ kid, iv, tag, ciphertext }: Sealed, context: string, keys: KeyRing): Buffer {
  const entry = keys.find((k) => k.id === kid);
  if (!entry) throw new DecryptionError(`key "${kid}" is not configured`);
  try {
    // authTagLength pins the tag to 16 bytes: Node would otherwise accept a truncated (forgeable) tag.
    const decipher = createDecipheriv("aes-256-gcm", entry.key, iv, { authTagLength: 16 });
    decipher.setAAD(aad(kid, context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new DecryptionError("authentication failed (tampered, wrong key or wrong context)");
  }
}

/** Text format, for text columns: `v1.<kid>.<iv>.<tag>.<ciphertext>`, parts base64url. */
export function encrypt(plaintext: string, context: string, keys: KeyRing = getEnv().ENCRYPTION_KEYS): string {
  const { kid, iv, tag, ciphertext } = seal(Buffer.from(plaintext, "utf8"), context, keys);
  return [VERSION, kid, b64u(iv), b64u(tag), b64u(ciphertext)].join(".");
}

export function decrypt(value: string, context: string, keys: KeyRing = getEnv().ENCRYPTION_KEYS): string {
  const parts = value.split(".");
  if (parts.length !== 5 || parts[0] !== VERSION) throw new DecryptionError("unknown format");
  const [, kid, iv, tag, ciphertext] = parts as [string, string, string, string, string];
  const sealed = { kid, iv: Buffer.from(iv, "base64url"), tag: Buffer.from(tag, "base64url"), ciphertext: Buffer.from(ciphertext, "base64url") };
  return open(sealed, context, keys).toString("utf8");
}

/**
 * Binary format, for bytea columns (files): the ASCII header `v1.<kid>.` followed by the raw IV (12 bytes), tag
 * (16 bytes) and ciphertext. Same key ring, same AAD (`v1.<kid>.<context>`) and same guarantees as `encrypt`,
 * without base64's third more bytes.
 */
export function encryptBytes(plaintext: Uint8Array, context: string, keys: KeyRing = getEnv().ENCRYPTION_KEYS): Buffer {
  const { kid, iv, tag, ciphertext } = seal(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength), context, keys);
  return Buffer.concat([BYTES_PREFIX, Buffer.from(`${kid}.`, "ascii"), iv, tag, ciphertext]);
}

/** The parts of a binary value, or undefined when it is not in the `v1.<kid>.` binary format. */
function parseBytes(value: Uint8Array): Sealed | undefined {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length < BYTES_PREFIX.length || !buf.subarray(0, BYTES_PREFIX.length).equals(BYTES_PREFIX)) return undefined;
  const dot = buf.indexOf(0x2e, BYTES_PREFIX.length);
  if (dot <= BYTES_PREFIX.length || dot - BYTES_PREFIX.length > MAX_KID_BYTES) return undefined;
  const start = dot + 1;
  if (buf.length < start + IV_BYTES + TAG_BYTES) return undefined;
  return {
    kid: buf.subarray(BYTES_PREFIX.length, dot).toString("ascii"),
    iv: buf.subarray(start, start + IV_BYTES),
    tag: buf.subarray(start + IV_BYTES, start + IV_BYTES + TAG_BYTES),
    ciphertext: buf.subarray(start + IV_BYTES + TAG_BYTES),
  };
}

export function decryptBytes(value: Uint8Array, context: string, keys: KeyRing = getEnv().ENCRYPTION_KEYS): Buffer {
  const sealed = parseBytes(value);
  if (!sealed) throw new DecryptionError("unknown format");
  return open(sealed, context, keys);
}

export function encryptJson(value: unknown, context: string, keys?: KeyRing) {
  return encrypt(JSON.stringify(value), context, keys);
}

export function decryptJson<T>(value: string, context: string, keys?: KeyRing): T {
  return JSON.parse(decrypt(value, context, keys)) as T;
}

/** The key id a stored value (text or binary format) was encrypted with (for rotation reports and re-encryption jobs). */
export function keyIdOf(value: string | Uint8Array): string | undefined {
  if (typeof value !== "string") return parseBytes(value)?.kid;
  const parts = value.split(".");
  return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
}

/** Lower-case, trimmed, Unicode-normalized email: the form every blind index is computed on. */
export function normalizeEmail(email: string): string {
  return email.normalize("NFKC").trim().toLowerCase();
}

/** Keyed blind index of a value within a namespace (e.g. "email"), hex-encoded. */
export function blindIndex(namespace: string, normalizedValue: string, key: string = getEnv().BLIND_INDEX_KEY): string {
  return createHmac("sha256", Buffer.from(key, "base64")).update(`${namespace}\0${normalizedValue}`).digest("hex");
}

export function emailBlindIndex(email: string, key?: string) {
  return blindIndex("email", normalizeEmail(email), key);
}

/** A uniformly random numeric code of `digits` digits (leading zeros kept). */
export function randomCode(digits = 6): string {
  return String(randomInt(0, 10 ** digits)).padStart(digits, "0");
}

/** A random URL-safe token with `bytes` bytes of entropy (default 32 = 256 bits). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** Keyed hash of a secret (codes, tokens) as stored in the database; `purpose` separates uses of the same key. */
export function hashSecret(purpose: string, secret: string, key: string = getEnv().SESSION_SECRET): string {
  return createHmac("sha256", key).update(`${purpose}\0${secret}`).digest("hex");
}

export function secretMatches(purpose: string, secret: string, storedHash: string, key?: string): boolean {
  const candidate = Buffer.from(hashSecret(purpose, secret, key), "hex");
  const stored = Buffer.from(storedHash, "hex");
  return candidate.length === stored.length && timingSafeEqual(candidate, stored);
}

export function sha256Hex(input: string | Buffer): string {
  return createHash("sha256").update(input).digest("hex");
}
