import { getDb } from "#db/client.server.ts";
import { sendAgentConfirmation } from "#app/models/agents.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-agent-confirmation", async ({ challengeId }) => sendAgentConfirmation(getDb(), challengeId));
