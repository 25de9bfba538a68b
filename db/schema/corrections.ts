import { sql } from "drizzle-orm";
import { pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { requests } from "./requests.ts";
import { staffUsers } from "./staff.ts";

/**
 * The new values of a correction request as a staff member confirmed them (per subject attribute), encrypted with
 * AES-256-GCM bound to the request (`values_ciphertext`); `attributes` names the attributes only. A correction is
 * approved and executed only once this row exists; the execution reads the values from here (never from a job).
 */
export const requestCorrections = pgTable("request_corrections", {
  requestId: uuid("request_id")
    .primaryKey()
    .references(() => requests.id),
  valuesCiphertext: text("values_ciphertext").notNull(),
  attributes: text("attributes").array().notNull(),
  confirmedBy: uuid("confirmed_by").references(() => staffUsers.id, { onDelete: "set null" }),
  confirmedAt: timestamp("confirmed_at", { withTimezone: true }).notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
});

export type RequestCorrectionRow = typeof requestCorrections.$inferSelect;
