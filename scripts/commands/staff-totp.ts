/**
 * `staff:totp --email <email>`: prints the current TOTP code of a staff account — for the demo and local
 * development only (refused when NODE_ENV=production): it reads the decrypted secret, which is exactly what MFA
 * is meant to keep away from anyone holding the server.
 */
import { currentTotpCode, readTotpSecret } from "#app/models/mfa.server.ts";
import { getStaffByEmail } from "#app/models/staff.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { closeDb, getDb } from "#db/client.server.ts";
import { parseEmailFlag } from "./staff-args.ts";

export default {
  summary: "print the current MFA code of a staff account (not in production)",
  async run(args: string[]) {
    const email = parseEmailFlag(args, "staff:totp");
    if (email === undefined) return 64;
    const env = getEnvOrExit();
    if (env.isProduction) {
      console.error("staff:totp is for the demo and development only; it is refused when NODE_ENV=production.");
      return 1;
    }
    try {
      const staff = await getStaffByEmail(getDb(), email);
      const secret = staff ? await readTotpSecret(getDb(), staff.id) : null;
      if (!staff || !secret) {
        console.error("No staff account with MFA set up for that email.");
        return 1;
      }
      const now = Date.now();
      console.log(currentTotpCode(secret, () => new Date(now)));
      console.error(`(valid for about ${30 - (Math.floor(now / 1000) % 30)} more seconds, and once)`);
      return 0;
    } finally {
      await closeDb();
    }
  },
};
