/**
 * Corrections and opt-outs over the HTTP contract (docs/connectors.md): the portal's HTTP connector against the demo
 * support service (scripts/demo-stores/support-service.ts) — a real HTTP server that verifies every signature. Only
 * attributes the map marks are sent; a second run reports the same; a bad secret is refused; an attribute the map
 * does not mark gives a task without calling the service.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signPortalBody } from "#app/connectors/http/signature.ts";
import { createConnector } from "#app/connectors/registry.ts";
import type { Connector } from "#app/connectors/types.ts";
import { loadDataMap } from "#app/models/data-map.ts";
import { demoCustomers } from "#scripts/demo-stores/customers.ts";
import { startSupportService, type SupportService } from "#scripts/demo-stores/support-service.ts";

const SECRET = randomBytes(32).toString("base64url");
const customers = demoCustomers(20);
const ada = customers[0]!;
let service: SupportService;
const open: Connector[] = [];

async function connector(secret = SECRET) {
  const map = loadDataMap(readFileSync("scripts/demo-stores/support.yaml", "utf8"));
  const c = await createConnector({ store: "support", map, secrets: {}, hashKey: randomBytes(32), env: { DEMO_SUPPORT_URL: service.url, DEMO_SUPPORT_SECRET: secret } });
  open.push(c);
  return c;
}

beforeAll(async () => {
  service = await startSupportService({ secret: SECRET, customers });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await service?.close();
});

describe("HTTP contract: /correction and /opt-out", () => {
  it("corrects the subject's tickets through a signed call; the corrected email finds them; a second run reports the same", async () => {
    const c = await connector();
    const others = JSON.stringify(service.tickets().filter((t) => t.email !== ada.email));
    const n = service.tickets().filter((t) => t.email === ada.email).length;
    expect(n).toBe(2);

    const values = { name: "Ada King", email: "Ada.King@Example.com", phone: "+442079460000" };
    const result = await c.correct({ email: ada.email }, values, { requestId: "00000000-0000-4000-8000-000000000001" });
    expect(result).toEqual({
      status: "done",
      report: { store: "support", action: "correction", targets: ["name", "email"], collections: { tickets: { matched: 2, applied: 2, shared: 0 } }, totals: { matched: 2, applied: 2, shared: 0 } },
    });
    const mine = service.tickets().filter((t) => t.email === "ada.king@example.com");
    expect(mine.map((t) => t.name)).toEqual(["Ada King", "Ada King"]);
    expect(JSON.stringify(service.tickets().filter((t) => t.email !== "ada.king@example.com"))).toBe(others);
    expect((await c.find({ email: "ada.king@example.com" })).collections).toEqual({ tickets: 2 });

    const again = await c.correct({ email: ada.email }, values);
    expect(again).toEqual(result);
  });

  it("opt-out turns off the marked preference of the subject's tickets only", async () => {
    const c = await connector();
    const bob = customers.find((x) => service.tickets().some((t) => t.email === x.email) && x.id !== ada.id)!;
    const result = await c.optOut({ email: bob.email }, ["sale_sharing", "marketing_consent"]);
    const count = service.tickets().filter((t) => t.email === bob.email).length;
    expect(result).toMatchObject({ status: "done", report: { action: "opt_out", targets: ["marketing_consent"], totals: { matched: count, applied: count } } });
    expect(service.tickets().filter((t) => t.email === bob.email).every((t) => !t.survey_opt_in)).toBe(true);
    expect(service.tickets().filter((t) => t.email !== bob.email).every((t) => t.survey_opt_in)).toBe(true);
  });

  it("what the map does not mark becomes a task, without a call; a wrong secret is refused by the service", async () => {
    const c = await connector();
    const before = service.requests();
    const task = await c.correct({ email: ada.email }, { phone: "+442079460000" });
    expect(task).toMatchObject({ status: "task", task: { store: "support", action: "correction" } });
    expect(await c.optOut({ email: ada.email }, ["sensitive_limit"])).toMatchObject({ status: "task", task: { action: "opt_out" } });
    expect(service.requests()).toBe(before);

    const wrong = await connector(randomBytes(32).toString("base64url"));
    await expect(wrong.correct({ email: ada.email }, { name: "Mallory" })).rejects.toMatchObject({ code: "http_unauthorized" });
    expect(service.tickets().some((t) => t.name === "Mallory")).toBe(false);

    // An unsigned or stale call is refused too (the service verifies timestamp and HMAC).
    const body = JSON.stringify({ action: "correction", subject: { email: ada.email }, values: { name: "Mallory" } });
    const stale = Math.floor(Date.now() / 1000) - 3600;
    const res = await fetch(`${service.url}/correction`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-portal-timestamp": String(stale), "x-portal-signature": signPortalBody(SECRET, stale, body) },
      body,
    });
    expect(res.status).toBe(401);
    expect(service.tickets().some((t) => t.name === "Mallory")).toBe(false);
  });
});
