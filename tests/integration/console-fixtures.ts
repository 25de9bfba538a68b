/**
 * Fixtures of the staff console tests: requests put straight into a chosen state (the way the earlier steps would
 * have left them), staff members with sessions for HTTP calls. Real Postgres; nothing is mocked.
 */
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { appendEvent } from "#app/models/audit.server.ts";
import { insertRequest, type SubmitInput } from "#app/models/requests.server.ts";
import { createStaffSession, markStaffSessionMfaVerified, markStaffSessionStepUp } from "#app/models/staff.server.ts";
import type { Clock } from "#app/utils/clock.ts";
import type { Database } from "#db/client.server.ts";
import { requests, staffUsers, type RequestStatus, type StaffRole } from "#db/schema/index.ts";

let n = 0;
export const uniqueEmail = (tag: string) => `${tag}-${++n}-${randomBytes(3).toString("hex")}@example.com`;

export async function addStaff(db: Database, role: StaffRole, tag: string = role) {
  const email = uniqueEmail(`staff-${tag}`);
  const [row] = await db
    .insert(staffUsers)
    .values({ email, name: `Tess ${tag} ${n}`, role, passwordHash: "not-a-real-hash" })
    .returning({ id: staffUsers.id, email: staffUsers.email, name: staffUsers.name, role: staffUsers.role });
  return row!;
}

/** A Cookie header of an MFA-verified session (and, with `stepUp`, a fresh step-up) for a staff member. */
export async function sessionCookie(db: Database, staffId: string, { stepUp = false } = {}) {
  const { token, sessionId } = await createStaffSession(db, staffId);
  await markStaffSessionMfaVerified(db, sessionId);
  if (stepUp) await markStaffSessionStepUp(db, sessionId);
  return `portal_staff=${token}`;
}

export type RequestFixture = {
  type?: SubmitInput["type"];
  region?: string;
  email?: string;
  name?: string;
  /** Default: now. */
  receivedAt?: Date;
  /** Default: verified with the level the request needs. */
  status?: RequestStatus;
  verificationLevel?: number;
  assigneeId?: string | null;
  dataPoints?: SubmitInput["dataPoints"];
};

/** A request in `status` (default `verified`, at its required level), with its submission event. */
export async function addRequest(db: Database, f: RequestFixture = {}, clock?: Clock) {
  const receivedAt = f.receivedAt ?? clock?.() ?? new Date();
  const type = f.type ?? "access";
  const email = f.email ?? uniqueEmail("subject");
  const created = await db.transaction(async (tx) => {
    const row = await insertRequest(tx, { type, email, region: f.region ?? "UK", receivedAt, ...(f.name ? { name: f.name } : {}), ...(f.dataPoints ? { dataPoints: f.dataPoints } : {}) });
    await appendEvent(tx, { requestId: row.id, actorType: "subject", action: "request.submitted", details: { type } });
    return row;
  });
  const status = f.status ?? "verified";
  await db
    .update(requests)
    .set({
      status,
      verificationLevel: f.verificationLevel ?? (status === "pending_verification" ? 0 : created.requiredVerificationLevel),
      verifiedAt: status === "pending_verification" ? null : receivedAt,
      assigneeId: f.assigneeId ?? null,
    })
    .where(eq(requests.id, created.id));
  const [row] = await db.select().from(requests).where(eq(requests.id, created.id));
  return { ...row!, email };
}

export type StaffMember = Awaited<ReturnType<typeof addStaff>>;

/** One staff member of each role, created in this order: an admin, a processor and an auditor. */
export async function addStaffOfEachRole(db: Database): Promise<Record<"admin" | "processor" | "auditor", StaffMember>> {
  const admin = await addStaff(db, "admin");
  const processor = await addStaff(db, "processor");
  const auditor = await addStaff(db, "auditor");
  return { admin, processor, auditor };
}
