import { getDb } from "#db/client.server.ts";
import { sendRequestEmail } from "#app/models/request-actions.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-request-email", async ({ emailId }) => sendRequestEmail(getDb(), emailId));
