import { getDb } from "#db/client.server.ts";
import { runDeadlineReminders } from "#app/models/reminders.server.ts";
import { schedulerClock } from "#app/models/schedules.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("deadline-reminders", async () => runDeadlineReminders(getDb(), { clock: schedulerClock }));
