import { getDb } from "#db/client.server.ts";
import { finalizeRequest } from "#app/models/execution.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("finalize-request", async ({ requestId }) => finalizeRequest(getDb(), requestId));
