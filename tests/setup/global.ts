/**
 * Once per test run: create this run's template database and apply the committed migrations to it (each test file
 * then clones it in milliseconds, see file.ts); drop databases left by earlier runs whose process is gone.
 */
import { existsSync } from "node:fs";
import postgres from "postgres";
import { migrateDatabase } from "#db/migrate.ts";
import { adminUrl, databaseUrl, runOfDatabase, templateDb } from "./databases.ts";

async function dropDatabases(names: string[]) {
  if (names.length === 0) return;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    for (const name of names) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

export default async function setup() {
  const run = String(process.pid);
  process.env.PORTAL_TEST_RUN = run; // inherited by the test workers

  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  let stale: string[];
  try {
    const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'portal_test_%'`;
    stale = rows.map((r) => r.datname).filter((n) => {
      const owner = runOfDatabase(n);
      return owner === undefined || owner === run || !existsSync(`/proc/${owner}`);
    });
  } finally {
    await admin.end({ timeout: 5 });
  }
  await dropDatabases(stale);
  await migrateDatabase(databaseUrl(templateDb(run)));

  return async () => {
    await dropDatabases([templateDb(run)]);
  };
}
