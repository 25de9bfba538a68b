/**
 * Scratch databases standing in for a company's connected stores: an empty PostgreSQL database named after the test
 * file's own database (`portal_test_<run>_f<id>_<tag>`, so the run's stale-database cleanup also finds it), or a
 * MariaDB/MySQL database `portal_t_<id>_<tag>`. The test creates its tables, and drops the database afterwards.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import postgres from "postgres";
import { PG_BASE_URL, adminUrl, databaseUrl } from "#tests/setup/databases.ts";

export const MYSQL_BASE_URL = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";

/** The random id of this test file (from its own database's name), or a fresh one outside the harness. */
function fileId(): string {
  const db = process.env.DATABASE_URL ? new URL(process.env.DATABASE_URL).pathname.slice(1) : "";
  return /_f([0-9a-f]+)$/.exec(db)?.[1] ?? randomBytes(5).toString("hex");
}

export type ScratchPostgres = { name: string; url: string; sql: postgres.Sql; drop: () => Promise<void> };

export async function createScratchPostgres(tag = "store"): Promise<ScratchPostgres> {
  const own = process.env.DATABASE_URL ? new URL(process.env.DATABASE_URL).pathname.slice(1) : `portal_scratch_${fileId()}`;
  const name = `${own}_${tag}`.slice(0, 63);
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unusual scratch database name ${name}`);
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = databaseUrl(name);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  return {
    name,
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const a = postgres(adminUrl(), { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end({ timeout: 5 });
      }
    },
  };
}

export type ScratchMysql = { name: string; url: string; pool: mysql.Pool; drop: () => Promise<void> };

export async function createScratchMysql(tag = "store"): Promise<ScratchMysql> {
  const name = `portal_t_${fileId()}_${tag}`.slice(0, 64);
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unusual scratch database name ${name}`);
  const admin = await mysql.createConnection({ uri: MYSQL_BASE_URL });
  try {
    await admin.query(`drop database if exists \`${name}\``);
    await admin.query(`create database \`${name}\` character set utf8mb4 collate utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  const url = `${MYSQL_BASE_URL.replace(/\/+$/, "")}/${name}`;
  const pool = mysql.createPool({ uri: url, connectionLimit: 2, multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      const a = await mysql.createConnection({ uri: MYSQL_BASE_URL });
      try {
        await a.query(`drop database if exists \`${name}\``);
      } finally {
        await a.end();
      }
    },
  };
}

export { PG_BASE_URL };
