import { sql } from "drizzle-orm";
import { index, integer, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { requests } from "./requests.ts";

export const verificationChannel = pgEnum("verification_channel", ["email"]);
/** requester: the person who submitted; consumer: the consumer an authorized agent acts for, confirming directly. */
export const challengePurpose = pgEnum("challenge_purpose", ["requester", "consumer_confirmation"]);

/**
 * An identity challenge sent to the requester. The secret (6-digit code, also carried by the link) exists only in
 * the email; the row keeps its keyed hash, set by the worker when it sends the mail (`code_hash` is null until then).
 */
export const verificationChallenges = pgTable(
  "verification_challenges",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    channel: verificationChannel("channel").notNull().default("email"),
    purpose: challengePurpose("purpose").notNull().default("requester"),
    codeHash: text("code_hash"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    consumedAt: timestamp("consumed_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [index("verification_challenges_request_idx").on(t.requestId)],
);

export type VerificationChallengeRow = typeof verificationChallenges.$inferSelect;
