/**
 * `stores:dry-run <store> --email <e> [--phone <p>] [--account-id <id>] --action access|erase`: what an access would
 * find or an erasure would do for this subject in one store — counts per collection and the legal bases of what would
 * be kept. Changes nothing; prints no personal data (JSON out).
 */
import { parseArgs } from "node:util";
import { StoreError } from "#app/connectors/types.ts";
import { DomainError } from "#app/models/errors.ts";
import { dryRunStore } from "#app/models/stores.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { closeDb, getDb } from "#db/client.server.ts";

const USAGE = "Usage: npm run portal -- stores:dry-run <store> --email <email> [--phone <phone>] [--account-id <id>] --action access|erase";

export default {
  summary: "what an access or erasure would do in one store (counts only, changes nothing)",
  async run(args: string[]) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: { email: { type: "string" }, phone: { type: "string" }, "account-id": { type: "string" }, action: { type: "string" } },
      });
    } catch (error) {
      console.error(`${(error as Error).message}\n${USAGE}`);
      return 64;
    }
    const { values, positionals } = parsed;
    const action = values.action;
    if (positionals.length !== 1 || (action !== "access" && action !== "erase") || !(values.email || values.phone || values["account-id"])) {
      console.error(USAGE);
      return 64;
    }
    const subject = {
      ...(values.email ? { email: values.email } : {}),
      ...(values.phone ? { phone: values.phone } : {}),
      ...(values["account-id"] ? { accountId: values["account-id"] } : {}),
    };
    getEnvOrExit();
    try {
      console.log(JSON.stringify(await dryRunStore(getDb(), positionals[0]!, { subject, action }), null, 2));
      return 0;
    } catch (error) {
      if (error instanceof DomainError) {
        console.error(error.userMessage);
        return 1;
      }
      if (error instanceof StoreError) {
        console.error(`${error.code}: ${error.message}`);
        return 1;
      }
      throw error;
    } finally {
      await closeDb();
    }
  },
};
