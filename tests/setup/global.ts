/**
 * Once per test run: (re)create the template database and apply the committed migrations to it.
 * Each test file then clones it (tests/setup/file.ts), which takes milliseconds.
 */
import postgres from "postgres";
import { migrateDatabase } from "#db/migrate.ts";
import { TEMPLATE_DB, adminUrl, databaseUrl } from "./databases.ts";

export default async function setup() {
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    // Leftovers of an interrupted earlier run.
    const stale = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'portal_test_%'`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    await admin.unsafe(`drop database if exists "${TEMPLATE_DB}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  await migrateDatabase(databaseUrl(TEMPLATE_DB));
}
