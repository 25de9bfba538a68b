import { sql } from "drizzle-orm";
import { index, pgEnum, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { regime, requestType, requests } from "./requests.ts";
import { staffUsers } from "./staff.ts";

/**
 * Internal notes staff write on a request. Notes may hold personal data (what a requester said on the phone, why a
 * document looked wrong), so the body is encrypted at rest (AES-256-GCM, bound to the note id) and never enters the
 * audit trail — the trail records only that a note was added, by whom.
 */
export const requestNotes = pgTable(
  "request_notes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    authorId: uuid("author_id").references(() => staffUsers.id, { onDelete: "set null" }),
    bodyCiphertext: text("body_ciphertext").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [index("request_notes_request_idx").on(t.requestId, t.createdAt)],
);

export type RequestNoteRow = typeof requestNotes.$inferSelect;

export const approvalModes = ["automatic", "review"] as const;
export type ApprovalMode = (typeof approvalModes)[number];
export const approvalMode = pgEnum("approval_mode", approvalModes);

/**
 * Per (regime, request type): is a request that reached its required verification level approved automatically, or
 * does it wait for staff? A missing row means the built-in default (app/models/approval-policy.server.ts).
 */
export const approvalPolicies = pgTable(
  "approval_policies",
  {
    regime: regime("regime").notNull(),
    type: requestType("type").notNull(),
    mode: approvalMode("mode").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull(),
    updatedBy: uuid("updated_by").references(() => staffUsers.id, { onDelete: "set null" }),
  },
  (t) => [primaryKey({ columns: [t.regime, t.type], name: "approval_policies_pkey" })],
);

export type ApprovalPolicyRow = typeof approvalPolicies.$inferSelect;

export const requestEmailKinds = ["denial", "more_information", "extension_notice"] as const;
export type RequestEmailKind = (typeof requestEmailKinds)[number];
export const requestEmailKind = pgEnum("request_email_kind", requestEmailKinds);

/**
 * The outbox of requester emails that staff actions cause. The action writes the row in its transaction (what staff
 * wrote — a denial's explanation, what information is needed, why the deadline is extended — encrypted, bound to the
 * row id), then queues `send-request-email` with the row id only. The worker issues a fresh status link, sends, and
 * sets `sent_at`; a row with `sent_at` is never sent again.
 */
export const requestEmails = pgTable(
  "request_emails",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    kind: requestEmailKind("kind").notNull(),
    contentCiphertext: text("content_ciphertext").notNull(),
    createdBy: uuid("created_by").references(() => staffUsers.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    index("request_emails_request_idx").on(t.requestId),
    index("request_emails_unsent_idx").on(t.createdAt).where(sql`${t.sentAt} is null`),
  ],
);

export type RequestEmailRow = typeof requestEmails.$inferSelect;
