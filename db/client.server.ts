/** The PostgreSQL connection (postgres.js) and the drizzle instance shared by web, worker and CLIs. */
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { getEnv } from "#app/utils/env.server.ts";
import * as schema from "./schema/index.ts";

export type Database = PostgresJsDatabase<typeof schema>;
/** A transaction or the database itself: model functions accept either, so callers can compose them atomically. */
export type Executor = Pick<Database, "select" | "insert" | "update" | "delete" | "execute" | "transaction" | "query">;

let client: postgres.Sql | undefined;
let database: Database | undefined;

export function getSql(): postgres.Sql {
  client ??= postgres(getEnv().DATABASE_URL, {
    max: 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "privacy-portal" },
  });
  return client;
}

export function getDb(): Database {
  database ??= drizzle(getSql(), { schema });
  return database;
}

export async function closeDb() {
  const c = client;
  client = undefined;
  database = undefined;
  await c?.end({ timeout: 5 });
}

export { schema };
