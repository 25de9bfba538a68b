import { sql } from "drizzle-orm";
import { boolean, customType, index, integer, pgEnum, pgTable, text, timestamp, uuid, type AnyPgColumn } from "drizzle-orm/pg-core";
import { staffUsers } from "./staff.ts";

/** The due date that counts: the extended one when there is one (indexed for the staff queue). */
const effectiveDue = (t: { extendedDueAt: AnyPgColumn; dueAt: AnyPgColumn }) => sql`coalesce(${t.extendedDueAt}, ${t.dueAt})`;

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

/** Statuses in which a request is still open: deadlines run, reminders apply, staff may act. */
export const openRequestStatuses = [
  "pending_verification",
  "verified",
  "in_review",
  "approved",
  "processing",
  "action_required",
  /** Staff asked the requester for more information; closed after INFO_REQUEST_EXPIRY_DAYS without an answer. */
  "awaiting_information",
] as const;
/** Statuses in which a request has ended. */
export const endedRequestStatuses = ["completed", "denied", "cancelled", "expired", "closed"] as const;
export const requestStatuses = [...openRequestStatuses, ...endedRequestStatuses] as const;
export type RequestStatus = (typeof requestStatuses)[number];

export const accessScopes = ["categories", "specific"] as const;
export type AccessScope = (typeof accessScopes)[number];
export const submitters = ["subject", "agent"] as const;

export const requestType = pgEnum("request_type", requestTypes);
export const accessScope = pgEnum("access_scope", accessScopes);
export const submitter = pgEnum("submitter", submitters);
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
    /** What the request asks beyond the identity (corrections, signed declaration …), encrypted like the identity. */
    detailsCiphertext: text("details_ciphertext"),
    /** CCPA access: categories of data, or the specific pieces (which needs a stronger verification). */
    accessScope: accessScope("access_scope"),
    /** Which kinds of data points the requester supplied (e.g. phone, postal_code) — kinds only, never values. */
    suppliedDataPoints: text("supplied_data_points").array().notNull().default(sql`'{}'::text[]`),
    /** Kinds of data points that matched a connected store (set by the matching job). */
    matchedDataPoints: text("matched_data_points").array().notNull().default(sql`'{}'::text[]`),
    /** The browser sent Sec-GPC: 1 with an opt-out (Global Privacy Control). */
    gpc: boolean("gpc").notNull().default(false),
    submittedBy: submitter("submitted_by").notNull().default("subject"),
    /** The authorized agent's own details (CCPA §7063), encrypted. */
    agentCiphertext: text("agent_ciphertext"),
    agentConfirmedAt: timestamp("agent_confirmed_at", { withTimezone: true }),
    /** SHA-256 of the private status-page token; the token itself exists only in the requester's email. */
    statusTokenHash: text("status_token_hash").unique(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull(),
    verifiedAt: timestamp("verified_at", { withTimezone: true }),
    acknowledgedAt: timestamp("acknowledged_at", { withTimezone: true }),
    acknowledgeBy: timestamp("acknowledge_by", { withTimezone: true }),
    dueAt: timestamp("due_at", { withTimezone: true }).notNull(),
    /** The latest moment an extension may still be notified (GDPR: the original due date). */
    extensionNoticeBy: timestamp("extension_notice_by", { withTimezone: true }),
    extendedDueAt: timestamp("extended_due_at", { withTimezone: true }),
    extensionReason: text("extension_reason"),
    /** A short code of why the request ended as it did (denied: the reason template's code). */
    outcomeReason: text("outcome_reason"),
    cancelledAt: timestamp("cancelled_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
    /** The staff member responsible; deadline reminders go to them (to every active admin and processor when null). */
    assigneeId: uuid("assignee_id").references(() => staffUsers.id, { onDelete: "set null" }),
    /**
     * Legal hold (staff console): while set, nothing may erase or anonymize this request's data — neither the
     * execution engine nor the retention job. The reason is encrypted (it may name people or cases).
     */
    legalHoldSince: timestamp("legal_hold_since", { withTimezone: true }),
    legalHoldBy: uuid("legal_hold_by").references(() => staffUsers.id, { onDelete: "set null" }),
    legalHoldReasonCiphertext: text("legal_hold_reason_ciphertext"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    index("requests_email_index_idx").on(t.emailIndex),
    index("requests_status_due_idx").on(t.status, t.dueAt),
    index("requests_received_idx").on(t.receivedAt),
    // The staff queue (app/models/queue.server.ts) sorts by the effective due date, coalesce(extended, original). Each
    // index also carries, after its sort keys, the columns the queue filters on (and the dates the expression is made
    // of), so a page's ids and its count come from the index alone (index-only scans): docs/BENCHMARKS.md "Staff queue".
    index("requests_queue_open_due_idx")
      .on(effectiveDue(t), t.id, t.type, t.regime, t.assigneeId, t.status, t.dueAt, t.extendedDueAt)
      // "Open" as the negation of the ended statuses: a migration cannot name an enum value added in the same run.
      .where(sql`${t.status} not in ('completed', 'denied', 'cancelled', 'expired', 'closed')`),
    index("requests_queue_status_due_idx").on(t.status, effectiveDue(t), t.id, t.type, t.regime, t.assigneeId, t.dueAt, t.extendedDueAt),
    index("requests_queue_due_idx").on(effectiveDue(t), t.id, t.type, t.regime, t.assigneeId, t.status, t.dueAt, t.extendedDueAt),
    // "Assigned to me" looks at open requests: one's closed ones are found through the status or the all-requests index.
    index("requests_queue_assignee_due_idx")
      .on(t.assigneeId, effectiveDue(t), t.id, t.type, t.regime, t.status, t.dueAt, t.extendedDueAt)
      .where(sql`${t.status} not in ('completed', 'denied', 'cancelled', 'expired', 'closed')`),
    index("requests_queue_type_regime_due_idx").on(t.type, t.regime, effectiveDue(t), t.id, t.status, t.assigneeId, t.receivedAt, t.dueAt, t.extendedDueAt),
    // The dashboard's weekly "completed" series (app/models/dashboard.server.ts): completions in a period, by date.
    index("requests_completed_idx").on(t.completedAt).where(sql`${t.completedAt} is not null`),
    index("requests_queue_received_idx").on(t.receivedAt, t.id, t.type, t.regime, t.assigneeId, t.status, t.dueAt, t.extendedDueAt),
  ],
);

export type RequestRow = typeof requests.$inferSelect;

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

export const documentKinds = ["agent_authorization"] as const;
export const documentKind = pgEnum("document_kind", documentKinds);

/**
 * Files attached to a request (an authorized agent's signed permission). Encrypted at rest with AES-256-GCM
 * (`ciphertext`, key id inside); the content type is the one sniffed from the bytes, never the one claimed.
 */
export const requestDocuments = pgTable(
  "request_documents",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    kind: documentKind("kind").notNull(),
    contentType: text("content_type").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    sha256: text("sha256").notNull(),
    ciphertext: bytea("ciphertext").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [index("request_documents_request_idx").on(t.requestId)],
);
