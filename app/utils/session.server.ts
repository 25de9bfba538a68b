/**
 * The staff session cookie and the guards every staff loader and action starts with.
 *
 * The cookie holds the raw session token (256 random bits); the database holds only its SHA-256 (see
 * app/models/staff.server.ts), so the value needs no signature. In production the cookie is `__Host-portal_staff`:
 * the browser then insists on Secure, Path=/ and no Domain, so a sibling subdomain cannot plant or read it.
 * HttpOnly keeps it from scripts; SameSite=Lax keeps it off cross-site POSTs (the origin check guards forms).
 *
 * Sign-in is two steps: the password starts a session without MFA (`startStaffSession`), the MFA page completes
 * it (`completeMfa`); the token is rotated at both steps. Guards:
 * - `requireStaff(request, { roles })` — a session with MFA shown, else a redirect to the login (no session) or
 *   the MFA page (not shown yet); a role outside `roles` gets 403 with no data. Every admin loader and action.
 * - `requireStepUp(request, …)` — additionally a TOTP code entered within the last 10 minutes, else a redirect to
 *   /admin/step-up that comes back. Sensitive actions (managing staff).
 * - Both refuse a POST (any method but GET/HEAD) to a request page — every URL under /admin/requests/ — by a staff
 *   member who has not acknowledged the current data-handling policy: a redirect to the policy page, which explains
 *   and comes back (ADR 019). The check lives here, so a request route added later is covered without remembering
 *   it; reading is never blocked, and with no policy published nobody is.
 */
import { json, redirect } from "@remix-run/node";
import { getDb } from "#db/client.server.ts";
import {
  createStaffSession,
  destroyStaffSession,
  getStaffSession,
  isPasswordExpired,
  rotateStaffSession,
  type Staff,
  type StaffRole,
  type StaffSessionContext,
} from "#app/models/staff.server.ts";
import { hasAcknowledgedCurrent } from "#app/models/handling-policy.server.ts";
import { HANDLING_POLICY_PATH } from "#app/models/handling-policy.ts";
import { decryptJson, encryptJson } from "./crypto.server.ts";
import { getEnv } from "./env.server.ts";

export type { StaffRole };

export const LOGIN_PATH = "/admin/login";
export const MFA_PATH = "/admin/mfa";
export const STEP_UP_PATH = "/admin/step-up";
export const ACCOUNT_PATH = "/admin/account";
export { HANDLING_POLICY_PATH };
/** Every URL under this path is a request page: changing anything there needs the current policy acknowledged. */
export const REQUEST_PAGES_PATH = "/admin/requests";
export const DEFAULT_AFTER_LOGIN = "/admin";
/** How long a step-up (fresh TOTP) covers sensitive actions. */
export const STEP_UP_MAX_AGE_MS = 10 * 60 * 1000;

/** Who may do what: admin everything; processor works requests; auditor reads. */
export const ROLES = {
  everyone: ["admin", "processor", "auditor"],
  /** Acting on requests (any state change of a request). */
  workers: ["admin", "processor"],
  /** Staff management, settings. */
  admins: ["admin"],
} as const satisfies Record<string, readonly StaffRole[]>;

export function staffCookieName(): string {
  return getEnv().isProduction ? "__Host-portal_staff" : "portal_staff";
}

function cookieAttributes(): string[] {
  const attrs = ["Path=/", "HttpOnly", "SameSite=Lax"];
  if (getEnv().isProduction) attrs.push("Secure");
  return attrs;
}

/** The value of one cookie from a Cookie header (first occurrence wins), or undefined. */
export function readCookie(cookieHeader: string | null, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}

function sessionToken(request: Request): string | undefined {
  return readCookie(request.headers.get("Cookie"), staffCookieName()) || undefined;
}

/** The live session of the request (with or without MFA shown), or null. */
export async function getStaffSessionFromRequest(request: Request): Promise<StaffSessionContext | null> {
  const token = sessionToken(request);
  if (!token) return null;
  return getStaffSession(getDb(), token);
}

/** The signed-in staff member (MFA shown), or null. */
export async function getStaffFromRequest(request: Request): Promise<Staff | null> {
  const context = await getStaffSessionFromRequest(request);
  return context?.session.mfaVerifiedAt ? context.staff : null;
}

/**
 * `next` if it is a path on this site ("/admin/requests?page=2"), else `fallback`. Refuses absolute and
 * protocol-relative URLs ("https://evil.example", "//evil.example", "/\\evil.example"), so a login link cannot
 * bounce a signed-in staff member to another site.
 */
export function safeNextPath(next: string | null | undefined, fallback = DEFAULT_AFTER_LOGIN): string {
  if (!next || next.length > 2000) return fallback;
  if (!next.startsWith("/") || next.startsWith("//") || next.includes("\\")) return fallback;
  // Control characters (tabs and newlines are stripped by URL parsers, turning "/\t/evil" into "//evil").
  if (/[\u0000-\u001f\u007f]/.test(next)) return fallback;
  try {
    const base = "http://portal.invalid";
    const url = new URL(next, base);
    if (url.origin !== base) return fallback;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return fallback;
  }
}

function withNext(path: string, next?: string | null): string {
  const safe = safeNextPath(next, "");
  return safe && safe !== path && safe !== LOGIN_PATH ? `${path}?next=${encodeURIComponent(safe)}` : path;
}

/** The login URL that returns to `path` after signing in. */
export function loginUrl(path?: string | null): string {
  return withNext(LOGIN_PATH, path);
}

/** The MFA page URL that returns to `path` afterwards. */
export function mfaUrl(path?: string | null): string {
  return withNext(MFA_PATH, path);
}

/**
 * The policy page for a staff member whose POST to `path` was refused (not acknowledged): it says the change was not
 * made and returns to `path` after acknowledging.
 */
export function policyRequiredUrl(path?: string | null): string {
  const next = safeNextPath(path, "");
  return `${HANDLING_POLICY_PATH}?refused=1${next ? `&next=${encodeURIComponent(next)}` : ""}`;
}

/**
 * True for a method that may change something (anything but GET and HEAD) on a request page. The path is compared
 * the way the router matches it — percent-decoded, case-insensitive, repeated slashes as one — so "/admin/%72equests/…"
 * or "/admin/REQUESTS/…" cannot slip past.
 */
export function isRequestWork(request: Request): boolean {
  if (request.method === "GET" || request.method === "HEAD") return false;
  let path = new URL(request.url).pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // malformed escapes: compare the raw path
  }
  path = path.toLowerCase().replace(/\/{2,}/g, "/");
  return path === REQUEST_PAGES_PATH || path.startsWith(`${REQUEST_PAGES_PATH}/`);
}

/** The step-up page URL that returns to `path` afterwards. */
export function stepUpUrl(path?: string | null): string {
  return withNext(STEP_UP_PATH, path);
}

const here = (request: Request) => {
  const url = new URL(request.url);
  url.searchParams.delete("_data"); // Remix's fetch marker: come back to the page, not its data
  return `${url.pathname}${url.search}`;
};

export type RequireStaffOptions = {
  /** Roles allowed; others get 403. Default: every role. */
  roles?: readonly StaffRole[];
  /** For the account page: let a staff member whose password expired in (to change it). */
  allowExpiredPassword?: boolean;
};

/**
 * The live, MFA-verified session of the request with its staff member. Otherwise throws: a redirect to the login
 * (no session), to the MFA page (second factor not shown yet) or to the account page (password older than
 * STAFF_MAX_PASSWORD_AGE_DAYS); 403 when the role is not in `roles`; for a POST to a request page by a staff member
 * who has not acknowledged the current data-handling policy, a 303 to the policy page. Call it first in every admin
 * loader and action.
 */
export async function requireStaffSession(request: Request, options: RequireStaffOptions = {}): Promise<StaffSessionContext> {
  const context = await getStaffSessionFromRequest(request);
  if (!context) throw redirect(loginUrl(here(request)));
  if (!context.session.mfaVerifiedAt) throw redirect(mfaUrl(here(request)));
  if (options.roles && !options.roles.includes(context.staff.role)) {
    throw json({ error: "forbidden" }, { status: 403 });
  }
  if (!options.allowExpiredPassword && isPasswordExpired(context.passwordChangedAt, new Date())) {
    throw redirect(`${ACCOUNT_PATH}?password=expired`);
  }
  // Acting on a request needs the current data-handling policy acknowledged (ADR 019). 303: the browser follows
  // with a GET, so the refused form is not re-posted.
  if (isRequestWork(request) && !(await hasAcknowledgedCurrent(getDb(), context.staff.id))) {
    throw redirect(policyRequiredUrl(here(request)), 303);
  }
  return context;
}

/** The signed-in staff member (see `requireStaffSession`): `requireStaff(request, { roles: ["admin"] })`. */
export async function requireStaff(request: Request, options: RequireStaffOptions = {}): Promise<Staff> {
  return (await requireStaffSession(request, options)).staff;
}

/** True when the session entered a TOTP code within the last 10 minutes. */
export function hasFreshStepUp(context: StaffSessionContext, now = Date.now()): boolean {
  const at = context.session.stepUpAt?.getTime();
  return at !== undefined && now - at < STEP_UP_MAX_AGE_MS;
}

/**
 * Like `requireStaffSession`, and the session entered a TOTP code within the last 10 minutes; otherwise a redirect
 * to the step-up page, which comes back to `returnTo` (default: this URL — for an action, the page it posts from).
 */
export async function requireStepUp(request: Request, options: RequireStaffOptions & { returnTo?: string } = {}): Promise<StaffSessionContext> {
  const context = await requireStaffSession(request, options);
  if (!hasFreshStepUp(context)) throw redirect(stepUpUrl(options.returnTo ?? here(request)));
  return context;
}

function cookieHeader(token: string, expiresAt: Date): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return [`${staffCookieName()}=${token}`, ...cookieAttributes(), `Max-Age=${maxAge}`, `Expires=${expiresAt.toUTCString()}`].join("; ");
}

/**
 * Starts a session (MFA not yet shown) for a staff member whose password was just accepted, and returns the
 * Set-Cookie header value. Every sign-in gets a fresh token; pass the sign-in request to also end the session its
 * cookie carried, if any (and to record its user agent for "your sessions").
 */
export async function startStaffSession(staffId: string, request?: Request): Promise<string> {
  const db = getDb();
  const previous = request ? sessionToken(request) : undefined;
  if (previous) await destroyStaffSession(db, previous);
  const { token, expiresAt } = await createStaffSession(db, staffId, undefined, { userAgent: request?.headers.get("User-Agent") });
  return cookieHeader(token, expiresAt);
}

/**
 * Marks the session MFA-verified (and, after a TOTP code, stepped-up) and rotates its token; returns the new
 * Set-Cookie header value, or null if the session ended meanwhile.
 */
export async function completeMfa(context: StaffSessionContext, { stepUp }: { stepUp: boolean }): Promise<string | null> {
  const token = await rotateStaffSession(getDb(), context.session.id, { mfaVerified: true, stepUp });
  return token ? cookieHeader(token, context.session.expiresAt) : null;
}

/** Ends the request's session (if any) and returns the Set-Cookie header value that clears the cookie. */
export async function endStaffSession(request: Request): Promise<string> {
  const token = sessionToken(request);
  if (token) await destroyStaffSession(getDb(), token);
  return clearStaffCookie();
}

/** The Set-Cookie header value that deletes the staff cookie. */
export function clearStaffCookie(): string {
  return [`${staffCookieName()}=`, ...cookieAttributes(), "Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"].join("; ");
}

/**
 * Recovery codes made at enrolment travel to the page that shows them once in a short-lived cookie, encrypted and
 * bound to the session (the enrolment answers with a redirect, because it rotates the session token). The page
 * reads and clears it; a reload shows nothing.
 */
export const recoveryCodesFlash = {
  name: () => (getEnv().isProduction ? "__Secure-portal_mfa_codes" : "portal_mfa_codes"),
  attributes: () => ["Path=/admin/mfa", "HttpOnly", "SameSite=Strict", ...(getEnv().isProduction ? ["Secure"] : [])],
  serialize(sessionId: string, codes: string[]): string {
    const value = encryptJson(codes, `recovery-codes-flash:${sessionId}`);
    return [`${this.name()}=${value}`, ...this.attributes(), "Max-Age=300"].join("; ");
  },
  /** The codes for this session, or null (none, expired, another session's, tampered). */
  read(request: Request, sessionId: string): string[] | null {
    const value = readCookie(request.headers.get("Cookie"), this.name());
    if (!value) return null;
    try {
      const codes = decryptJson<unknown>(value, `recovery-codes-flash:${sessionId}`);
      return Array.isArray(codes) && codes.every((c) => typeof c === "string") ? (codes as string[]) : null;
    } catch {
      return null;
    }
  },
  clear(): string {
    return [`${this.name()}=`, ...this.attributes(), "Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"].join("; ");
  },
};
