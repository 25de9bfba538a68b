/**
 * The staff data-handling policy (docs/decisions/019-data-handling-policy-and-emailed-invitations.md): admins
 * publish its markdown text in numbered versions; every staff member acknowledges the current version before they
 * may act on requests (enforced in app/utils/session.server.ts for every POST under /admin/requests/).
 *
 * - A published version never changes (a database trigger refuses UPDATE and DELETE): an edit is a new version.
 *   The current version is the one with the highest number.
 * - No published version means there is nothing to acknowledge: nobody is blocked.
 * - Publishing (`handling_policy.published`) and acknowledging (`handling_policy.acknowledged`) are audit events
 *   naming the staff member; the text itself stays in its table (the trail records version numbers).
 */
import { and, asc, desc, eq, isNull, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { handlingPolicyAcknowledgements, handlingPolicyVersions, staffUsers, type StaffRole } from "#db/schema/index.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { DomainError } from "./errors.ts";
import { MAX_POLICY_LENGTH } from "./handling-policy.ts";

export { MAX_POLICY_LENGTH };
/** Serializes publishing, so two admins publishing at once get consecutive numbers instead of a conflict. */
const PUBLISH_LOCK_KEY = 0x6870_6f6c; // "hpol"

export type HandlingPolicyVersion = {
  id: string;
  version: number;
  bodyMarkdown: string;
  authorId: string | null;
  authorName: string | null;
  createdAt: Date;
};

/** A refused policy action; `userMessage` is safe to show in the form. */
export class HandlingPolicyError extends DomainError {
  constructor(code: "empty" | "too_long" | "unchanged" | "forbidden" | "not_found" | "outdated", userMessage: string, status = 400) {
    super(code, userMessage, status);
    this.name = "HandlingPolicyError";
  }
}

const versionColumns = {
  id: handlingPolicyVersions.id,
  version: handlingPolicyVersions.version,
  bodyMarkdown: handlingPolicyVersions.bodyMarkdown,
  authorId: handlingPolicyVersions.authorId,
  authorName: staffUsers.name,
  createdAt: handlingPolicyVersions.createdAt,
};

/** Line endings made uniform and trailing space trimmed, so "the same text" compares equal. */
export function normalizePolicyText(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(/[ \t]+$/gm, "").trim();
}

/** The current (highest) version, or null when none was published yet. */
export async function currentHandlingPolicy(db: Executor): Promise<HandlingPolicyVersion | null> {
  const [row] = await db
    .select(versionColumns)
    .from(handlingPolicyVersions)
    .leftJoin(staffUsers, eq(staffUsers.id, handlingPolicyVersions.authorId))
    .orderBy(desc(handlingPolicyVersions.version))
    .limit(1);
  return row ?? null;
}

/** One version by number, or null. */
export async function getHandlingPolicyVersion(db: Executor, version: number): Promise<HandlingPolicyVersion | null> {
  if (!Number.isSafeInteger(version) || version < 1) return null;
  const [row] = await db
    .select(versionColumns)
    .from(handlingPolicyVersions)
    .leftJoin(staffUsers, eq(staffUsers.id, handlingPolicyVersions.authorId))
    .where(eq(handlingPolicyVersions.version, version))
    .limit(1);
  return row ?? null;
}

export type HandlingPolicyVersionSummary = Omit<HandlingPolicyVersion, "bodyMarkdown"> & { acknowledgements: number };

/** Every version, newest first, with how many staff acknowledged each. */
export async function listHandlingPolicyVersions(db: Executor): Promise<HandlingPolicyVersionSummary[]> {
  return db
    .select({
      id: handlingPolicyVersions.id,
      version: handlingPolicyVersions.version,
      authorId: handlingPolicyVersions.authorId,
      authorName: staffUsers.name,
      createdAt: handlingPolicyVersions.createdAt,
      acknowledgements: sql<number>`(select count(*)::int from ${handlingPolicyAcknowledgements} a where a.version_id = ${handlingPolicyVersions.id})`,
    })
    .from(handlingPolicyVersions)
    .leftJoin(staffUsers, eq(staffUsers.id, handlingPolicyVersions.authorId))
    .orderBy(desc(handlingPolicyVersions.version));
}

/**
 * Publishes `bodyMarkdown` as the next version, by an active admin. Refused (HandlingPolicyError): blank text, text
 * longer than MAX_POLICY_LENGTH, text equal to the current version's, an author who is not an active admin.
 * Appends `handling_policy.published` in the same transaction.
 */
export async function publishHandlingPolicy(
  db: Executor,
  input: { authorId: string; bodyMarkdown: string },
  clock: Clock = systemClock,
): Promise<HandlingPolicyVersion> {
  const body = normalizePolicyText(input.bodyMarkdown);
  if (body.length === 0) throw new HandlingPolicyError("empty", "Write the policy text before publishing.");
  if (body.length > MAX_POLICY_LENGTH) {
    throw new HandlingPolicyError("too_long", `The policy may be at most ${MAX_POLICY_LENGTH.toLocaleString("en")} characters long.`);
  }
  return db.transaction(async (tx) => {
    const [author] = await tx
      .select({ id: staffUsers.id, name: staffUsers.name, role: staffUsers.role })
      .from(staffUsers)
      .where(and(eq(staffUsers.id, input.authorId), isNull(staffUsers.disabledAt)))
      .limit(1);
    if (!author || author.role !== ("admin" satisfies StaffRole)) {
      throw new HandlingPolicyError("forbidden", "Only administrators publish the data-handling policy.", 403);
    }
    await tx.execute(sql`select pg_advisory_xact_lock(${PUBLISH_LOCK_KEY})`);
    const current = await currentHandlingPolicy(tx);
    if (current && current.bodyMarkdown === body) {
      throw new HandlingPolicyError("unchanged", `This is the text of version ${current.version} already: change it to publish a new version.`);
    }
    const version = (current?.version ?? 0) + 1;
    const [row] = await tx
      .insert(handlingPolicyVersions)
      .values({ version, bodyMarkdown: body, authorId: author.id, createdAt: clock() })
      .returning({ id: handlingPolicyVersions.id, createdAt: handlingPolicyVersions.createdAt });
    await appendEvent(
      tx,
      { actorType: "staff", actorId: author.id, action: "handling_policy.published", details: { versionId: row!.id, version, characters: body.length } },
      clock,
    );
    return { id: row!.id, version, bodyMarkdown: body, authorId: author.id, authorName: author.name, createdAt: row!.createdAt };
  });
}

/**
 * Records that `staffId` read and accepted `version` — which must be the current one (someone who read an older
 * version, while a newer one was published, is asked to read the newer). Acknowledging twice changes nothing and
 * appends no second event. Returns whether this call recorded it.
 */
export async function acknowledgeHandlingPolicy(
  db: Executor,
  input: { staffId: string; version: number },
  clock: Clock = systemClock,
): Promise<{ recorded: boolean; version: HandlingPolicyVersion }> {
  return db.transaction(async (tx) => {
    const current = await currentHandlingPolicy(tx);
    if (!current) throw new HandlingPolicyError("not_found", "No data-handling policy has been published yet.", 404);
    if (current.version !== input.version) {
      throw new HandlingPolicyError(
        "outdated",
        `Version ${current.version} of the policy was published after you opened version ${input.version}. Read the current version, then acknowledge it.`,
        409,
      );
    }
    const now = clock();
    const inserted = await tx
      .insert(handlingPolicyAcknowledgements)
      .values({ versionId: current.id, staffId: input.staffId, acknowledgedAt: now })
      .onConflictDoNothing()
      .returning({ staffId: handlingPolicyAcknowledgements.staffId });
    if (inserted.length > 0) {
      await appendEvent(
        tx,
        { actorType: "staff", actorId: input.staffId, action: "handling_policy.acknowledged", details: { versionId: current.id, version: current.version } },
        clock,
      );
    }
    return { recorded: inserted.length > 0, version: current };
  });
}

export type PolicyStanding = {
  /** The current version's number, or null when none is published. */
  currentVersion: number | null;
  /** When this staff member acknowledged the current version, or null. */
  acknowledgedAt: Date | null;
  /** False only when a version is published and this staff member has not acknowledged it. */
  acknowledged: boolean;
};

/** Where a staff member stands with the current policy, in one query. */
export async function policyStanding(db: Executor, staffId: string): Promise<PolicyStanding> {
  const rows = await db.execute<{ version: number; acknowledged_at: Date | string | null }>(sql`
    select v.version, a.acknowledged_at
    from (select id, version from ${handlingPolicyVersions} order by version desc limit 1) v
    left join ${handlingPolicyAcknowledgements} a on a.version_id = v.id and a.staff_id = ${staffId}::uuid`);
  const row = (rows as unknown as { version: number; acknowledged_at: Date | string | null }[])[0];
  if (!row) return { currentVersion: null, acknowledgedAt: null, acknowledged: true };
  const acknowledgedAt = row.acknowledged_at === null ? null : new Date(row.acknowledged_at);
  return { currentVersion: row.version, acknowledgedAt, acknowledged: acknowledgedAt !== null };
}

/**
 * The version a staff member still has to acknowledge before acting on requests, or null (none published, already
 * acknowledged, or an auditor — who never acts on requests).
 */
export async function versionToAcknowledge(db: Executor, staff: { id: string; role: StaffRole }): Promise<number | null> {
  if (staff.role === "auditor") return null;
  const standing = await policyStanding(db, staff.id);
  return standing.acknowledged ? null : standing.currentVersion;
}

/** True when no policy is published, or `staffId` acknowledged the current version. */
export async function hasAcknowledgedCurrent(db: Executor, staffId: string): Promise<boolean> {
  return (await policyStanding(db, staffId)).acknowledged;
}

export type AcknowledgementEntry = { staffId: string; name: string; email: string; role: StaffRole; acknowledgedAt: Date | null };

/**
 * For one version: every active staff member with when they acknowledged it (null = not yet), those who have not
 * first, then by name. Disabled accounts are left out unless they acknowledged (the record stays).
 */
export async function listAcknowledgements(db: Executor, versionId: string): Promise<AcknowledgementEntry[]> {
  const rows = await db
    .select({
      staffId: staffUsers.id,
      name: staffUsers.name,
      email: staffUsers.email,
      role: staffUsers.role,
      disabledAt: staffUsers.disabledAt,
      acknowledgedAt: handlingPolicyAcknowledgements.acknowledgedAt,
    })
    .from(staffUsers)
    .leftJoin(
      handlingPolicyAcknowledgements,
      and(eq(handlingPolicyAcknowledgements.staffId, staffUsers.id), eq(handlingPolicyAcknowledgements.versionId, versionId)),
    )
    .orderBy(sql`${handlingPolicyAcknowledgements.acknowledgedAt} is not null`, asc(staffUsers.name));
  return rows
    .filter((r) => r.disabledAt === null || r.acknowledgedAt !== null)
    .map(({ disabledAt: _disabled, ...entry }) => entry);
}
