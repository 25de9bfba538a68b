/**
 * `staff:reset-mfa --email <email>`: for a staff member who lost both their authenticator and their recovery codes.
 * Removes the TOTP secret and recovery codes and ends every session; they set up MFA again at the next sign-in.
 * Confirm the person's identity out of band first. Audited as `staff.mfa_reset`.
 */
import { resetMfa } from "#app/models/mfa.server.ts";
import { getStaffByEmail } from "#app/models/staff.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { closeDb, getDb } from "#db/client.server.ts";
import { parseEmailFlag } from "./staff-args.ts";

export default {
  summary: "remove a staff account's MFA so it enrols again at the next sign-in",
  async run(args: string[]) {
    const email = parseEmailFlag(args, "staff:reset-mfa");
    if (email === undefined) return 64;
    getEnvOrExit();
    try {
      const staff = await getStaffByEmail(getDb(), email);
      if (!staff) {
        console.error("No staff account with that email.");
        return 1;
      }
      await resetMfa(getDb(), staff.id, { type: "system", id: "cli" });
      console.log(`MFA removed from ${staff.id} and its sessions ended; it enrols again at the next sign-in.`);
      return 0;
    } finally {
      await closeDb();
    }
  },
};
