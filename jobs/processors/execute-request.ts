import { getDb } from "#db/client.server.ts";
import { startExecution } from "#app/models/execution.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("execute-request", async ({ requestId }) => startExecution(getDb(), requestId));
