import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, pgEnum, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { requests } from "./requests.ts";
import { stores } from "./stores.ts";

/** access: JSON per store, CSV per collection and a cover sheet; portability: JSON per store and the cover sheet. */
export const packageFormats = ["access", "portability"] as const;
export type PackageFormat = (typeof packageFormats)[number];
export const packageFormat = pgEnum("package_format", packageFormats);

/**
 * A requester's access package: a zip, encrypted at rest with AES-256-GCM under a fresh random data key that is
 * stored only wrapped by the portal's master key (`wrapped_key`, encrypt() bound to the package id). `path` is
 * relative to PACKAGE_DIR. `contents` lists entry names and row counts — never values. The file is deleted (and
 * `deleted_at` set) when it expires.
 */
export const packages = pgTable(
  "packages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    format: packageFormat("format").notNull(),
    path: text("path").notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    wrappedKey: text("wrapped_key").notNull(),
    iv: text("iv").notNull(),
    tag: text("tag").notNull(),
    contents: jsonb("contents").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    downloadCount: integer("download_count").notNull().default(0),
    lastDownloadedAt: timestamp("last_downloaded_at", { withTimezone: true }),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
  },
  (t) => [unique("packages_request_key").on(t.requestId), index("packages_expires_idx").on(t.expiresAt)],
);

/**
 * One store's share of a package while the request executes: an encrypted file per zip entry (the store's JSON,
 * a CSV per collection), written by the store's job and assembled into the package by the finalizing job, then
 * deleted. Same encryption as a package (own data key, wrapped).
 */
export const packageParts = pgTable(
  "package_parts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    storeId: uuid("store_id")
      .notNull()
      .references(() => stores.id),
    /** The zip entry it becomes, e.g. `shop/shop.json` or `shop/orders.csv`. */
    entry: text("entry").notNull(),
    path: text("path").notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    rows: integer("rows").notNull().default(0),
    wrappedKey: text("wrapped_key").notNull(),
    iv: text("iv").notNull(),
    tag: text("tag").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [unique("package_parts_request_store_entry_key").on(t.requestId, t.storeId, t.entry)],
);

/**
 * Re-verification before a download (ADR 006 applied again): the row is made empty by the web process, the worker
 * that emails the code stores its keyed hash. A correct code yields a short-lived download grant (a random token in
 * an HttpOnly cookie; only its hash is kept here).
 */
export const packageDownloadCodes = pgTable(
  "package_download_codes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    requestId: uuid("request_id")
      .notNull()
      .references(() => requests.id),
    packageId: uuid("package_id")
      .notNull()
      .references(() => packages.id),
    codeHash: text("code_hash"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    consumedAt: timestamp("consumed_at", { withTimezone: true }),
    grantHash: text("grant_hash").unique(),
    grantExpiresAt: timestamp("grant_expires_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [index("package_download_codes_request_idx").on(t.requestId)],
);

export type PackageRow = typeof packages.$inferSelect;
export type PackagePartRow = typeof packageParts.$inferSelect;
export type PackageDownloadCodeRow = typeof packageDownloadCodes.$inferSelect;
