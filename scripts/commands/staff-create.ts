/**
 * `staff:create --email <email> --role admin|processor|auditor [--name <name>]` reads the password from stdin (no
 * echo on a terminal; piped: the first line) and creates the account; MFA is set up at the first sign-in.
 * `staff:create --email <email> --role <role> --invite` prints a single-use invitation link (72 hours) instead.
 */
import { appendEvent } from "#app/models/audit.server.ts";
import { createStaff, createStaffInvite, INVITE_TTL_MS, staffInviteUrl, StaffInputError } from "#app/models/staff.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { closeDb, getDb } from "#db/client.server.ts";
import { staffRoles, type StaffRole } from "#db/schema/index.ts";
import { parseFlags, readPassword } from "./staff-args.ts";

const USAGE = "Usage: npm run portal -- staff:create --email <email> --role admin|processor|auditor [--name <name>] [--invite]";

export default {
  summary: "create a staff account (password from stdin) or print an invitation link (--invite)",
  async run(args: string[]) {
    let flags;
    try {
      flags = parseFlags(args, { email: { type: "string" }, role: { type: "string" }, name: { type: "string" }, invite: { type: "boolean" } });
    } catch (error) {
      console.error(`${(error as Error).message}\n${USAGE}`);
      return 64;
    }
    if (!flags.email || !flags.role || !staffRoles.includes(flags.role as StaffRole)) {
      console.error(USAGE);
      return 64;
    }
    const role = flags.role as StaffRole;
    getEnvOrExit();
    const db = getDb();
    try {
      if (flags.invite) {
        const { token } = await createStaffInvite(db, { email: flags.email, role, invitedBy: null });
        console.log(`Invitation for a new ${role} created. Send this link to the invitee; it works once, within ${INVITE_TTL_MS / 3_600_000} hours:`);
        console.log(staffInviteUrl(token));
        return 0;
      }
      const password = await readPassword("Password (not shown): ");
      if (process.stdin.isTTY && (await readPassword("Same password again: ")) !== password) {
        console.error("The two passwords are not the same; nothing was created.");
        return 1;
      }
      const name = flags.name ?? flags.email.split("@")[0] ?? flags.email;
      const staff = await createStaff(db, { email: flags.email, name, role, password });
      await appendEvent(db, { actorType: "system", actorId: "cli", action: "staff.created", details: { via: "cli", staffId: staff.id, role } });
      console.log(`Created ${role} account ${staff.id}. Two-step verification is set up at the first sign-in.`);
      return 0;
    } catch (error) {
      if (error instanceof StaffInputError) {
        console.error(`${error.field}: ${error.userMessage}`);
        return 1;
      }
      throw error;
    } finally {
      await closeDb();
    }
  },
};
