import { bigserial, index, jsonb, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { requests } from "./requests.ts";

/** Who acted: the data subject, an authorized agent acting for them (CCPA §7063), a staff member, or the system. */
export const actorType = pgEnum("actor_type", ["subject", "staff", "system", "agent"]);

/**
 * The audit trail. Append-only: a trigger (see the migration) refuses UPDATE and DELETE, and every row carries
 * `hash` = SHA-256 over its own content and `prev_hash`, the previous row's hash, so an edit or deletion made
 * around the trigger breaks the chain (`verifyAuditChain`). `details` never holds personal data.
 */
export const requestEvents = pgTable(
  "request_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: uuid("request_id").references(() => requests.id),
    actorType: actorType("actor_type").notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull().unique(),
  },
  (t) => [
    index("request_events_request_idx").on(t.requestId, t.id),
    // Filters of the audit log viewer (/admin/audit).
    index("request_events_actor_idx").on(t.actorId, t.id),
    index("request_events_action_idx").on(t.action, t.id),
    index("request_events_created_idx").on(t.createdAt),
  ],
);

export type RequestEventRow = typeof requestEvents.$inferSelect;
