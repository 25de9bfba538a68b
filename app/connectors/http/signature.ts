/**
 * Request signing of the HTTP store contract (docs/connectors.md): the portal sends
 * `X-Portal-Timestamp: <unix seconds>` and `X-Portal-Signature: v1=<hex HMAC-SHA-256(secret, "<timestamp>.<raw body>")>`.
 * A service verifies with `verifyPortalSignature` (or its own 10 lines) and refuses stale timestamps (replay).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const TIMESTAMP_HEADER = "x-portal-timestamp";
export const SIGNATURE_HEADER = "x-portal-signature";
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signPortalBody(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: "missing" | "malformed" | "stale" | "mismatch" };

export function verifyPortalSignature(input: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  now?: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  const { secret, body, timestamp, signature } = input;
  if (!timestamp || !signature) return { ok: false, reason: "missing" };
  if (!/^\d{1,12}$/.test(timestamp) || !/^v1=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: "malformed" };
  const now = Math.floor((input.now ?? Date.now()) / 1000);
  if (Math.abs(now - Number(timestamp)) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: "stale" };
  const expected = Buffer.from(signPortalBody(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: "mismatch" };
}
