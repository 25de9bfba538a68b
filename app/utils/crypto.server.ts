/**
 * Encryption at rest and the secrets the portal hands out.
 *
 * - `encrypt`/`decrypt`: AES-256-GCM; the value carries the key id (`v1.<kid>.<iv>.<tag>.<ciphertext>`), so keys
 *   rotate: the first key of ENCRYPTION_KEYS encrypts, every listed key decrypts. `context` is bound as additional
 *   authenticated data, so a ciphertext moved to another column or record fails to decrypt.
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

export function encrypt(plaintext: string, context: string, keys: KeyRing = getEnv().ENCRYPTION_KEYS): string {
  const current = keys[0];
  if (!current) throw new Error("No encryption key configured");
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", current.key, iv);
  cipher.setAAD(Buffer.from(`${VERSION}.${current.id}.${context}`));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [VERSION, current.id, b64u(iv), b64u(cipher.getAuthTag()), b64u(ciphertext)].join(".");
}

export function decrypt(value: string, context: string, keys: KeyRing = getEnv().ENCRYPTION_KEYS): string {
  const parts = value.split(".");
  if (parts.length !== 5 || parts[0] !== VERSION) throw new DecryptionError("unknown format");
  const [, kid, iv, tag, ciphertext] = parts as [string, string, string, string, string];
  const entry = keys.find((k) => k.id === kid);
  if (!entry) throw new DecryptionError(`key "${kid}" is not configured`);
  try {
    // authTagLength pins the tag to 16 bytes: Node would otherwise accept a truncated (forgeable) tag.
    const decipher = createDecipheriv("aes-256-gcm", entry.key, Buffer.from(iv, "base64url"), { authTagLength: 16 });
    decipher.setAAD(Buffer.from(`${VERSION}.${kid}.${context}`));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new DecryptionError("authentication failed (tampered, wrong key or wrong context)");
  }
}

export function encryptJson(value: unknown, context: string, keys?: KeyRing) {
  return encrypt(JSON.stringify(value), context, keys);
}

export function decryptJson<T>(value: string, context: string, keys?: KeyRing): T {
  return JSON.parse(decrypt(value, context, keys)) as T;
}

/** The key id a stored value was encrypted with (for rotation reports and re-encryption jobs). */
export function keyIdOf(value: string): string | undefined {
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
