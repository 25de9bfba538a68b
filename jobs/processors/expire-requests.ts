import { getDb } from "#db/client.server.ts";
import { expireRequests } from "#app/models/expiry.server.ts";
import { schedulerClock } from "#app/models/schedules.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("expire-requests", async () => expireRequests(getDb(), { clock: schedulerClock }));
