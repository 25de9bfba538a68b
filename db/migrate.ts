/** `npm run db:migrate`: creates the database when it is missing, then applies the committed migrations. */
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

/** CREATE DATABASE when the target does not exist yet (connecting through the `postgres` maintenance db). */
export async function ensureDatabase(url: string, template?: string) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`Refusing to create a database with an unusual name (${name.length} chars)`);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) {
      await sql.unsafe(`create database "${name}"${template ? ` template "${template}"` : ""}`);
      return true;
    }
    return false;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function migrateDatabase(url: string) {
  await ensureDatabase(url);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(sql), { migrationsFolder });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Only the database URL is needed here, so migrating works before any secret exists.
  const { loadDotEnv } = await import("#app/utils/env.server.ts");
  if (process.env.NODE_ENV !== "production") loadDotEnv();
  await migrateDatabase(process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/privacy_portal");
  console.log("Database migrated.");
}
