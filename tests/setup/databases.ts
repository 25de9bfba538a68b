/** Names and URLs of the test databases on the machine's PostgreSQL. */
export const TEMPLATE_DB = "portal_test_template";

export const PG_BASE_URL = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
export const REDIS_BASE_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function databaseUrl(name: string) {
  return `${PG_BASE_URL.replace(/\/+$/, "")}/${name}`;
}

export function adminUrl() {
  return databaseUrl("postgres");
}
