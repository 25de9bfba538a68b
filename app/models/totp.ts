/**
 * Time-based one-time passwords (RFC 6238) on top of HOTP (RFC 4226), with node:crypto only.
 *
 * Staff use SHA-1, 6 digits and 30-second steps — what every authenticator app understands. SHA-256/SHA-512 and
 * 7–8 digits exist only so the RFC's test vectors can be checked. Secrets are 20 random bytes (160 bits, RFC 4226's
 * recommendation), shown to people in base32 (RFC 4648, no padding) as authenticator apps expect.
 *
 * Pure functions: no database, no clock of their own (times are passed in), so they are tested exhaustively.
 * Replay protection (a code is never accepted twice) needs state and lives in app/models/mfa.server.ts.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export type TotpAlgorithm = "sha1" | "sha256" | "sha512";
export type TotpOptions = { algorithm?: TotpAlgorithm; digits?: number; stepSeconds?: number };

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one (clock drift, a code typed as it changed). */
export const TOTP_WINDOW = 1;
export const TOTP_SECRET_BYTES = 20;

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1; // keep only the bits not yet written
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32, ignoring case, spaces, hyphens and "=" padding (as people type keys); throws on other input. */
export function base32Decode(input: string): Buffer {
  const clean = input.replace(/[\s=-]/g, "").toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const index = BASE32_ALPHABET.indexOf(ch);
    if (index < 0) throw new TypeError("not a base32 string");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return Buffer.from(out);
}

/** A new random secret (20 bytes). */
export function generateTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

/** The secret as people type it into an authenticator app: base32 in groups of four ("ABCD EFGH …"). */
export function formatManualKey(base32: string): string {
  return base32.replace(/(.{4})(?=.)/g, "$1 ");
}

/** HOTP (RFC 4226 §5.3): HMAC of the 8-byte big-endian counter, dynamic truncation, `digits` decimal digits. */
export function hotp(secret: Uint8Array, counter: number | bigint, { algorithm = "sha1", digits = TOTP_DIGITS }: Omit<TotpOptions, "stepSeconds"> = {}): string {
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) throw new RangeError("digits must be 6, 7 or 8");
  const c = BigInt(counter);
  if (c < 0n || c > 0xffff_ffff_ffff_ffffn) throw new RangeError("counter out of range");
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(c);
  const mac = createHmac(algorithm, secret).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** The time step (RFC 6238 "T") of a moment: floor(unix seconds / step). */
export function totpStep(timeMs: number, stepSeconds = TOTP_STEP_SECONDS): number {
  return Math.floor(Math.floor(timeMs / 1000) / stepSeconds);
}

/** The TOTP code at a moment. */
export function totp(secret: Uint8Array, timeMs: number, options: TotpOptions = {}): string {
  return hotp(secret, totpStep(timeMs, options.stepSeconds), options);
}

/** The code of one given step (tests and tools that need "the next code"). */
export function totpAtStep(secret: Uint8Array, step: number, options: Omit<TotpOptions, "stepSeconds"> = {}): string {
  return hotp(secret, step, options);
}

/** Digits only, spaces and hyphens removed ("123 456" → "123456"); anything else is not a code. */
export function normalizeTotpCode(code: string): string | null {
  const clean = code.replace(/[\s-]/g, "");
  return /^\d{6}$/.test(clean) ? clean : null;
}

function sameCode(a: string, b: string) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The step a code belongs to, if it is valid within ±`window` steps of `timeMs` and newer than `afterStep`
 * (the last step already accepted for this secret); otherwise null. Every candidate is compared in constant time.
 * The caller must record the returned step so the code can never be accepted again.
 */
export function matchTotp(
  secret: Uint8Array,
  code: string,
  timeMs: number,
  { window = TOTP_WINDOW, afterStep = null, ...options }: TotpOptions & { window?: number; afterStep?: number | null } = {},
): number | null {
  const digits = options.digits ?? TOTP_DIGITS;
  const clean = code.replace(/[\s-]/g, "");
  if (clean.length !== digits || !/^\d+$/.test(clean)) return null;
  const current = totpStep(timeMs, options.stepSeconds);
  let matched: number | null = null;
  for (let step = current - window; step <= current + window; step++) {
    if (step < 0) continue;
    const ok = sameCode(hotp(secret, step, options), clean);
    if (ok && matched === null && (afterStep === null || step > afterStep)) matched = step;
  }
  return matched;
}

/** The `otpauth://` URI an authenticator app reads from the QR code (Key Uri Format). */
export function otpauthUri({ secretBase32, issuer, account }: { secretBase32: string; issuer: string; account: string }): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({ secret: secretBase32, issuer, algorithm: "SHA1", digits: String(TOTP_DIGITS), period: String(TOTP_STEP_SECONDS) });
  return `otpauth://totp/${label}?${params.toString().replace(/\+/g, "%20")}`;
}
