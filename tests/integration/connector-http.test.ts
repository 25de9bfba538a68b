/**
 * The HTTP connector against a real local HTTP server implementing the contract of docs/connectors.md: it verifies
 * every signature, holds a small CRM in memory, and can be told to answer slowly, with errors or with Retry-After.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { verifyPortalSignature, signPortalBody } from "#app/connectors/http/signature.ts";
import { retryAfterMs } from "#app/connectors/http/client.ts";
import { createConnector } from "#app/connectors/registry.ts";
import { RetryLaterError, StoreError, type AccessItem, type Connector } from "#app/connectors/types.ts";
import { validateDataMap } from "#app/models/data-map.ts";

const SECRET = randomBytes(32).toString("base64url");

type Ticket = { id: number; email: string; subject: string; internal_score: number };
let tickets: Ticket[];
/** What the next requests get instead of a normal answer (consumed one by one). */
let scripted: ((res: ServerResponse) => void | Promise<void>)[] = [];
const seen: { path: string; verified: boolean; body: Record<string, unknown>; headers: IncomingMessage["headers"] }[] = [];
let server: Server;
let baseUrl: string;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString("utf8");
  const check = verifyPortalSignature({
    secret: SECRET,
    body: raw,
    timestamp: req.headers["x-portal-timestamp"] as string | undefined,
    signature: req.headers["x-portal-signature"] as string | undefined,
  });
  const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  seen.push({ path: req.url ?? "", verified: check.ok, body, headers: req.headers });
  if (!check.ok) return json(res, 401, { error: check.reason });
  const next = scripted.shift();
  if (next) return next(res);

  const subject = (body.subject ?? {}) as { email?: string };
  const mine = tickets.filter((t) => t.email === subject.email);
  switch (req.url) {
    case "/privacy/ping":
      return json(res, 200, { ok: true, service: "Test CRM 1.0" });
    case "/privacy/access":
      return json(res, 200, { collections: { tickets: mine, notes: [] } });
    case "/privacy/erasure":
      if (!body.dryRun) tickets = tickets.filter((t) => t.email !== subject.email);
      return json(res, 200, {
        collections: { tickets: { matched: mine.length, deleted: mine.length, masked: 0, kept: 0, bases: [] } },
      });
    default:
      return json(res, 404, { error: "not found" });
  }
}

function crmMap(overrides: Record<string, unknown> = {}) {
  return validateDataMap({
    name: "crm",
    kind: "http",
    connection: { baseUrl: "env:CRM_URL", secret: "env:CRM_SECRET", timeoutMs: 500, maxRetries: 2, maxRetryWaitMs: 3000, tls: { allowHttp: true }, ...overrides },
    metadata: { purposes: ["Customer support"], retention: "2 years", source: "You" },
    collections: {
      tickets: { category: "communications", fields: { id: { category: "identifiers" }, email: { category: "contact" }, subject: {}, internal_score: { access: "omit" } } },
    },
  });
}

const open: Connector[] = [];
async function connector(overrides: Record<string, unknown> = {}, secret = SECRET) {
  const c = await createConnector({ store: "crm", map: crmMap(overrides), secrets: {}, hashKey: randomBytes(32), env: { CRM_URL: baseUrl, CRM_SECRET: secret } });
  open.push(c);
  return c;
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/privacy`;
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  tickets = [
    { id: 1, email: "alice@example.com", subject: "Where is my parcel?", internal_score: 3 },
    { id: 2, email: "alice@example.com", subject: "Refund", internal_score: 9 },
    { id: 3, email: "bob@example.com", subject: "Hello", internal_score: 1 },
  ];
  scripted = [];
  seen.length = 0;
});

describe("HTTP connector", () => {
  it("tests the connection with a signed ping and warns about plain HTTP", async () => {
    const t = await (await connector()).test();
    expect(t).toMatchObject({ connected: true, ok: true, server: "Test CRM 1.0" });
    expect(t.warnings.map((w) => w.code)).toEqual(["insecure_http"]);
    expect(seen).toEqual([expect.objectContaining({ path: "/privacy/ping", verified: true, body: { action: "ping" } })]);
    expect(seen[0]!.headers["x-portal-store"]).toBe("crm");
  });

  it("streams the subject's records, normalized identity in a signed body, omitted fields dropped", async () => {
    const c = await connector();
    const rows: AccessItem[] = [];
    for await (const item of c.access({ email: " Alice@Example.com " }, { requestId: "3f1c1f0e-7b1a-4a59-9c39-2f1d1e3c0a11" })) rows.push(item);
    expect(rows).toEqual([
      { type: "row", collection: "tickets", row: { id: 1, email: "alice@example.com", subject: "Where is my parcel?" } },
      { type: "row", collection: "tickets", row: { id: 2, email: "alice@example.com", subject: "Refund" } },
    ]);
    expect(seen[0]).toMatchObject({
      path: "/privacy/access",
      verified: true,
      body: { action: "access", requestId: "3f1c1f0e-7b1a-4a59-9c39-2f1d1e3c0a11", subject: { email: "alice@example.com" } },
    });
    expect(await c.find({ email: "alice@example.com" })).toEqual({ found: true, collections: { tickets: 2, notes: 0 } });
  });

  it("erases through the service; a dry run is passed on and changes nothing", async () => {
    const c = await connector();
    const dry = await c.erase({ email: "alice@example.com" }, { dryRun: true });
    expect(tickets).toHaveLength(3);
    expect(seen[0]!.body).toMatchObject({ action: "erasure", dryRun: true });
    const real = await c.erase({ email: "alice@example.com" });
    expect(real).toEqual({
      status: "done",
      report: {
        store: "crm",
        dryRun: false,
        collections: { tickets: { matched: 2, deleted: 2, masked: 0, kept: 0, bases: [] } },
        totals: { matched: 2, deleted: 2, masked: 0, kept: 0 },
      },
    });
    expect(dry.status === "done" && dry.report.dryRun).toBe(true);
    expect(tickets.map((t) => t.id)).toEqual([3]);
  });

  it("a wrong secret is refused by the service's signature check", async () => {
    const c = await connector({}, "x".repeat(40));
    const e = await c.erase({ email: "alice@example.com" }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "http_unauthorized", retryable: false });
    expect(seen[0]!.verified).toBe(false);
    expect(tickets).toHaveLength(3);
  });

  it("honours a short Retry-After inline and turns a long one into RetryLaterError", async () => {
    const c = await connector();
    scripted = [(res) => json(res, 503, { busy: true }, { "retry-after": "1" })];
    const started = Date.now();
    const r = await c.erase({ email: "alice@example.com" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(r.status === "done" && r.report.totals.deleted).toBe(2);
    expect(seen.map((s) => s.path)).toEqual(["/privacy/erasure", "/privacy/erasure"]);

    scripted = [(res) => json(res, 429, {}, { "retry-after": "120" })];
    const e = await c.find({ email: "bob@example.com" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryLaterError);
    expect((e as RetryLaterError).retryAfterMs).toBe(120_000);
  });

  it("retries server errors, times out slow answers, and refuses answers outside the contract", async () => {
    const c = await connector();
    scripted = [(res) => json(res, 500, {})];
    expect((await c.find({ email: "alice@example.com" })).collections.tickets).toBe(2);

    const slow = await connector({ maxRetries: 0, timeoutMs: 200 });
    scripted = [(res) => void setTimeout(() => json(res, 200, { collections: {} }), 1000)];
    const t = await slow.find({ email: "alice@example.com" }).catch((x: unknown) => x);
    expect(t).toMatchObject({ code: "http_timeout", retryable: true });

    scripted = [(res) => json(res, 200, { collections: { tickets: { matched: -1 } } })];
    const bad = await c.erase({ email: "alice@example.com" }).catch((x: unknown) => x);
    expect(bad).toBeInstanceOf(StoreError);
    expect(bad).toMatchObject({ code: "http_bad_response", message: expect.stringContaining("tickets.matched") });
    expect(tickets).toHaveLength(3);
  });

  it("the signature scheme: exact format, stale timestamps and tampering refused", () => {
    const body = '{"action":"ping"}';
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    const sig = signPortalBody(SECRET, ts, body);
    expect(sig).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifyPortalSignature({ secret: SECRET, body, timestamp: String(ts), signature: sig, now })).toEqual({ ok: true });
    expect(verifyPortalSignature({ secret: SECRET, body: body + " ", timestamp: String(ts), signature: sig, now })).toEqual({ ok: false, reason: "mismatch" });
    expect(verifyPortalSignature({ secret: SECRET, body, timestamp: String(ts), signature: sig, now: now + 301_000 })).toEqual({ ok: false, reason: "stale" });
    expect(verifyPortalSignature({ secret: SECRET, body, timestamp: undefined, signature: sig })).toEqual({ ok: false, reason: "missing" });
    expect(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:00 GMT"))).toBe(60_000);
  });

  it("refuses a plain-HTTP base URL unless allowed", async () => {
    await expect(
      createConnector({ store: "crm", map: crmMap({ tls: { allowHttp: false } }), secrets: {}, hashKey: randomBytes(32), env: { CRM_URL: baseUrl, CRM_SECRET: SECRET } }),
    ).rejects.toMatchObject({ code: "config_invalid" });
  });
});
