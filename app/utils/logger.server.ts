/**
 * pino JSON logger with personal data redacted at the logger: known sensitive keys are censored wherever they
 * appear, and any string value that still looks like an email address is masked before the line is written.
 */
import pino, { type DestinationStream, type Logger } from "pino";

const SENSITIVE_KEYS = [
  "email",
  "name",
  "fullName",
  "phone",
  "address",
  "postalCode",
  "verificationCode",
  "token",
  "password",
  "secret",
  "identity",
  "authorization",
  "cookie",
  "set-cookie",
  "to",
  "from",
  "subject",
  "text",
  "html",
];

export const REDACT_PATHS = [
  // top-level "name" is pino's logger name, so only nested names are redacted
  ...SENSITIVE_KEYS.filter((k) => k !== "name"),
  ...SENSITIVE_KEYS.map((k) => `*.${k}`),
  ...SENSITIVE_KEYS.map((k) => `*.*.${k}`),
  'req.headers["x-forwarded-for"]',
];

const EMAIL_RE = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
/** 6-digit codes that could slip into messages. */
const CODE_RE = /\b\d{6}\b/g;
/** Long runs that may be random tokens (base64url). Redacted when mixed-case with digits, as CSPRNG tokens are;
 *  lower-case ids (UUIDs, job ids, hex hashes) stay readable. */
const TOKENISH_RE = /[A-Za-z0-9_-]{32,}/g;
const looksRandom = (s: string) => /[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s);

export function scrubString(value: string): string {
  return value
    .replace(EMAIL_RE, "[email]")
    .replace(CODE_RE, "[redacted]")
    .replace(TOKENISH_RE, (m) => (looksRandom(m) ? "[redacted]" : m));
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubString(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Error) return { type: value.name, message: scrubString(value.message), stack: value.stack ? scrubString(value.stack) : undefined };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

export function createLogger(options: { level?: string; name?: string } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      name: options.name ?? "portal",
      level: options.level ?? process.env.LOG_LEVEL ?? "info",
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      serializers: { err: (e: unknown) => scrub(e) },
      formatters: { log: (obj) => scrub(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          // The message string itself is scrubbed too: `log.info("sent to a@b.c")` never leaks the address.
          const scrubbed = args.map((a) => (typeof a === "string" ? scrubString(a) : a)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export const logger = createLogger();

/** A path safe to log: secrets in known path positions are masked and the query string is dropped. */
export function loggablePath(url: string): string {
  const path = url.split("?")[0] ?? "";
  return path
    .replace(/(\/verify\/)[^/]+/g, "$1[redacted]")
    .replace(/(\/confirm-agent\/)[^/]+/g, "$1[redacted]")
    .replace(/(\/invite\/)[^/]+/g, "$1[redacted]")
    .replace(/(\/status\/)[^/]+/g, "$1[redacted]")
    .replace(/(\/download\/)[^/]+/g, "$1[redacted]");
}
