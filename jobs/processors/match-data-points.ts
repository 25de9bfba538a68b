import { getDb } from "#db/client.server.ts";
import { matchDataPoints } from "#app/models/matching.server.ts";
import { defineProcessor } from "../processor.ts";

/** Returns kinds and the level only — never a value. */
export default defineProcessor("match-data-points", async ({ requestId }) => matchDataPoints(getDb(), requestId));
