/** Values moving between stores and the portal: row keys, JSON-safe export, the keyed hash, secret references. */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { JsonValue } from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import { STORED_SECRET, isEnvRef, normalizeIdentityEmail, type FieldDef } from "#app/models/data-map.ts";

/** A stable string for a value or tuple (set/map key); dates and buffers by content. */
export function keyOf(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v && typeof v === "object" && (v as { type?: string }).type === "Buffer") return `b:${Buffer.from((v as { data: number[] }).data).toString("hex")}`;
    return v;
  });
}

/** A store value as JSON: dates ISO-8601, big integers as strings, bytes base64. */
export function toJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object") {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value as JsonValue;
}

export const HASH_PREFIX = "hmac:";

/** `hmac:<hex HMAC-SHA-256>` of a field value under the store's key; email identities are hashed normalized. */
export function hashFieldValue(field: Pick<FieldDef, "identity">, value: unknown, key: Buffer): string {
  let input = value instanceof Date ? value.toISOString() : Buffer.isBuffer(value) ? value.toString("base64") : String(value);
  if (field.identity === "email") input = normalizeIdentityEmail(input) ?? input;
  return HASH_PREFIX + createHmac("sha256", key).update(input).digest("hex");
}

export const isHashed = (value: unknown) => typeof value === "string" && value.startsWith(HASH_PREFIX) && value.length === HASH_PREFIX.length + 64;

/** Loosely equal as stored values (drivers return numbers as strings for big types). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (b === null || b === undefined) return false;
  if (typeof a === "boolean" || typeof b === "boolean") return String(a) === String(b) || Number(a) === Number(b);
  return String(a) === String(b);
}

type Env = Record<string, string | undefined>;

/** Resolves `env:NAME`, `stored` (from the decrypted secrets) or a literal; `path` names the setting in errors. */
export function resolveRef(value: string, path: string, secrets: Partial<Record<string, string>>, key: string, env: Env = process.env): string {
  if (isEnvRef(value)) {
    const name = value.slice(4);
    const v = env[name];
    if (!v) throw new StoreError("config_missing", `${path}: environment variable ${name} is not set`);
    return v;
  }
  if (value === STORED_SECRET) {
    const v = secrets[key];
    if (!v) throw new StoreError("config_missing", `${path}: no stored secret (apply the map again with the value)`);
    return v;
  }
  return value;
}

/** A CA certificate: `env:NAME`, `file:/path` or PEM text. */
export function resolveCa(value: string | undefined, path: string, env: Env = process.env): string | undefined {
  if (value === undefined) return undefined;
  if (isEnvRef(value)) return resolveRef(value, path, {}, "", env);
  if (value.startsWith("file:")) {
    try {
      return readFileSync(value.slice(5), "utf8");
    } catch {
      throw new StoreError("config_missing", `${path}: cannot read ${value.slice(5)}`);
    }
  }
  return value;
}

export const isLoopbackHost = (host: string) => ["localhost", "127.0.0.1", "::1", "[::1]", ""].includes(host.toLowerCase()) || host.startsWith("/");
