/**
 * The audit log viewer's queries (/admin/audit): events filtered by request reference, actor, action and date
 * range, newest first, paged by id (keyset: "older than event N"), and the integrity check on demand.
 * Reading only; the trail itself is written by `appendEvent` (audit.server.ts).
 */
import { and, desc, eq, gte, like, lt, lte, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Executor } from "#db/client.server.ts";
import { requestEvents, requests, staffUsers, type RequestEventRow } from "#db/schema/index.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent, verifyAuditChain, type AuditChainReport } from "./audit.server.ts";
import { parseIsoDay } from "./calendar/civil-date.ts";
import { endOfDay, startOfDay } from "./calendar/zone.ts";
import { referencePattern } from "./requests.server.ts";

export const AUDIT_PAGE_SIZE = 50;

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v), schema.optional());

const day = (what: string) =>
  z.string().refine((v) => parseIsoDay(v) !== null, { error: `${what} must be a date (YYYY-MM-DD).` });

/** The viewer's URL parameters. `actor`: "subject", "agent", "system", "system:<job>" or "staff:<uuid>". */
export const auditParamsSchema = z
  .object({
    reference: optional(
      z
        .string()
        .transform((v) => v.toUpperCase())
        .refine((v) => referencePattern.test(v), { error: "A reference looks like PR-XXXX-XXXX." }),
    ),
    actor: optional(
      z
        .string()
        .max(120)
        .regex(/^(subject|agent|system|system:[a-z0-9-]{1,60}|staff:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i, {
          error: "Choose an actor from the list.",
        }),
    ),
    action: optional(
      z
        .string()
        .max(100)
        .regex(/^[a-z][a-z0-9_.]*\*?$/, { error: "An action looks like request.approved (end with * for every action that starts so, e.g. request.*)." }),
    ),
    from: optional(day("“From”")),
    to: optional(day("“To”")),
    before: optional(z.coerce.number({ error: "Bad page link." }).int({ error: "Bad page link." }).min(1, { error: "Bad page link." })),
    verify: optional(z.enum(["1"], { error: "Bad verification link." })),
  })
  .superRefine((v, ctx) => {
    if (v.from && v.to && v.from > v.to) ctx.addIssue({ code: "custom", path: ["to"], message: "“To” must not be before “From”." });
  });

export type AuditParams = z.infer<typeof auditParamsSchema>;

export function parseAuditParams(searchParams: URLSearchParams) {
  const raw: Record<string, string> = {};
  for (const key of ["reference", "actor", "action", "from", "to", "before", "verify"]) {
    const value = searchParams.get(key);
    if (value !== null) raw[key] = value;
  }
  const result = auditParamsSchema.safeParse(raw);
  if (result.success) return { ok: true as const, params: result.data };
  return { ok: false as const, errors: result.error.issues.map((i) => ({ field: String(i.path[0] ?? ""), message: i.message })), raw };
}

export type AuditLogEntry = Pick<RequestEventRow, "id" | "actorType" | "actorId" | "action" | "details" | "createdAt" | "hash"> & {
  reference: string | null;
  actorName: string | null;
};

export type AuditLogPage = { entries: AuditLogEntry[]; olderBefore: number | null; unknownReference: boolean };

/** One page of events, newest first. Dates are calendar days in `timeZone`. */
export async function searchAuditLog(db: Executor, params: AuditParams, timeZone: string): Promise<AuditLogPage> {
  const where: SQL[] = [];
  if (params.reference) {
    const [row] = await db.select({ id: requests.id }).from(requests).where(eq(requests.reference, params.reference)).limit(1);
    if (!row) return { entries: [], olderBefore: null, unknownReference: true };
    where.push(eq(requestEvents.requestId, row.id));
  }
  if (params.actor) {
    const [kind, id] = params.actor.split(/:(.*)/s) as [string, string | undefined];
    if (kind === "staff") where.push(eq(requestEvents.actorType, "staff"), eq(requestEvents.actorId, id!.toLowerCase()));
    else if (kind === "subject") where.push(eq(requestEvents.actorType, "subject"));
    else if (kind === "agent") where.push(eq(requestEvents.actorType, "agent"));
    else if (id) where.push(eq(requestEvents.actorType, "system"), eq(requestEvents.actorId, id));
    else where.push(eq(requestEvents.actorType, "system"));
  }
  if (params.action) {
    if (params.action.endsWith("*")) where.push(like(requestEvents.action, `${params.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    else where.push(eq(requestEvents.action, params.action));
  }
  if (params.from) where.push(gte(requestEvents.createdAt, new Date(startOfDay(parseIsoDay(params.from)!, timeZone))));
  if (params.to) where.push(lte(requestEvents.createdAt, endOfDay(parseIsoDay(params.to)!, timeZone)));
  if (params.before) where.push(lt(requestEvents.id, params.before));
  const rows = await db
    .select({
      id: requestEvents.id,
      actorType: requestEvents.actorType,
      actorId: requestEvents.actorId,
      action: requestEvents.action,
      details: requestEvents.details,
      createdAt: requestEvents.createdAt,
      hash: requestEvents.hash,
      reference: requests.reference,
      actorName: staffUsers.name,
    })
    .from(requestEvents)
    .leftJoin(requests, eq(requests.id, requestEvents.requestId))
    // actor_id is text; a staff actor's id is a uuid in text form.
    .leftJoin(staffUsers, and(eq(requestEvents.actorType, "staff"), eq(staffUsers.id, sqlUuid(requestEvents.actorId))))
    .where(where.length > 0 ? and(...where) : undefined)
    .orderBy(desc(requestEvents.id))
    .limit(AUDIT_PAGE_SIZE + 1);
  const entries = rows.slice(0, AUDIT_PAGE_SIZE);
  return { entries, olderBefore: rows.length > AUDIT_PAGE_SIZE ? entries[entries.length - 1]!.id : null, unknownReference: false };
}

/** `actor_id` as a uuid when it is one (else NULL), for the join with staff. */
function sqlUuid(column: typeof requestEvents.actorId) {
  return sql`(case when ${column} ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then ${column}::uuid end)`;
}

/** The actors the filter offers: subject, system (and its named jobs seen so far), and every staff member. */
export async function auditActors(db: Executor) {
  const staff = await db.select({ id: staffUsers.id, name: staffUsers.name, role: staffUsers.role, disabledAt: staffUsers.disabledAt }).from(staffUsers).orderBy(staffUsers.name);
  return staff.map((s) => ({ value: `staff:${s.id}`, label: `${s.name} (${s.role}${s.disabledAt ? ", disabled" : ""})` }));
}

/**
 * Runs `verifyAuditChain` for a staff member and records that it ran (`audit.chain_verified`, with the outcome),
 * after the walk so the walk's own count does not include it.
 */
export async function verifyAuditChainFor(db: Executor, staffId: string, clock: Clock = systemClock): Promise<AuditChainReport> {
  const report = await verifyAuditChain(db);
  await appendEvent(
    db,
    {
      actorType: "staff",
      actorId: staffId,
      action: "audit.chain_verified",
      details: report.ok ? { ok: true, count: report.count } : { ok: false, count: report.count, brokenAtId: report.brokenAtId, reason: report.reason },
    },
    clock,
  );
  return report;
}
