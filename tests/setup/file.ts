/**
 * Before each test file: a private database cloned from the migrated template, a private Redis key prefix,
 * a real SMTP listener, and a complete test configuration. Everything is torn down after the file.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import postgres from "postgres";
import { afterAll } from "vitest";
import { startMailCatcher } from "#app/utils/mail-catcher.server.ts";
import { REDIS_BASE_URL, adminUrl, databaseUrl, fileDbPrefix, templateDb } from "./databases.ts";
import { setTestMailbox } from "./mailbox.ts";

const id = randomBytes(5).toString("hex");
const dbName = `${fileDbPrefix()}${id}`;

const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${dbName}" template "${templateDb()}"`);

const mailbox = await startMailCatcher();
setTestMailbox(mailbox);

const key = () => randomBytes(32).toString("base64");
Object.assign(process.env, {
  NODE_ENV: "test",
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
  DATABASE_URL: databaseUrl(dbName),
  REDIS_URL: REDIS_BASE_URL,
  REDIS_PREFIX: `test-${id}`,
  SMTP_URL: mailbox.url,
  SESSION_SECRET: randomBytes(32).toString("hex"),
  ENCRYPTION_KEYS: `test1:${key()}`,
  BLIND_INDEX_KEY: key(),
  APP_URL: "http://localhost:3000",
});

afterAll(async () => {
  const { closeDb } = await import("#db/client.server.ts");
  await closeDb();
  await mailbox.close();
  const redis = new Redis(REDIS_BASE_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `test-${id}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end({ timeout: 5 });
});
