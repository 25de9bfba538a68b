/**
 * PostgreSQL stores through postgres.js. The engine (app/models/engine) does the traversal and erasure; this file
 * supplies connections, TLS, the catalog queries and error translation.
 */
import postgres from "postgres";
import type { ConnectorDefinition } from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import type { PostgresDataMap } from "#app/models/data-map.ts";
import { createSqlConnector } from "#app/models/engine/sql-connector.ts";
import { postgresDialect, type ForeignKeyInfo, type Row, type SqlDriver, type TableCatalog } from "#app/models/engine/sql.ts";
import { resolveRef } from "#app/models/engine/values.ts";
import { sqlConnectionSettings } from "#app/connectors/sql-connection.ts";

const RETRYABLE_STATES = new Set(["40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"]);
const NETWORK = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED"]);

/** A postgres error as a StoreError; values quoted at the end of a message (`…: "abc"`) are dropped. */
export function translatePostgresError(error: unknown): StoreError {
  const e = error as { code?: string; message?: string };
  const code = e?.code ?? "";
  if (/^[0-9A-Z]{5}$/.test(code)) {
    const message = String(e.message ?? "").replace(/:\s*".*$/s, "").slice(0, 300);
    const retryable = RETRYABLE_STATES.has(code) || code.startsWith("08") || code.startsWith("53");
    return new StoreError(`pg_${code}`, `PostgreSQL ${code}: ${message}`, retryable, { cause: error });
  }
  if (NETWORK.has(code)) return new StoreError("store_unreachable", `cannot reach the database (${code})`, true, { cause: error });
  if (/CERT|SSL|TLS/i.test(code) || /certificate|ssl|tls/i.test(String(e?.message))) {
    return new StoreError("tls_failed", `TLS to the database failed (${code || "handshake"})`, false, { cause: error });
  }
  return new StoreError("store_error", `database error${code ? ` (${code})` : ""}`, false, { cause: error });
}

const deleteRules: Record<string, ForeignKeyInfo["onDelete"]> = { a: "no action", r: "restrict", c: "cascade", n: "set null", d: "set default" };

const definition: ConnectorDefinition<PostgresDataMap> = {
  kind: "postgres",
  create(context) {
    const { connection } = context.map;
    const env = context.env ?? process.env;
    const url = new URL(resolveRef(connection.url, "connection.url", context.secrets, "url", env));
    // The map's tls settings govern: an sslmode in the URL would be a second, conflicting source.
    url.searchParams.delete("sslmode");
    const { password, ca, warnings } = sqlConnectionSettings(context, url.hostname);
    const ssl = connection.tls.mode === "disable" ? false : { rejectUnauthorized: connection.tls.mode === "verify-full", ...(ca ? { ca } : {}) };

    const sql = postgres(url.toString(), {
      max: connection.poolSize,
      ssl,
      ...(password ? { password } : {}),
      connect_timeout: 10,
      idle_timeout: 20,
      onnotice: () => {},
      connection: { application_name: "privacy-portal", statement_timeout: connection.statementTimeoutMs },
    });
    const run = (q: postgres.Sql, text: string, params: unknown[]) => q.unsafe(text, params as never[]);

    const driver: SqlDriver = {
      dialect: postgresDialect,
      async session() {
        const reserved = await sql.reserve();
        return {
          query: async (text, params) => [...(await run(reserved, text, params))] as Row[],
          async *stream(text, params) {
            for await (const batch of run(reserved, text, params).cursor(500)) yield* batch as Row[];
          },
          execute: async (text, params) => (await run(reserved, text, params)).count,
          release: async () => reserved.release(),
        };
      },
      async ping() {
        const [row] = await sql`select current_setting('server_version') as v`;
        return { server: `PostgreSQL ${row?.v ?? "?"}` };
      },
      async catalog(tables) {
        const result = new Map<string, TableCatalog>();
        for (const table of tables) {
          const [rel] = await sql<{ oid: string; schema: string; name: string }[]>`
            select c.oid::int8::text as oid, n.nspname as schema, c.relname as name
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.oid = to_regclass(${postgresDialect.table(table)})`;
          if (!rel) {
            result.set(table, { exists: false, columns: [], indexed: new Set(), lowerIndexed: new Set(), referencedBy: [] });
            continue;
          }
          const oid = rel.oid;
          const columns = await sql<{ name: string }[]>`
            select attname::text as name from pg_attribute where attrelid = ${oid}::oid and attnum > 0 and not attisdropped order by attnum`;
          const indexed = await sql<{ name: string }[]>`
            select a.attname::text as name from pg_index i
            join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
            where i.indrelid = ${oid}::oid and i.indpred is null and i.indisvalid`;
          const expressions = await sql<{ expr: string }[]>`
            select pg_get_indexdef(i.indexrelid, 1, false) as expr from pg_index i
            where i.indrelid = ${oid}::oid and i.indkey[0] = 0 and i.indpred is null and i.indisvalid`;
          const fks = await sql<{ tbl: string; rule: string; cols: string[] }[]>`
            select n.nspname || '.' || c.relname as tbl, k.confdeltype::text as rule,
              (select array_agg(a.attname::text order by a.attnum) from pg_attribute a where a.attrelid = k.conrelid and a.attnum = any(k.conkey)) as cols
            from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
            where k.contype = 'f' and k.confrelid = ${oid}::oid and k.conrelid <> k.confrelid`;
          const lowerIndexed = new Set<string>();
          for (const { expr } of expressions) {
            const m = /^lower\(\(?("?)(.+?)\1\)?(?:::[a-z ]+)?\)$/i.exec(expr.trim());
            if (m) lowerIndexed.add(m[1] ? m[2]!.replaceAll('""', '"') : m[2]!.toLowerCase());
          }
          result.set(table, {
            exists: true,
            canonical: `${rel.schema}.${rel.name}`,
            columns: columns.map((c) => c.name),
            indexed: new Set(indexed.map((i) => i.name)),
            lowerIndexed,
            referencedBy: fks.map((f) => ({ table: f.tbl, columns: f.cols ?? [], onDelete: deleteRules[f.rule] ?? "no action" })),
          });
        }
        return result;
      },
      close: () => sql.end({ timeout: 5 }),
    };
    const translate = (error: unknown) => {
      const e = translatePostgresError(error);
      // postgres.js starts the TLS handshake even when the server declined TLS: the reset is the only sign.
      if (ssl && e.code === "store_unreachable" && (error as { code?: string }).code === "ECONNRESET") {
        return new StoreError("store_unreachable", `the connection was reset during connect (ECONNRESET): does the server accept TLS? (tls.mode: ${connection.tls.mode})`, true, { cause: error });
      }
      return e;
    };
    return createSqlConnector(context, driver, { translate, warnings });
  },
};

export default definition;
