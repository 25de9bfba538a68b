/**
 * MySQL and MariaDB stores through mysql2. The engine (app/models/engine) does the traversal and erasure; this file
 * supplies connections, TLS, the information_schema queries and error translation.
 */
import type { Connection as CallbackConnection } from "mysql2";
import mysql, { type Pool, type PoolConnection, type ResultSetHeader, type RowDataPacket } from "mysql2/promise";
import type { ConnectorDefinition } from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import type { MysqlDataMap } from "#app/models/data-map.ts";
import { createSqlConnector } from "#app/models/engine/sql-connector.ts";
import { mysqlDialect, type ForeignKeyInfo, type Row, type SqlDriver, type TableCatalog } from "#app/models/engine/sql.ts";
import { resolveRef } from "#app/models/engine/values.ts";
import { sqlConnectionSettings } from "#app/connectors/sql-connection.ts";

const RETRYABLE = new Set([
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_QUERY_TIMEOUT",
  "ER_STATEMENT_TIMEOUT",
  "ER_QUERY_INTERRUPTED",
  "ER_CON_COUNT_ERROR",
  "PROTOCOL_CONNECTION_LOST",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
]);

/** A mysql2 error as a StoreError; quoted values ('…') are blanked out of the message. */
export function translateMysqlError(error: unknown): StoreError {
  const e = error as { code?: string; errno?: number; sqlMessage?: string; message?: string };
  const code = e?.code ?? "";
  if (e?.errno && e.sqlMessage !== undefined) {
    const message = e.sqlMessage.replace(/'(?:[^'\\]|\\.)*'/g, "'…'").slice(0, 300);
    return new StoreError(`mysql_${code || e.errno}`, `MySQL ${e.errno} ${code}: ${message}`, RETRYABLE.has(code), { cause: error });
  }
  if (RETRYABLE.has(code)) return new StoreError("store_unreachable", `cannot reach the database (${code})`, true, { cause: error });
  if (/CERT|SSL|TLS/i.test(code) || /certificate|ssl|tls/i.test(String(e?.message))) {
    return new StoreError("tls_failed", `TLS to the database failed (${code || "handshake"})`, false, { cause: error });
  }
  return new StoreError("store_error", `database error${code ? ` (${code})` : ""}`, false, { cause: error });
}

function session(connection: PoolConnection) {
  // A result abandoned midway (the consumer stopped reading) leaves rows on the wire: such a connection is
  // destroyed instead of going back to the pool.
  let dirty = false;
  return {
    query: async (text: string, params: unknown[]) => (await connection.query<RowDataPacket[]>(text, params))[0] as Row[],
    async *stream(text: string, params: unknown[]): AsyncIterable<Row> {
      // The callback connection underneath streams rows instead of buffering the result.
      const raw = connection.connection as unknown as CallbackConnection;
      let complete = false;
      try {
        for await (const row of raw.query(text, params).stream({ highWaterMark: 500 })) yield row as Row;
        complete = true;
      } finally {
        if (!complete) dirty = true;
      }
    },
    execute: async (text: string, params: unknown[]) => (await connection.query<ResultSetHeader>(text, params))[0].affectedRows ?? 0,
    release: async () => (dirty ? connection.destroy() : connection.release()),
  };
}

const definition: ConnectorDefinition<MysqlDataMap> = {
  kind: "mysql",
  create(context) {
    const { connection } = context.map;
    const env = context.env ?? process.env;
    const url = new URL(resolveRef(connection.url, "connection.url", context.secrets, "url", env).replace(/^mariadb:/, "mysql:"));
    for (const k of ["ssl", "ssl-mode", "sslmode"]) url.searchParams.delete(k);
    const { password, ca, warnings } = sqlConnectionSettings(context, url.hostname);
    let pool: Pool | undefined;
    const getPool = () => {
      if (pool) return pool;
      pool = mysql.createPool({
        uri: url.toString(),
        ...(password ? { password } : {}),
        connectionLimit: connection.poolSize,
        ...(connection.tls.mode === "disable" ? {} : { ssl: { rejectUnauthorized: connection.tls.mode === "verify-full", ...(ca ? { ca } : {}) } }),
        supportBigNumbers: true,
        bigNumberStrings: true,
        timezone: "Z",
        connectTimeout: 10_000,
        multipleStatements: false,
      });
      const seconds = connection.statementTimeoutMs / 1000;
      // MariaDB: max_statement_time (seconds); MySQL: max_execution_time (ms, SELECT only).
      pool.pool.on("connection", (c) => {
        c.query("set session max_statement_time = ?", [seconds], (err) => {
          if (err) c.query("set session max_execution_time = ?", [connection.statementTimeoutMs], () => {});
        });
      });
      return pool;
    };

    const driver: SqlDriver = {
      dialect: mysqlDialect,
      session: async () => session(await getPool().getConnection()),
      async ping() {
        const [rows] = await getPool().query<RowDataPacket[]>("select version() as v");
        const v = String(rows[0]?.v ?? "?");
        return { server: /mariadb/i.test(v) ? `MariaDB ${v.replace(/-MariaDB.*$/i, "")}` : `MySQL ${v}` };
      },
      async catalog(tables) {
        const p = getPool();
        const result = new Map<string, TableCatalog>();
        for (const table of tables) {
          const [schemaName, tableName] = table.includes(".") ? table.split(".") : [null, table];
          const [found] = await p.query<RowDataPacket[]>(
            "select table_schema as s, table_name as t from information_schema.tables where table_schema = coalesce(?, database()) and table_name = ?",
            [schemaName, tableName],
          );
          const rel = found[0];
          if (!rel) {
            result.set(table, { exists: false, columns: [], indexed: new Set(), lowerIndexed: new Set(), referencedBy: [] });
            continue;
          }
          const args = [rel.s, rel.t];
          const [columns] = await p.query<RowDataPacket[]>(
            "select column_name as c from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
            args,
          );
          const [indexed] = await p.query<RowDataPacket[]>(
            "select column_name as c from information_schema.statistics where table_schema = ? and table_name = ? and seq_in_index = 1 and column_name is not null",
            args,
          );
          const [fks] = await p.query<RowDataPacket[]>(
            `select rc.constraint_schema as s, rc.table_name as t, rc.delete_rule as r,
                    group_concat(k.column_name order by k.ordinal_position) as cols
             from information_schema.referential_constraints rc
             join information_schema.key_column_usage k
               on k.constraint_schema = rc.constraint_schema and k.constraint_name = rc.constraint_name and k.table_name = rc.table_name
             where rc.unique_constraint_schema = ? and rc.referenced_table_name = ? and rc.table_name <> rc.referenced_table_name
             group by rc.constraint_schema, rc.table_name, rc.constraint_name, rc.delete_rule`,
            args,
          );
          result.set(table, {
            exists: true,
            canonical: `${rel.s}.${rel.t}`,
            columns: columns.map((c) => String(c.c)),
            indexed: new Set(indexed.map((i) => String(i.c))),
            lowerIndexed: new Set(),
            referencedBy: fks.map((f) => ({
              table: `${f.s}.${f.t}`,
              columns: String(f.cols ?? "").split(",").filter(Boolean),
              onDelete: String(f.r).toLowerCase() as ForeignKeyInfo["onDelete"],
            })),
          });
        }
        return result;
      },
      close: async () => {
        const p = pool;
        pool = undefined;
        await p?.end();
      },
    };
    return createSqlConnector(context, driver, { translate: translateMysqlError, warnings });
  },
};

export default definition;
