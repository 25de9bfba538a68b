import { getDb } from "#db/client.server.ts";
import { sendCompletionEmail } from "#app/models/execution.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-completion", async ({ requestId }) => sendCompletionEmail(getDb(), requestId));
