import { sql } from "drizzle-orm";
import { check, index, integer, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { staffUsers } from "./staff.ts";

/**
 * The staff data-handling policy (docs/decisions/019-data-handling-policy-and-emailed-invitations.md): markdown text
 * admins publish in numbered versions. A published version never changes — an edit is a new version — and the
 * migration adds a trigger refusing UPDATE and DELETE. The current version is the highest number.
 */
export const handlingPolicyVersions = pgTable(
  "handling_policy_versions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    version: integer("version").notNull().unique(),
    bodyMarkdown: text("body_markdown").notNull(),
    authorId: uuid("author_id").references(() => staffUsers.id),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [check("handling_policy_versions_version_positive", sql`${t.version} > 0`)],
);

/** Who acknowledged which version, when: one row per staff member and version. */
export const handlingPolicyAcknowledgements = pgTable(
  "handling_policy_acknowledgements",
  {
    versionId: uuid("version_id")
      .notNull()
      .references(() => handlingPolicyVersions.id),
    staffId: uuid("staff_id")
      .notNull()
      .references(() => staffUsers.id, { onDelete: "cascade" }),
    acknowledgedAt: timestamp("acknowledged_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.versionId, t.staffId], name: "handling_policy_acknowledgements_pkey" }),
    index("handling_policy_acknowledgements_staff_idx").on(t.staffId),
  ],
);

export type HandlingPolicyVersionRow = typeof handlingPolicyVersions.$inferSelect;
export type HandlingPolicyAcknowledgementRow = typeof handlingPolicyAcknowledgements.$inferSelect;
