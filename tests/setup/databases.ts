/**
 * Names and URLs of the test databases on the machine's PostgreSQL. Every test run has its own template
 * (`portal_test_<run>_tpl`, run = the vitest main process id) and every file its own clone, so two runs on one
 * machine never touch each other's databases.
 */
export const PG_BASE_URL = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
export const REDIS_BASE_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function runId(): string {
  const id = process.env.PORTAL_TEST_RUN;
  if (!id) throw new Error("PORTAL_TEST_RUN is not set: tests/setup/global.ts did not run");
  return id;
}

export const templateDb = (run = runId()) => `portal_test_${run}_tpl`;
export const fileDbPrefix = (run = runId()) => `portal_test_${run}_f`;

/** The run id inside a test database name, if it is one. */
export function runOfDatabase(name: string): string | undefined {
  return /^portal_test_(\d+)_/.exec(name)?.[1];
}

export function databaseUrl(name: string) {
  return `${PG_BASE_URL.replace(/\/+$/, "")}/${name}`;
}

export function adminUrl() {
  return databaseUrl("postgres");
}
