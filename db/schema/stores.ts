import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgEnum, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { requests } from "./requests.ts";

/** Kept in step with `storeKinds` in app/models/data-map.ts (the schema does not import app code). */
export const storeKind = pgEnum("store_kind", ["postgres", "mysql", "http", "manual"]);
export const storeRunActions = ["access", "erasure", "correction", "opt_out"] as const;
export const storeRunAction = pgEnum("store_run_action", storeRunActions);
export const storeRunStatuses = ["pending", "running", "waiting", "completed", "failed"] as const;
export type StoreRunStatus = (typeof storeRunStatuses)[number];
export const storeRunStatus = pgEnum("store_run_status", storeRunStatuses);

/**
 * A connected store (the company's database, HTTP service or a manual task) and its data map. `data_map` is the map
 * as written, except that literal secrets are replaced by `stored`: those, and the store's hashing key, live only in
 * `secrets_ciphertext` (AES-256-GCM, bound to the store id) and are never shown back.
 */
export const stores = pgTable("stores", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull().unique(),
  kind: storeKind("kind").notNull(),
  title: text("title"),
  dataMap: jsonb("data_map").$type<Record<string, unknown>>().notNull(),
  /** Bumped on every change of the map; a store run records the version it used. */
  mapVersion: integer("map_version").notNull().default(1),
  secretsCiphertext: text("secrets_ciphertext").notNull(),
  disabledAt: timestamp("disabled_at", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
});

/**
 * One request's work in one store: status, progress and the final report. Progress and report hold counts per
 * collection and legal bases — never personal data; `error` is a short code and message without values.
 */
export const storeRuns = pgTable(
  "store_runs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    storeId: uuid("store_id")
      .notNull()
      .references(() => stores.id),
    action: storeRunAction("action").notNull(),
    status: storeRunStatus("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    mapVersion: integer("map_version"),
    progress: jsonb("progress").$type<Record<string, unknown>>().notNull().default({}),
    report: jsonb("report").$type<Record<string, unknown>>(),
    /** A manual store's task for staff (instructions and what to record), no personal data. */
    task: jsonb("task").$type<Record<string, unknown>>(),
    error: text("error"),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    unique("store_runs_request_store_action_key").on(t.requestId, t.storeId, t.action),
    index("store_runs_store_idx").on(t.storeId),
    index("store_runs_status_idx").on(t.status),
  ],
);

export type StoreRow = typeof stores.$inferSelect;
export type StoreRunRow = typeof storeRuns.$inferSelect;
