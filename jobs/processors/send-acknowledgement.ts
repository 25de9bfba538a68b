import { getDb } from "#db/client.server.ts";
import { acknowledgeRequest } from "#app/models/acknowledgement.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-acknowledgement", async ({ requestId }) => acknowledgeRequest(getDb(), requestId));
