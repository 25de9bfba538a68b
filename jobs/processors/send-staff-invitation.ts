import { getDb } from "#db/client.server.ts";
import { sendStaffInvitation } from "#app/models/staff.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-staff-invitation", async ({ inviteId }) => sendStaffInvitation(getDb(), inviteId));
