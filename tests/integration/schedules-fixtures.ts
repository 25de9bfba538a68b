/**
 * Fixtures shared by the schedule tests (reminders, expiry, retention, schedules): requests with chosen receipt
 * instants and deadlines computed in a chosen zone, staff members, and a clean slate between tests. Real Postgres.
 */
import { randomBytes } from "node:crypto";
import { eq, inArray, isNull, sql } from "drizzle-orm";
import { computeDeadlines } from "#app/models/deadlines.ts";
import { OPEN_STATUSES } from "#app/models/reminders.server.ts";
import { insertRequest, type SubmitInput } from "#app/models/requests.server.ts";
import type { Clock } from "#app/utils/clock.ts";
import type { Database } from "#db/client.server.ts";
import { requests, staffUsers, type RequestStatus, type StaffRole } from "#db/schema/index.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

/** A clock stopped at `iso` (an instant with Z or an offset). */
export const at = (iso: string): Clock => {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`bad instant ${iso}`);
  return () => new Date(d.getTime());
};

let n = 0;
export const uniqueEmail = (tag: string) => `${tag}-${++n}-${randomBytes(3).toString("hex")}@example.com`;

/** Closes every open request and disables every staff member, so a test sees only what it creates. */
export async function resetWorld(db: Database) {
  await db.update(requests).set({ status: "completed" }).where(inArray(requests.status, OPEN_STATUSES));
  await db.update(staffUsers).set({ disabledAt: new Date() }).where(isNull(staffUsers.disabledAt));
}

export async function addStaff(db: Database, role: StaffRole, tag: string = role) {
  const email = uniqueEmail(`staff-${tag}`);
  const [row] = await db
    .insert(staffUsers)
    .values({ email, name: `Test ${tag}`, role, passwordHash: "not-a-real-hash" })
    .returning({ id: staffUsers.id, email: staffUsers.email });
  return row!;
}

export type RequestFixture = {
  region?: string;
  type?: SubmitInput["type"];
  receivedAt: string;
  /** Deadlines are computed in this zone (default UTC). */
  timeZone?: string;
  holidays?: string[];
  status?: RequestStatus;
  assigneeId?: string | null;
  acknowledged?: boolean;
  email?: string;
};

/** A request received at `receivedAt`, with the legal calendar's deadlines in `timeZone`, in `status`. */
export async function addRequest(db: Database, f: RequestFixture) {
  const receivedAt = new Date(f.receivedAt);
  const type = f.type ?? "access";
  const email = f.email ?? uniqueEmail("subject");
  const created = await db.transaction((tx) => insertRequest(tx, { type, email, region: f.region ?? "EU", receivedAt }));
  const d = computeDeadlines(created.regime, type, receivedAt, { timeZone: f.timeZone ?? "UTC", holidays: f.holidays ?? [] });
  await db
    .update(requests)
    .set({
      status: f.status ?? "in_review",
      acknowledgeBy: d.acknowledgeBy,
      dueAt: d.dueAt,
      extensionNoticeBy: d.extensionNoticeBy,
      assigneeId: f.assigneeId ?? null,
      acknowledgedAt: f.acknowledged === false ? null : receivedAt,
      updatedAt: receivedAt,
    })
    .where(eq(requests.id, created.id));
  const [row] = await db.select().from(requests).where(eq(requests.id, created.id));
  return { ...row!, email };
}

/** Reminder rows as `reference:kind:day` strings, sorted. */
export async function reminderKeys(db: Database, requestIds?: string[]) {
  const rows = (await db.execute<{ k: string }>(sql`
    select r.reference || ':' || s.kind || ':' || s.day::text as k
    from reminders_sent s join requests r on r.id = s.request_id
    ${requestIds ? sql`where s.request_id = any(${`{${requestIds.join(",")}}`}::uuid[])` : sql``}
    order by 1`)) as unknown as { k: string }[];
  return rows.map((r) => r.k);
}

/** Deadline digests that reached `email` (the test SMTP listener). */
export function digestsTo(email: string) {
  return testMailbox().messages.filter((m) => m.to.includes(email) && m.subject.startsWith("Deadline digest"));
}

/** How many lines of a digest's plain text under the heading starting with `heading` name `reference`. */
export function linesUnder(text: string, heading: string, reference: string) {
  const block = text.split(/\n{3,}/).find((b) => b.trimStart().startsWith(heading.toUpperCase()));
  return block ? block.split("\n").filter((line) => line.startsWith(reference)).length : 0;
}
