import { sql } from "drizzle-orm";
import { index, integer, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const staffRoles = ["admin", "processor", "auditor"] as const;
export type StaffRole = (typeof staffRoles)[number];
export const staffRole = pgEnum("staff_role", staffRoles);

export const staffUsers = pgTable("staff_users", {
  id: uuid("id").primaryKey().defaultRandom(),
  email: text("email").notNull().unique(),
  name: text("name").notNull(),
  role: staffRole("role").notNull().default("processor"),
  passwordHash: text("password_hash").notNull(),
  passwordChangedAt: timestamp("password_changed_at", { withTimezone: true }).notNull().default(sql`now()`),
  /** The TOTP secret, encrypted at rest; null until enrolment starts. */
  totpSecretCiphertext: text("totp_secret_ciphertext"),
  totpEnrolledAt: timestamp("totp_enrolled_at", { withTimezone: true }),
  /** The last accepted TOTP time step: a code is never accepted twice. */
  totpLastStep: integer("totp_last_step"),
  failedSignIns: integer("failed_sign_ins").notNull().default(0),
  lockedUntil: timestamp("locked_until", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  disabledAt: timestamp("disabled_at", { withTimezone: true }),
});

/** Single-use MFA recovery codes, stored hashed. */
export const staffRecoveryCodes = pgTable(
  "staff_recovery_codes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    staffId: uuid("staff_id")
      .notNull()
      .references(() => staffUsers.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [index("staff_recovery_codes_staff_idx").on(t.staffId)],
);

/** Single-use, expiring invitations to create a staff account (only the token's hash is stored). */
export const staffInvites = pgTable("staff_invites", {
  id: uuid("id").primaryKey().defaultRandom(),
  email: text("email").notNull(),
  role: staffRole("role").notNull(),
  tokenHash: text("token_hash").notNull().unique(),
  invitedBy: uuid("invited_by").references(() => staffUsers.id),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  usedAt: timestamp("used_at", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
});

/** DB-backed staff sessions: the cookie holds a random token, the row only its SHA-256. */
export const staffSessions = pgTable(
  "staff_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    staffId: uuid("staff_id")
      .notNull()
      .references(() => staffUsers.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().default(sql`now()`),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** Set once the second factor was shown for this session; a session without it reaches only the MFA pages. */
    mfaVerifiedAt: timestamp("mfa_verified_at", { withTimezone: true }),
    /** Last step-up (fresh TOTP) for sensitive actions. */
    stepUpAt: timestamp("step_up_at", { withTimezone: true }),
    /** Shown in "your active sessions"; truncated. */
    userAgent: text("user_agent"),
  },
  (t) => [index("staff_sessions_staff_idx").on(t.staffId)],
);

export type StaffUserRow = typeof staffUsers.$inferSelect;
