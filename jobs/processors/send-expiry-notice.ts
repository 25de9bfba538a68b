import { getDb } from "#db/client.server.ts";
import { sendExpiryNotice } from "#app/models/expiry.server.ts";
import { schedulerClock } from "#app/models/schedules.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-expiry-notice", async ({ requestId }) => sendExpiryNotice(getDb(), requestId, schedulerClock));
