import { sql } from "drizzle-orm";
import { index, integer, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const requestTypes = [
  "access",
  "deletion",
  "correction",
  "portability",
  "opt_out",
  "limit_sensitive",
  "objection",
  "restriction",
] as const;
export type RequestType = (typeof requestTypes)[number];

export const regimes = ["gdpr", "uk_gdpr", "ccpa", "us_state"] as const;
export type Regime = (typeof regimes)[number];

export const requestStatuses = [
  "pending_verification",
  "verified",
  "in_review",
  "approved",
  "processing",
  "action_required",
  "completed",
  "denied",
  "cancelled",
  "expired",
  "closed",
] as const;
export type RequestStatus = (typeof requestStatuses)[number];

export const requestType = pgEnum("request_type", requestTypes);
export const regime = pgEnum("regime", regimes);
export const requestStatus = pgEnum("request_status", requestStatuses);

/**
 * One data subject request. The subject's identity (email, name, data points) is stored only encrypted
 * (`identity_ciphertext`, AES-256-GCM with the key id inside the value); `email_index` is a keyed blind index
 * (HMAC-SHA-256 of the normalized email) so requests can be found by email without decrypting.
 */
export const requests = pgTable(
  "requests",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    reference: text("reference").notNull().unique(),
    type: requestType("type").notNull(),
    regime: regime("regime").notNull(),
    jurisdiction: text("jurisdiction").notNull(),
    status: requestStatus("status").notNull().default("pending_verification"),
    verificationLevel: integer("verification_level").notNull().default(0),
    requiredVerificationLevel: integer("required_verification_level").notNull().default(1),
    identityCiphertext: text("identity_ciphertext").notNull(),
    emailIndex: text("email_index").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull(),
    verifiedAt: timestamp("verified_at", { withTimezone: true }),
    acknowledgedAt: timestamp("acknowledged_at", { withTimezone: true }),
    dueAt: timestamp("due_at", { withTimezone: true }).notNull(),
    extendedDueAt: timestamp("extended_due_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    index("requests_email_index_idx").on(t.emailIndex),
    index("requests_status_due_idx").on(t.status, t.dueAt),
    index("requests_received_idx").on(t.receivedAt),
  ],
);

export type RequestRow = typeof requests.$inferSelect;
