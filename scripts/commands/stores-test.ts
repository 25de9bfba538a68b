/**
 * `stores:test <store>`: connects to a store and checks its data map against it — tables, columns, indexes (with the
 * CREATE INDEX to run), foreign keys, TLS. JSON out; exit 1 when it cannot connect or the map does not fit.
 */
import { DomainError } from "#app/models/errors.ts";
import { testStore } from "#app/models/stores.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { closeDb, getDb } from "#db/client.server.ts";

export default {
  summary: "connect to a store and check its data map (indexes, columns, TLS)",
  async run(args: string[]) {
    const [name, ...rest] = args;
    if (!name || rest.length > 0 || name.startsWith("-")) {
      console.error("Usage: npm run portal -- stores:test <store>");
      return 64;
    }
    getEnvOrExit();
    try {
      const result = await testStore(getDb(), name);
      console.log(JSON.stringify(result, null, 2));
      return result.connected && result.ok ? 0 : 1;
    } catch (error) {
      if (error instanceof DomainError) {
        console.error(error.userMessage);
        return 1;
      }
      throw error;
    } finally {
      await closeDb();
    }
  },
};
