import { getDb } from "#db/client.server.ts";
import { sendVerificationChallenge } from "#app/models/verification.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-verification", async ({ challengeId }) => sendVerificationChallenge(getDb(), challengeId));
