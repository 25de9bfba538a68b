/**
 * The one configuration object of the portal, parsed once at boot by web and worker.
 * Bad or missing values stop the process with a message naming every bad key (never its value).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { getNextMillis } from "bullmq";
import { z } from "zod";
import { isoOfDay } from "#app/models/calendar/civil-date.ts";
import { parseHolidays } from "#app/models/calendar/working-days.ts";
import { canonicalTimeZone, isTimeZone } from "#app/models/calendar/zone.ts";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const base64Key = z
  .string()
  .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64-encoded");

/** "id:base64key,id2:base64key2" — the first key encrypts new values, all of them decrypt. */
const keyRing = z
  .string()
  .min(1)
  .transform((raw, ctx) => {
    const keys: { id: string; key: Buffer }[] = [];
    for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
      const sep = part.indexOf(":");
      const id = sep > 0 ? part.slice(0, sep) : "";
      const key = Buffer.from(sep > 0 ? part.slice(sep + 1) : "", "base64");
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
        ctx.addIssue({ code: "custom", message: "each entry must be <id>:<32 bytes base64>, id of [A-Za-z0-9_-]" });
        return z.NEVER;
      }
      if (keys.some((k) => k.id === id)) {
        ctx.addIssue({ code: "custom", message: `key id "${id}" appears twice` });
        return z.NEVER;
      }
      keys.push({ id, key });
    }
    if (keys.length === 0) {
      ctx.addIssue({ code: "custom", message: "at least one key is required" });
      return z.NEVER;
    }
    return keys;
  });

/** An IANA time-zone name the platform's Intl knows, in its canonical spelling. */
const timeZone = z.string().transform((v, ctx) => {
  if (isTimeZone(v)) return canonicalTimeZone(v);
  ctx.addIssue({ code: "custom", message: "must be an IANA time zone such as Europe/Berlin or UTC" });
  return z.NEVER;
});

/** "2026-12-25,2026-12-26" → sorted, de-duplicated YYYY-MM-DD strings. */
const holidayList = z.string().transform((v, ctx) => {
  try {
    return [...parseHolidays(v)].sort((a, b) => a - b).map(isoOfDay);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a comma-separated list of real dates, YYYY-MM-DD" });
    return z.NEVER;
  }
});

/** A cron pattern (5 fields, or 6 with seconds first) that BullMQ's cron parser accepts. */
const cronPattern = z.string().transform((v, ctx) => {
  const pattern = v.trim().replace(/\s+/g, " ");
  const fields = pattern.split(" ").length;
  let ok = fields === 5 || fields === 6;
  if (ok) {
    try {
      ok = getNextMillis(Date.now(), { pattern, tz: "UTC" }) !== undefined;
    } catch {
      ok = false;
    }
  }
  if (ok) return pattern;
  ctx.addIssue({ code: "custom", message: 'must be a cron pattern such as "0 8 * * *" (minute hour day month weekday)' });
  return z.NEVER;
});

const days = (max: number) => z.coerce.number().int().min(0).max(max);

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    HOST: z.string().default("0.0.0.0"),
    APP_URL: z.url().optional(),
    DATABASE_URL: z.url().default("postgres://postgres@127.0.0.1:5432/privacy_portal"),
    REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
    REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("portal"),
    SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    ENCRYPTION_KEYS: keyRing.optional(),
    BLIND_INDEX_KEY: base64Key.optional(),
    SMTP_URL: z.url().default("smtp://127.0.0.1:1025"),
    MAIL_FROM: z.string().min(3).default("Privacy Team <privacy@demo-shop.example>"),
    ORG_NAME: z.string().min(1).default("Demo Shop"),
    ORG_TIMEZONE: timeZone.default("UTC"),
    ORG_HOLIDAYS: holidayList.default([]),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    TRUST_PROXY: z
      .string()
      .default("false")
      .transform((v) => (v === "true" ? true : v === "false" || v === "" ? false : /^\d+$/.test(v) ? Number(v) : v)),
    FORCE_HTTPS: bool.default(false),
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
    VERIFICATION_CODE_TTL_MINUTES: z.coerce.number().int().min(1).max(60).default(15),
    VERIFICATION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
    MAILBOX_DIR: z.string().default(".data/mailbox"),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(5),
    WORKER_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
    RECONCILE_EVERY_MS: z.coerce.number().int().min(1000).default(60_000),
    // Execution of approved requests and access packages (docs/decisions/013-execution-and-packages.md).
    PACKAGE_DIR: z.string().min(1).default(".data/packages"),
    PACKAGE_DOWNLOAD_DAYS: z.coerce.number().int().min(1).max(90).default(7),
    EXECUTION_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
    STORE_CALLBACK_TIMEOUT_HOURS: z.coerce.number().int().min(1).max(720).default(72),
    WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    // Schedules (jobs/schedules.ts): cron patterns in ORG_TIMEZONE, and their thresholds (README "Schedules").
    REMINDER_CRON: cronPattern.default("0 8 * * *"),
    EXPIRY_CRON: cronPattern.default("0 5 * * *"),
    RETENTION_CRON: cronPattern.default("30 5 * * *"),
    REMINDER_DUE_SOON_DAYS: days(90).default(7),
    REMINDER_DUE_VERY_SOON_DAYS: days(90).default(2),
    EXTENSION_WINDOW_WARNING_DAYS: days(90).default(3),
    ACKNOWLEDGEMENT_WARNING_BUSINESS_DAYS: days(30).default(2),
    UNVERIFIED_EXPIRY_DAYS: z.coerce.number().int().min(1).max(365).default(14),
    INFO_REQUEST_EXPIRY_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    RETENTION_MONTHS: z.coerce.number().int().min(1).max(240).default(24),
    // Staff console: the EU supervisory authority named in GDPR denials (Art. 12(4), 77). Default: the EDPB's list of
    // every national authority (a requester may complain where they live, work, or where the infringement happened).
    EU_LEAD_AUTHORITY_NAME: z.string().trim().min(3).max(200).default("the data protection authority of your EU or EEA country"),
    EU_LEAD_AUTHORITY_URL: z.url({ protocol: /^https?$/ }).default("https://www.edpb.europa.eu/about-edpb/about-edpb/members_en"),
    // Staff passwords: maximum age in days, 0 = never expire (NIST SP 800-63B advises against forced changes; ADR 008).
    STAFF_MAX_PASSWORD_AGE_DAYS: days(3650).default(0),
  })
  .superRefine((env, ctx) => {
    if (env.REMINDER_DUE_VERY_SOON_DAYS > env.REMINDER_DUE_SOON_DAYS) {
      ctx.addIssue({ code: "custom", path: ["REMINDER_DUE_VERY_SOON_DAYS"], message: "must not be larger than REMINDER_DUE_SOON_DAYS" });
    }
    if (env.NODE_ENV !== "production") return;
    // Secrets are never defaulted in production.
    for (const key of ["SESSION_SECRET", "ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "APP_URL"] as const) {
      if (env[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: "is required when NODE_ENV=production" });
    }
  });

export type Env = Omit<z.infer<typeof schema>, "SESSION_SECRET" | "ENCRYPTION_KEYS" | "BLIND_INDEX_KEY" | "APP_URL"> & {
  SESSION_SECRET: string;
  ENCRYPTION_KEYS: { id: string; key: Buffer }[];
  BLIND_INDEX_KEY: string;
  APP_URL: string;
  isProduction: boolean;
};

export class EnvError extends Error {
  constructor(public readonly keys: string[], message: string) {
    super(message);
    this.name = "EnvError";
  }
}

/** Reads KEY=VALUE lines of a .env file without overriding variables already set. */
export function loadDotEnv(path = resolve(process.cwd(), ".env"), target: Record<string, string | undefined> = process.env) {
  if (!existsSync(path)) return false;
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    const key = m[1]!;
    let value = m[2]!;
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1);
    if (target[key] === undefined) target[key] = value;
  }
  return true;
}

export function parseEnv(source: Record<string, string | undefined>): Env {
  // Empty strings count as unset, so `KEY=` in a .env falls back to the default.
  const input = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    const keys = [...new Set(result.error.issues.map((i) => String(i.path[0] ?? "")))];
    throw new EnvError(keys, `Invalid configuration (see .env.example):\n${lines.join("\n")}`);
  }
  const env = result.data;
  const missing = (["SESSION_SECRET", "ENCRYPTION_KEYS", "BLIND_INDEX_KEY"] as const).filter((k) => env[k] === undefined);
  if (missing.length > 0) {
    throw new EnvError(
      [...missing],
      `Missing secrets: ${missing.join(", ")}. Run \`npm run secrets\` (or \`npm run demo\`) to generate a local .env, ` +
        "or set them in the environment (see .env.example).",
    );
  }
  return {
    ...env,
    SESSION_SECRET: env.SESSION_SECRET!,
    ENCRYPTION_KEYS: env.ENCRYPTION_KEYS!,
    BLIND_INDEX_KEY: env.BLIND_INDEX_KEY!,
    APP_URL: (env.APP_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ""),
    isProduction: env.NODE_ENV === "production",
  };
}

let cached: Env | undefined;

/** The parsed configuration; the first call loads .env (outside production) and validates. */
export function getEnv(): Env {
  if (!cached) {
    if (process.env.NODE_ENV !== "production" && process.env.NODE_ENV !== "test") loadDotEnv();
    cached = parseEnv(process.env);
  }
  return cached;
}

/** Boot helper for web and worker: print the configuration problem and exit non-zero. */
export function getEnvOrExit(): Env {
  try {
    return getEnv();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
