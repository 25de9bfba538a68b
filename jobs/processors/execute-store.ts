import { getDb } from "#db/client.server.ts";
import { executeStore } from "#app/models/execution.server.ts";
import { defineProcessor } from "../processor.ts";

/** One store's work for one request; the result (status and counts, no personal data) is the job's return value. */
export default defineProcessor("execute-store", async (payload) => {
  const result = await executeStore(getDb(), payload);
  return { status: result.status, ...("reused" in result ? { reused: result.reused } : {}) };
});
