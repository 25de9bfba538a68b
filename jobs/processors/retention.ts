import { getDb } from "#db/client.server.ts";
import { runRetention } from "#app/models/retention.server.ts";
import { schedulerClock } from "#app/models/schedules.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("retention", async () => runRetention(getDb(), { clock: schedulerClock }));
