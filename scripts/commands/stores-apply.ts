/**
 * `stores:apply <file>`: creates or updates the store named in a data-map file (YAML or JSON). Literal secrets in the
 * file are stored encrypted and never printed; the output is JSON (store, kind, created, changed, map version).
 */
import { readFile } from "node:fs/promises";
import { DataMapError } from "#app/models/data-map.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { closeDb, getDb } from "#db/client.server.ts";

const USAGE = "Usage: npm run portal -- stores:apply <data-map.yaml|json>";

export default {
  summary: "create or update a connected store from a data-map file",
  async run(args: string[]) {
    const [file, ...rest] = args;
    if (!file || rest.length > 0 || file.startsWith("-")) {
      console.error(USAGE);
      return 64;
    }
    let source: string;
    try {
      source = await readFile(file, "utf8");
    } catch (error) {
      console.error(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
      return 66; // EX_NOINPUT
    }
    getEnvOrExit();
    try {
      const { store, created, changed } = await applyStoreMap(getDb(), source);
      console.log(JSON.stringify({ store: store.name, id: store.id, kind: store.kind, created, changed, mapVersion: store.mapVersion }));
      return 0;
    } catch (error) {
      if (error instanceof DataMapError) {
        console.error(error.message);
        return 65; // EX_DATAERR
      }
      throw error;
    } finally {
      await closeDb();
    }
  },
};
