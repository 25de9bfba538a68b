/**
 * Authorization of every staff route, found by reading app/routes (so a route added later is covered without
 * editing this file) and served from the compiled build over real HTTP. For GET and POST:
 * - anonymous → 302 to the login page (a POST to a route without an action may be 405);
 * - a session that showed only the password → 302 to the MFA page;
 * - each role that may not use the route → 403 with no data; admins are never refused.
 * Access rules: admin = everything; processor = works on requests (not staff management); auditor = read-only, so
 * any POST from an auditor is refused — except the self-service pages (own account, step-up, MFA, sign-out).
 * A route narrower than that declares it: `export const handle = { staffRoles: ["admin"] }` (checked here: the other
 * roles must get 403); for an undeclared route a non-admin role may be allowed or refused, but a refusal carries no data.
 */
import { readdirSync } from "node:fs";
import type { ServerBuild } from "@remix-run/node";
import { beforeAll, describe, expect, it } from "vitest";
import { createStaff, createStaffSession, markStaffSessionMfaVerified } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import type { StaffRole } from "#db/schema/index.ts";
import { loadBuild, webAppForTests } from "#tests/helpers/web.ts";

/** Pages anyone may open (the token or the form is the credential). */
const PUBLIC = new Set(["admin.login", "admin.invite.$token"]);
/** Pages of one's own session: any signed-in role, auditors included, may post. */
const SELF_SERVICE = new Set(["admin.account", "admin.step-up", "admin.mfa", "admin.mfa_.recovery-codes", "admin.logout"]);
/** Reachable with the password alone (the MFA step itself, and signing out of it). */
const BEFORE_MFA = new Set(["admin.mfa", "admin.logout"]);
/** Roles allowed, for routes that do not declare `handle.staffRoles` themselves. */
const ONLY: [RegExp, StaffRole[]][] = [[/^admin\.staff([._]|$)/, ["admin"]]];

const ROLES: StaffRole[] = ["admin", "processor", "auditor"];
const CANARY = "Canary Zebra";

const web = webAppForTests();
let build: ServerBuild;
const staffIds: Partial<Record<StaffRole, string>> = {};
const emails: string[] = [];

const routeFiles = readdirSync("app/routes")
  .filter((f) => /^admin([._].*)?\.(tsx?|jsx?)$/.test(f))
  .map((f) => f.replace(/\.(tsx?|jsx?)$/, ""));

beforeAll(async () => {
  build = await loadBuild();
  for (const role of ROLES) {
    const email = `authz.${role}.${Date.now().toString(36)}@example.com`;
    emails.push(email);
    staffIds[role] = (await createStaff(getDb(), { email, name: `${CANARY} ${role}`, role, password: "correct horse battery staple" })).id;
  }
});

/** A fresh session cookie for a role; `mfa: false` = password shown only. */
async function sessionCookie(role: StaffRole, { mfa = true } = {}) {
  const { token, sessionId } = await createStaffSession(getDb(), staffIds[role]!);
  if (mfa) await markStaffSessionMfaVerified(getDb(), sessionId);
  return `portal_staff=${token}`;
}

const SAMPLE_PARAMS: Record<string, string> = { reference: "PR-AAAA-AAAA", token: "A".repeat(43), id: "00000000-0000-4000-8000-000000000000" };

/** The URL of a built route, with sample values for its params (optional segments left out). */
function urlOf(id: string): string {
  const segments: string[] = [];
  for (let route = build.routes[id]; route; route = route.parentId ? build.routes[route.parentId] : undefined) {
    if (route.path) segments.unshift(route.path);
  }
  return (
    "/" +
    segments
      .join("/")
      .split("/")
      .filter((s) => s && !s.endsWith("?"))
      .map((s) => (s.startsWith(":") ? (SAMPLE_PARAMS[s.slice(1)] ?? "sample") : s === "*" ? "sample" : s))
      .join("/")
  );
}

/** The roles a route declares (handle.staffRoles) or this file knows; undefined = not declared. */
function declaredRoles(file: string): StaffRole[] | undefined {
  const handle = build.routes[`routes/${file}`]!.module.handle as { staffRoles?: StaffRole[] } | undefined;
  return handle?.staffRoles ?? ONLY.find(([re]) => re.test(file))?.[1];
}

async function call(method: "GET" | "POST", path: string, cookie?: string) {
  const headers: Record<string, string> = cookie ? { Cookie: cookie } : {};
  const res =
    method === "GET" ? await fetch(web.url + path, { redirect: "manual", headers }) : await web.post(path, new URLSearchParams({ intent: "authz-probe" }), headers);
  return { status: res.status, location: res.headers.get("location"), body: await res.text() };
}

function expectNoData(body: string) {
  expect(body).not.toContain(CANARY);
  for (const e of emails) expect(body).not.toContain(e);
}

describe("the route list", () => {
  it("finds every admin route file, and each is in the current build", () => {
    expect(routeFiles).toEqual(expect.arrayContaining(["admin._index", "admin.login", "admin.logout", "admin.mfa", "admin.staff", "admin.account", "admin.step-up"]));
    for (const file of routeFiles) expect(build.routes[`routes/${file}`], `routes/${file} is missing from build/: run npm run build`).toBeDefined();
  });

  it("every protected route has a loader (a page without one would render for anyone)", () => {
    for (const file of routeFiles.filter((f) => !PUBLIC.has(f))) {
      const mod = build.routes[`routes/${file}`]!.module;
      if (mod.default) expect(mod.loader, `${file} renders a page but has no loader calling requireStaff`).toBeTypeOf("function");
    }
  });
});

describe.each(routeFiles.filter((f) => !PUBLIC.has(f)))("%s", (file) => {
  const id = `routes/${file}`;
  const methods = ["GET", "POST"] as const;

  it.each(methods)("%s anonymous → login, no data", async (method) => {
    const mod = build.routes[id]!.module;
    const r = await call(method, urlOf(id));
    expectNoData(r.body);
    if (method === "POST" && !mod.action) return expect([302, 405]).toContain(r.status);
    if (file === "admin.logout" && method === "GET") return expect(r.status).toBe(302); // → /admin → login
    expect(r.status).toBe(302);
    expect(r.location).toMatch(/^\/admin\/login(\?|$)/);
  });

  it.each(methods)("%s with the password only → MFA page", async (method) => {
    if (BEFORE_MFA.has(file)) return;
    const mod = build.routes[id]!.module;
    if (method === "POST" && !mod.action) return;
    const r = await call(method, urlOf(id), await sessionCookie("admin", { mfa: false }));
    expectNoData(r.body);
    expect(r.status).toBe(302);
    expect(r.location).toMatch(/^\/admin\/mfa(\?|$)/);
  });

  it.each(ROLES.flatMap((role) => methods.map((method) => [role, method] as const)))("%s %s → allowed, or 403 with no data (403 when not allowed)", async (role, method) => {
    const mod = build.routes[id]!.module;
    if (method === "POST" && !mod.action) return;
    const declared = declaredRoles(file);
    const readOnlyRefused = role === "auditor" && method === "POST" && !SELF_SERVICE.has(file);
    const refused = readOnlyRefused || (declared !== undefined && !declared.includes(role));
    const r = await call(method, urlOf(id), await sessionCookie(role));
    if (refused) expect(r.status, `${role} ${method} ${urlOf(id)}`).toBe(403);
    if (role === "admin" || declared?.includes(role)) expect(r.status, `${role} ${method} ${urlOf(id)}`).not.toBe(403);
    if (r.status === 403) expectNoData(r.body);
  });
});
