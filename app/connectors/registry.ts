/**
 * Store kinds and their connectors. Adding a kind = one folder exporting a ConnectorDefinition as default, one line
 * here (and its `connection` schema in app/models/data-map.ts). Loaded lazily, so a process only loads the drivers
 * of the stores it talks to.
 */
import type { DataMap, StoreKind } from "#app/models/data-map.ts";
import type { Connector, ConnectorContext, ConnectorDefinition } from "./types.ts";

const connectors: Record<StoreKind, () => Promise<{ default: ConnectorDefinition<never> }>> = {
  postgres: () => import("./postgres/index.ts"),
  mysql: () => import("./mysql/index.ts"),
  http: () => import("./http/index.ts"),
  manual: () => import("./manual/index.ts"),
};

/** Kinds whose erasure is one store transaction that calls `EraseOptions.beforeCommit` before committing. */
export const transactionalKinds: ReadonlySet<string> = new Set<StoreKind>(["postgres", "mysql"]);

export function isSupportedKind(kind: string): kind is StoreKind {
  return Object.hasOwn(connectors, kind);
}

export async function createConnector(context: ConnectorContext<DataMap>): Promise<Connector> {
  const load = connectors[context.map.kind];
  if (!load) throw new Error(`no connector for store kind "${context.map.kind}"`);
  const definition = (await load()).default as unknown as ConnectorDefinition<DataMap>;
  return definition.create(context);
}
