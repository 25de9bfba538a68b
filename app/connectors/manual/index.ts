/**
 * Manual stores: systems the portal cannot reach (a SaaS admin screen, paper files). Access and erasure create a task
 * for staff with the map's instructions; staff complete it in the console and record the counts there. Corrections and
 * opt-outs too (the task names the attributes or preferences, never the values).
 */
import type { AccessItem, ConnectorDefinition, ManualTask } from "#app/connectors/types.ts";
import type { ManualDataMap } from "#app/models/data-map.ts";
import { normalizeCorrectionValues, updateTask } from "#app/models/engine/targets.ts";

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
      async correct(_subject, values) {
        return { status: "task" as const, task: updateTask(context.store, context.map, "correction", Object.keys(normalizeCorrectionValues(values))) };
      },
      async optOut(_subject, kinds) {
        return { status: "task" as const, task: updateTask(context.store, context.map, "opt_out", kinds) };
      },
      async close() {},
    };
  },
};

export default definition;
