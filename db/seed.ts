/**
 * Demo data: a staff account and a handful of requests in different states, regimes and ages, so the staff list
 * has something to show. Idempotent: runs again without duplicating anything.
 *
 * MFA is mandatory for staff, so the demo admin is seeded already enrolled with a random TOTP secret (encrypted
 * like any other); `seedDemo` returns it so the demo banner can print it as the manual key for an authenticator
 * app, and `npm run portal -- staff:totp --email admin@demo-shop.example` prints a current code outside production.
 *
 * Staff act on requests only after acknowledging the current data-handling policy (ADR 019), so the seed publishes a
 * first version (when none exists) and acknowledges the current one for the demo admin.
 */
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { appendEvent } from "#app/models/audit.server.ts";
import { acknowledgeHandlingPolicy, currentHandlingPolicy, policyStanding, publishHandlingPolicy } from "#app/models/handling-policy.server.ts";
import { insertRequest } from "#app/models/requests.server.ts";
import { provisionTotp, readTotpSecret } from "#app/models/mfa.server.ts";
import { formatManualKey } from "#app/models/totp.ts";
import { createStaff } from "#app/models/staff.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { closeDb, getDb, type Database } from "./client.server.ts";
import { requests, staffUsers } from "./schema/index.ts";

export const DEMO_STAFF_EMAIL = "admin@demo-shop.example";

const DAY = 86_400_000;

const demoRequests = [
  { email: "ada.lovelace@example.com", name: "Ada Lovelace", region: "EU", daysAgo: 27, status: "verified" },
  { email: "grace.hopper@example.com", name: "Grace Hopper", region: "US-CA", daysAgo: 12, status: "verified" },
  { email: "alan.turing@example.co.uk", name: "Alan Turing", region: "UK", daysAgo: 3, status: "verified" },
  { email: "katherine.johnson@example.com", name: "Katherine Johnson", region: "US-VA", daysAgo: 1, status: "pending_verification" },
  { email: "edsger.dijkstra@example.nl", name: "Edsger Dijkstra", region: "EU", daysAgo: 40, status: "verified" },
] as const;

export async function seedDemo(db: Database, staffPassword: string, now = new Date()) {
  const [existingStaff] = await db
    .select({ id: staffUsers.id, enrolledAt: staffUsers.totpEnrolledAt })
    .from(staffUsers)
    .where(eq(staffUsers.email, DEMO_STAFF_EMAIL));
  const staffId =
    existingStaff?.id ?? (await createStaff(db, { email: DEMO_STAFF_EMAIL, name: "Demo Privacy Officer", role: "admin", password: staffPassword })).id;
  // The demo admin's TOTP secret: kept across runs (an authenticator app keeps working); made when missing or
  // unreadable (e.g. ENCRYPTION_KEYS regenerated).
  const existingSecret = existingStaff?.enrolledAt ? await readTotpSecret(db, staffId) : null;
  const totpSecret = existingSecret ?? (await provisionTotp(db, staffId));
  await seedHandlingPolicy(db, staffId);
  const [anyRequest] = await db.select({ id: requests.id }).from(requests).limit(1);
  if (anyRequest) return { staffCreated: !existingStaff, requestsCreated: 0, totpSecret };

  for (const demo of demoRequests) {
    const receivedAt = new Date(now.getTime() - demo.daysAgo * DAY);
    const clock = () => receivedAt;
    await db.transaction(async (tx) => {
      const created = await insertRequest(tx, { type: "access", email: demo.email, name: demo.name, region: demo.region, receivedAt });
      await appendEvent(tx, { requestId: created.id, actorType: "system", action: "request.seeded", details: { regime: created.regime } }, clock);
      if (demo.status === "verified") {
        await tx
          .update(requests)
          .set({ status: "verified", verifiedAt: receivedAt, acknowledgedAt: receivedAt, verificationLevel: 1 })
          .where(eq(requests.id, created.id));
        await appendEvent(tx, { requestId: created.id, actorType: "system", action: "request.verified", details: { method: "seed" } }, clock);
      }
    });
  }
  return { staffCreated: !existingStaff, requestsCreated: demoRequests.length, totpSecret };
}

/** The demo's first data-handling policy: an example to edit, not legal advice. */
export const DEMO_HANDLING_POLICY = `# How we handle personal data in privacy requests

This is the demo's example policy: replace it with your organisation's own.

## Before you start

- Work only on requests assigned to you, or that you assign to yourself.
- Open the full identity of a requester only when the task needs it.

## While you work

1. Check the verification level before approving anything.
2. Never copy personal data out of the portal: no screenshots, no email forwarding, no local files.
3. Write notes about facts, not opinions; requesters may ask for them.

## When in doubt

Ask the data protection officer before you act: [privacy@demo-shop.example](mailto:privacy@demo-shop.example).
`;

async function seedHandlingPolicy(db: Database, adminId: string) {
  const current = (await currentHandlingPolicy(db)) ?? (await publishHandlingPolicy(db, { authorId: adminId, bodyMarkdown: DEMO_HANDLING_POLICY }));
  if (!(await policyStanding(db, adminId)).acknowledged) await acknowledgeHandlingPolicy(db, { staffId: adminId, version: current.version });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  getEnvOrExit();
  const password = process.env.DEMO_STAFF_PASSWORD;
  if (!password) {
    console.error("Set DEMO_STAFF_PASSWORD (npm run demo generates one into .env).");
    process.exit(78);
  }
  const result = await seedDemo(getDb(), password);
  console.log(`Seeded: staff ${result.staffCreated ? "created" : "already present"}, ${result.requestsCreated} demo requests.`);
  console.log(`Demo admin's authenticator key (MFA): ${formatManualKey(result.totpSecret)}`);
  await closeDb();
}
