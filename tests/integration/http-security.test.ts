/**
 * The security baseline of the web process, over real HTTP against the compiled Remix build: headers and CSP nonce,
 * CSRF (including Remix's `?_data=` path), body limits, HTTPS, health, error pages, and intake validation.
 */
import { count } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { currentTotpCode, provisionTotp } from "#app/models/mfa.server.ts";
import { createStaff } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { requests } from "#db/schema/index.ts";
import { uniqueEmail } from "#tests/helpers/flow.ts";
import { startWeb, webAppForTests } from "#tests/helpers/web.ts";

const web = webAppForTests();
const requestCount = async () => (await getDb().select({ n: count() }).from(requests))[0]!.n;
const form = (fields: Record<string, string>) => new URLSearchParams(fields);

describe("security headers", () => {
  it("sends a CSP with a fresh nonce that the page's scripts carry", async () => {
    const [a, b] = await Promise.all([fetch(web.url + "/"), fetch(web.url + "/")]);
    const csp = a.headers.get("content-security-policy") ?? "";
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(b.headers.get("content-security-policy")).not.toContain(nonce!);
    const html = await a.text();
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    expect(a.headers.get("x-content-type-options")).toBe("nosniff");
    expect(a.headers.get("referrer-policy")).toBe("same-origin");
    expect(a.headers.get("x-frame-options")).toBe("DENY");
    expect(a.headers.get("x-powered-by")).toBeNull();
    expect(a.headers.get("strict-transport-security")).toBeNull(); // plain HTTP here
  });

  it("adds HSTS behind a trusted HTTPS proxy and redirects plain HTTP with FORCE_HTTPS", async () => {
    const proxied = await startWeb({ TRUST_PROXY: "true", FORCE_HTTPS: "true" });
    try {
      const secure = await fetch(proxied.url + "/", { headers: { "X-Forwarded-Proto": "https" } });
      expect(secure.status).toBe(200);
      expect(secure.headers.get("strict-transport-security")).toContain("max-age=");
      const plain = await fetch(proxied.url + "/requests/PR-2222-2222/verify?x=1", { redirect: "manual" });
      expect(plain.status).toBe(308);
      expect(plain.headers.get("location")).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/requests\/PR-2222-2222\/verify\?x=1$/);
      const post = await proxied.post("/", form({ email: "a@example.com" }));
      expect(post.status).toBe(403);
    } finally {
      await proxied.close();
    }
  });
});

describe("CSRF", () => {
  const valid = () => form({ email: uniqueEmail("csrf"), region: "EU" });

  it.each([
    ["a foreign Origin", { Origin: "https://evil.example" }],
    ["Origin null", { Origin: "null" }],
    ["a cross-site fetch", { "Sec-Fetch-Site": "cross-site" }],
    ["a same-site (sibling subdomain) fetch", { "Sec-Fetch-Site": "same-site" }],
  ])("refuses a form post with %s", async (_label, headers) => {
    const before = await requestCount();
    const res = await web.post("/request/access", valid(), headers);
    expect(res.status).toBe(403);
    expect(await requestCount()).toBe(before);
  });

  it("refuses the ?_data= path too (Remix's fetch-based action call)", async () => {
    const before = await requestCount();
    const res = await web.post("/request/access?_data=routes%2Frequest.%24type", valid(), { Origin: "https://evil.example" });
    expect(res.status).toBe(403);
    const login = await web.post("/admin/login?_data=routes%2Fadmin.login", form({ email: "a@example.com", password: "x" }), {
      Origin: "https://evil.example",
    });
    expect(login.status).toBe(403);
    expect(await requestCount()).toBe(before);
  });

  it("refuses a mutation with neither Origin nor Referer", async () => {
    const res = await fetch(web.url + "/request/access", {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: valid().toString(),
    });
    expect(res.status).toBe(403);
  });

  it("accepts a same-origin post (Origin, or Referer when Origin is absent)", async () => {
    const res = await web.post("/request/access", valid(), { "Sec-Fetch-Site": "same-origin" });
    expect(res.status).toBe(302);
    const viaReferer = await fetch(web.url + "/request/access", {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Referer: `${web.url}/` },
      body: valid().toString(),
    });
    expect(viaReferer.status).toBe(302);
  });
});

describe("request size", () => {
  it("answers 413 to a body over the limit and creates nothing", async () => {
    const before = await requestCount();
    const big = `region=EU&email=${"a".repeat(2 * 1024 * 1024)}`;
    const res = await web.post("/request/access", big);
    expect(res.status).toBe(413);
    expect(await requestCount()).toBe(before);
  });

  it("answers 411 to a chunked body without a length", async () => {
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(web.url + "/", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: web.url, "Transfer-Encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.write("accessScope=categories&");
      req.end("region=EU");
    });
    expect(status).toBe(411);
  });
});

describe("intake over HTTP", () => {
  it("answers the same way whether or not we already know the email", async () => {
    const known = uniqueEmail("known");
    await web.post("/request/access", form({ email: known, region: "EU" }));
    const again = await web.post("/request/access", form({ email: known, region: "EU" }));
    const fresh = await web.post("/request/access", form({ email: uniqueEmail("fresh"), region: "EU" }));
    expect(again.status).toBe(302);
    expect(fresh.status).toBe(302);
    const shape = (l: string | null) => l?.replace(/PR-[A-Z0-9]{4}-[A-Z0-9]{4}/, "PR-XXXX-XXXX");
    expect(shape(again.headers.get("location"))).toBe("/requests/PR-XXXX-XXXX/verify");
    expect(shape(fresh.headers.get("location"))).toBe(shape(again.headers.get("location")));
  });

  it.each([
    ["no email", { region: "EU" }, "Please enter your email address."],
    ["a malformed email", { region: "EU", email: "not-an-email" }, "valid email address"],
    ["a 10,000-character email", { region: "EU", email: `${"a".repeat(10_000)}@example.com` }, "at most 254 characters"],
    ["an unknown region", { region: "MARS", email: "a@example.com" }, "choose where you live"],
    ["an unknown access scope", { accessScope: "everything", region: "EU", email: "a@example.com" }, "choose what you would like to receive"],
    ["a script as email", { region: "EU", email: "<script>alert(1)</script>" }, "valid email address"],
    ["a NUL byte", { region: "EU", email: "a\u0000b@example.com" }, "valid email address"],
  ])("rejects %s with a specific message and creates nothing", async (_label, fields, message) => {
    const before = await requestCount();
    // As a document request (no JavaScript): the page comes back with the message next to the field.
    const res = await web.post("/request/access", form(fields as Record<string, string>));
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(body).toContain(message);
    expect(body).not.toContain("<script>alert");
    // And as Remix's fetch call, the same message as data.
    const data = await web.post("/request/access?_data=routes%2Frequest.%24type", form(fields as Record<string, string>));
    expect(data.status).toBe(400);
    expect(await data.text()).toContain(message);
    expect(await requestCount()).toBe(before);
  });

  it("drops a honeypot submission silently", async () => {
    const before = await requestCount();
    const res = await web.post("/request/access", form({ region: "EU", email: uniqueEmail("bot"), website: "http://spam.example" }));
    expect(res.status).toBe(302);
    expect(await requestCount()).toBe(before);
  });
});

describe("pages", () => {
  it("reports health of db and redis", async () => {
    const res = await fetch(web.url + "/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", db: "ok", redis: "ok" });
  });

  it("shows a generic 404 without internals", async () => {
    const res = await fetch(web.url + "/requests/not-a-reference/verify");
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain("We could not find that page.");
    expect(html).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it("keeps /admin behind a staff login and signs in with an HttpOnly SameSite cookie, then the MFA code", async () => {
    const anon = await fetch(web.url + "/admin", { redirect: "manual" });
    expect(anon.status).toBe(302);
    expect(anon.headers.get("location")).toBe("/admin/login?next=%2Fadmin");

    const officer = await createStaff(getDb(), { email: "officer@demo-shop.example", name: "Olive Officer", role: "admin", password: "correct horse battery staple" });
    const secret = await provisionTotp(getDb(), officer.id);
    const bad = await web.post("/admin/login", form({ email: "officer@demo-shop.example", password: "wrong password 123" }));
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain("Email or password is not correct.");

    const ok = await web.post("/admin/login?next=%2F%2Fevil.example", form({ email: "officer@demo-shop.example", password: "correct horse battery staple" }));
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/admin/mfa?next=%2Fadmin");
    const cookie = ok.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    // The password alone reaches only the MFA page.
    const early = await fetch(web.url + "/admin", { redirect: "manual", headers: { Cookie: cookie.split(";")[0]! } });
    expect(early.status).toBe(302);
    expect(early.headers.get("location")).toBe("/admin/mfa?next=%2Fadmin");

    const mfa = await web.post("/admin/mfa?next=%2Fadmin", form({ intent: "code", code: currentTotpCode(secret) }), { Cookie: cookie.split(";")[0]! });
    expect(mfa.status).toBe(302);
    expect(mfa.headers.get("location")).toBe("/admin");
    const rotated = mfa.headers.get("set-cookie") ?? "";
    expect(rotated).toMatch(/HttpOnly/);
    expect(rotated.split(";")[0]).not.toBe(cookie.split(";")[0]);
    const list = await fetch(web.url + "/admin", { headers: { Cookie: rotated.split(";")[0]! } });
    expect(list.status).toBe(200);
    expect(await list.text()).toContain("Requests");
  });
});
