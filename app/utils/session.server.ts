/**
 * The staff session cookie, for Remix loaders and actions.
 *
 * The cookie holds the raw session token (256 random bits); the database holds only its SHA-256 (see
 * app/models/staff.server.ts), so the value needs no signature. In production the cookie is `__Host-portal_staff`:
 * the browser then insists on Secure, Path=/ and no Domain, so a sibling subdomain cannot plant or read it.
 * HttpOnly keeps it from scripts; SameSite=Lax keeps it off cross-site POSTs (CSRF tokens still guard forms).
 */
import { redirect } from "@remix-run/node";
import { getDb } from "#db/client.server.ts";
import { createStaffSession, destroyStaffSession, getStaffBySessionToken, type Staff } from "#app/models/staff.server.ts";
import { getEnv } from "./env.server.ts";

export const LOGIN_PATH = "/admin/login";
export const DEFAULT_AFTER_LOGIN = "/admin";

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

/** The signed-in staff member, or null. */
export async function getStaffFromRequest(request: Request): Promise<Staff | null> {
  const token = sessionToken(request);
  if (!token) return null;
  return getStaffBySessionToken(getDb(), token);
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

/** The login URL that returns to `path` after signing in. */
export function loginUrl(path?: string | null): string {
  const next = safeNextPath(path, "");
  return next && next !== LOGIN_PATH ? `${LOGIN_PATH}?next=${encodeURIComponent(next)}` : LOGIN_PATH;
}

/** The signed-in staff member; otherwise throws a redirect to the login page that comes back here. */
export async function requireStaff(request: Request): Promise<Staff> {
  const staff = await getStaffFromRequest(request);
  if (staff) return staff;
  const url = new URL(request.url);
  throw redirect(loginUrl(`${url.pathname}${url.search}`));
}

/**
 * Starts a new session for a staff member who just signed in and returns the Set-Cookie header value. Every
 * sign-in gets a fresh token; pass the sign-in request to also end the session its cookie carried, if any.
 */
export async function startStaffSession(staffId: string, request?: Request): Promise<string> {
  const db = getDb();
  const previous = request ? sessionToken(request) : undefined;
  if (previous) await destroyStaffSession(db, previous);
  const { token, expiresAt } = await createStaffSession(db, staffId);
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return [`${staffCookieName()}=${token}`, ...cookieAttributes(), `Max-Age=${maxAge}`, `Expires=${expiresAt.toUTCString()}`].join("; ");
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
