/**
 * What the SQL connectors (postgres, mysql) read alike from a store's `connection`: the password and the CA
 * certificate, resolved from their references, and the warnings its TLS settings deserve for the host `hostname`.
 */
import type { ConnectorContext, StoreWarning } from "#app/connectors/types.ts";
import type { MysqlDataMap, PostgresDataMap } from "#app/models/data-map.ts";
import { isLoopbackHost, resolveCa, resolveRef } from "#app/models/engine/values.ts";

export function sqlConnectionSettings(context: ConnectorContext<PostgresDataMap | MysqlDataMap>, hostname: string) {
  const { connection } = context.map;
  const env = context.env ?? process.env;
  const password = connection.password ? resolveRef(connection.password, "connection.password", context.secrets, "password", env) : undefined;
  const ca = resolveCa(connection.tls.ca, "connection.tls.ca", env);
  const warnings: StoreWarning[] = [];
  if (connection.tls.mode === "require") {
    warnings.push({ code: "tls_unverified", message: "TLS is on but the server's certificate is not verified (tls.mode: require)", fix: "tls.mode: verify-full" });
  } else if (connection.tls.mode === "disable" && !isLoopbackHost(hostname)) {
    warnings.push({ code: "tls_disabled", message: `the connection to ${hostname} is not encrypted (tls.mode: disable)`, fix: "tls.mode: verify-full" });
  }
  return { password, ca, warnings };
}
