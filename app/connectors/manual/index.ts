/**
 * Manual stores: systems the portal cannot reach (a SaaS admin screen, paper files). Access and erasure create a task
 * for staff with the map's instructions; staff complete it in the console and record the counts there.
 */
import type { AccessItem, ConnectorDefinition, ManualTask } from "#app/connectors/types.ts";
import type { ManualDataMap } from "#app/models/data-map.ts";

const definition: ConnectorDefinition<ManualDataMap> = {
  kind: "manual",
  create(context) {
    const task = (action: ManualTask["action"]): ManualTask => ({
      store: context.store,
      action,
      instructions: context.map.connection.instructions,
      ...(context.map.connection.team ? { team: context.map.connection.team } : {}),
    });
    return {
      kind: "manual",
      async test() {
        return { connected: true, latencyMs: 0, server: "manual", ok: true, errors: [], warnings: [], collections: [] };
      },
      async describe() {
        return { ok: true, errors: [], warnings: [], collections: Object.values(context.map.collections).map((c) => ({ name: c.name, table: c.table })) };
      },
      async find() {
        return { found: "unknown" as const, collections: {} };
      },
      access(): AsyncIterable<AccessItem> {
        return (async function* () {
          yield { type: "task" as const, task: task("access") };
        })();
      },
      async erase() {
        return { status: "task" as const, task: task("erasure") };
      },
      async close() {},
    };
  },
};

export default definition;
