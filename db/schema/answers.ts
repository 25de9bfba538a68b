import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { requests } from "./requests.ts";

/**
 * The requester's answers to "more information needed", sent from their private status page. An answer is what the
 * requester wrote — personal data — so the body is encrypted at rest (AES-256-GCM, bound to the answer and its
 * request) and never enters the audit trail, which records only that an answer arrived and its id.
 * The retention job deletes a request's answers when it anonymizes the request.
 */
export const requestAnswers = pgTable(
  "request_answers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    bodyCiphertext: text("body_ciphertext").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [index("request_answers_request_idx").on(t.requestId, t.createdAt)],
);

export type RequestAnswerRow = typeof requestAnswers.$inferSelect;
