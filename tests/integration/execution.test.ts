/**
 * Execution of approved requests through the real worker (BullMQ flow: one child per store, a finalizing parent)
 * against the demo's stores in scratch databases: PostgreSQL `shop`, MariaDB `marketing`, HTTP `support`.
 * Access builds an encrypted package with exactly the subject's records; deletion erases per the maps and mails the
 * summary; a store that keeps failing makes the request need action without losing the others' results, and
 * retryStore finishes it; an erasure whose worker died right after the store committed still reports right.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { verifyPortalSignature } from "#app/connectors/http/signature.ts";
import { listEvents } from "#app/models/audit.server.ts";
import { executeStore, finalizeRequest, reconcileExecutions, retryStore, sendCompletionEmail, startExecution } from "#app/models/execution.server.ts";
import { getPackage, openPackageFile, packageDir } from "#app/models/packages.server.ts";
import { getRequestByStatusToken, publicTimeline } from "#app/models/status.server.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getDb } from "#db/client.server.ts";
import { requests, storeRuns, stores, type RequestType } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { eventually, mailsTo, statusLinkFromMail } from "#tests/helpers/flow.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";
import { demoStoresAndWorkerForTests, parseCsv, streamToBuffer, unzip, verifiedRequest } from "./execution-fixtures.ts";

vi.hoisted(() => {
  process.env.PACKAGE_DIR = `${process.env.TMPDIR ?? "/tmp"}/portal-packages-${process.pid}-${Math.random().toString(36).slice(2)}`;
  process.env.EXECUTION_ATTEMPTS = "2";
});

const db = () => getDb();
const demo = demoStoresAndWorkerForTests();

const approvedRequest = (type: RequestType, email: string) => verifiedRequest(db(), { type, email, region: "EU" });

const statusOf = async (id: string) => (await db().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;
const waitForStatus = (id: string, status: string, timeoutMs = 60_000) => eventually(async () => (await statusOf(id)) === status, timeoutMs, 100);

describe("execution", () => {
  it("access: one package with exactly the subject's records from every store, encrypted at rest; the completion email links the status page", async () => {
    const ada = demo.customers[0]!;
    await demo.shop.sql`update reviews set body = '=1+2 really good' where customer_id = ${ada.id}`;
    const { id, reference } = await approvedRequest("access", ada.email);
    await enqueue("execute-request", { requestId: id });
    await waitForStatus(id, "completed");

    const runs = await db().select().from(storeRuns).where(eq(storeRuns.requestId, id));
    expect(runs.map((r) => r.status)).toEqual(["completed", "completed", "completed"]);
    const pkg = (await getPackage(db(), id))!;
    expect(pkg).toMatchObject({ format: "access", downloadCount: 0 });
    expect(pkg.expiresAt.getTime() - pkg.createdAt.getTime()).toBe(7 * 86_400_000);

    // At rest: ciphertext only (no readable names, no zip signature); the data key is stored wrapped.
    const raw = await readFile(join(packageDir(), pkg.path));
    expect(raw.length).toBe(pkg.sizeBytes);
    expect(raw.includes(Buffer.from("Lovelace"))).toBe(false);
    expect(raw.subarray(0, 2).toString("latin1")).not.toBe("PK");
    expect(pkg.wrappedKey).toMatch(/^v1\./);

    const files = await unzip(await streamToBuffer(openPackageFile(pkg)));
    const names = [...files.keys()].sort();
    expect(names).toContain("index.html");
    expect(names).toEqual(
      expect.arrayContaining(["shop/shop.json", "shop/customers.csv", "shop/orders.csv", "shop/order_items.csv", "shop/payments.csv", "shop/reviews.csv", "marketing/marketing.json", "marketing/contacts.csv", "support/support.json", "support/tickets.csv"]),
    );
    const shopJson = JSON.parse(files.get("shop/shop.json")!.toString()) as { collections: Record<string, Record<string, unknown>[]> };
    expect(shopJson.collections.customers).toHaveLength(1);
    expect(shopJson.collections.customers![0]).toMatchObject({ id: ada.id, email: ada.email, full_name: "Ada Lovelace" });
    expect(shopJson.collections.customers![0]).not.toHaveProperty("password_hash");
    const [expectedOrders] = await demo.shop.sql`select count(*)::int as n from orders where customer_id = ${ada.id}`;
    expect(shopJson.collections.orders).toHaveLength(expectedOrders!.n as number);
    expect(shopJson.collections.orders!.every((o) => o.customer_id === ada.id)).toBe(true);
    expect(shopJson.collections.payments!.every((p) => !("provider_token" in p) && /^\d{4}$/.test(String(p.card_last4)))).toBe(true);
    expect(shopJson.collections.newsletter_consents!.map((n) => n.email)).toEqual([ada.email]);
    const marketingJson = JSON.parse(files.get("marketing/marketing.json")!.toString()) as { collections: Record<string, Record<string, unknown>[]> };
    expect(marketingJson.collections.contacts!.map((c) => c.email)).toEqual([ada.email]);
    expect(marketingJson.collections.campaign_events!.every((e) => e.contact_id === ada.id)).toBe(true);
    const supportJson = JSON.parse(files.get("support/support.json")!.toString()) as { collections: Record<string, Record<string, unknown>[]> };
    expect(supportJson.collections.tickets!.length).toBeGreaterThan(0);
    expect(supportJson.collections.tickets!.every((t) => t.email === ada.email)).toBe(true);
    // No other customer anywhere in the package.
    const everything = [...files.values()].map((b) => b.toString()).join("\n");
    for (const other of demo.customers.slice(1)) expect(everything).not.toContain(other.email);

    // CSV: a header, one line per record, formula-looking text neutralized.
    const reviews = parseCsv(files.get("shop/reviews.csv")!.toString());
    expect([...reviews[0]!].sort()).toEqual(["body", "created_at", "customer_id", "id", "product_sku", "rating"]);
    const bodyAt = reviews[0]!.indexOf("body");
    expect(reviews.slice(1).map((r) => r[bodyAt])).toContain("'=1+2 really good");
    const customersCsv = parseCsv(files.get("shop/customers.csv")!.toString());
    expect(customersCsv).toHaveLength(2);
    expect(customersCsv[0]).not.toContain("password_hash");

    // The cover sheet: Art. 15 details per store, from the maps.
    const cover = files.get("index.html")!.toString();
    expect(cover).toContain(reference);
    expect(cover).toContain("Online shop");
    expect(cover).toContain("Order fulfilment and delivery");
    expect(cover).toContain("Parcel carriers");
    expect(cover).toContain("Orders, items and payments 10 years (tax law)".replace("Orders", "orders"));
    expect(cover).toContain("Provided by you when you subscribed");
    expect(cover).toContain("Not included for security: password_hash");

    // Parts are gone once the package exists.
    expect(await readdir(join(packageDir(), "parts")).catch(() => [])).toEqual([]);

    // The completion email: a fresh status link (the token made by the job that mailed it) and the expiry date.
    const mail = await testMailbox().waitFor((m) => m.to.includes(ada.email) && m.subject.includes(`${reference} is complete`), 15_000);
    expect(mail.text).toContain("Download my data");
    const link = statusLinkFromMail(mail);
    expect((await getRequestByStatusToken(db(), link.split("/status/")[1]!))?.id).toBe(id);
    const timeline = (await publicTimeline(db(), id)).map((t) => t.text);
    expect(timeline).toEqual(expect.arrayContaining(["We started processing your request.", "Your request is complete."]));

    // Running the steps again changes nothing and sends nothing.
    await eventually(async () => (await listEvents(db(), id)).some((e) => e.action === "request.completion_sent"));
    expect(await startExecution(db(), id)).toBe("skipped");
    expect(await finalizeRequest(db(), id)).toBe("already_completed");
    expect(await sendCompletionEmail(db(), id)).toBe("skipped");
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(ada.email).filter((m) => m.subject.includes("is complete"))).toHaveLength(1);
    const actions = (await listEvents(db(), id)).map((e) => e.action);
    expect(actions.filter((a) => a === "store.access_completed")).toHaveLength(3);
    expect(actions.filter((a) => a === "package.created")).toHaveLength(1);
    // Audit details carry ids and counts only.
    expect(JSON.stringify(await listEvents(db(), id))).not.toContain(ada.email);
  });

  it("deletion: every store erased per its map; the completion email reports what was deleted, masked and kept, and why", async () => {
    const grace = demo.customers[1]!;
    const { id, reference } = await approvedRequest("deletion", grace.email);
    await enqueue("execute-request", { requestId: id });
    await waitForStatus(id, "completed");

    const sql = demo.shop.sql;
    const [customer] = await sql`select * from customers where id = ${grace.id}`;
    expect(customer).toMatchObject({ full_name: "Erased customer", phone: null, password_hash: null, account_number: null });
    expect(String(customer!.email)).toMatch(/^hmac:[0-9a-f]{64}$/);
    expect(await sql`select * from addresses where customer_id = ${grace.id}`).toHaveLength(0);
    expect(await sql`select * from reviews where customer_id = ${grace.id}`).toHaveLength(0);
    expect(await sql`select * from newsletter_consents where lower(email) = ${grace.email}`).toHaveLength(0);
    const orders = await sql`select * from orders where customer_id = ${grace.id}`;
    expect(orders.length).toBe(2);
    expect(orders.every((o) => o.shipping_name === "Erased" && o.shipping_street === "")).toBe(true);
    expect((await sql`select provider_token from payments where order_id in ${sql(orders.map((o) => o.id as number))}`).every((p) => p.provider_token === null)).toBe(true);
    // Other customers are untouched.
    expect((await sql`select full_name from customers where id = ${demo.customers[2]!.id}`)[0]!.full_name).toBe("Alan Turing");
    const [contacts] = await demo.marketing.pool.query("select count(*) as n from contacts where email = ?", [grace.email]);
    expect(Number((contacts as { n: number }[])[0]!.n)).toBe(0);
    const tickets = demo.support.tickets().filter((t) => t.email === grace.email);
    expect(tickets.map((t) => t.status)).toEqual(["warranty_claim"]);

    const mail = await testMailbox().waitFor((m) => m.to.includes(grace.email) && m.subject.includes(`${reference} is complete`), 15_000);
    expect(mail.text).toMatch(/Online shop\s*: 3 records deleted, \d+ records masked, \d+ records kept\./);
    expect(mail.text).toContain("Orders are kept for 10 years for tax law (invoices)");
    expect(mail.text).toMatch(/Newsletter and marketing\s*: \d+ records deleted, 0 records masked, 0 records kept\./);
    expect(mail.text).toMatch(/Customer support desk\s*: 1 record deleted, 0 records masked, 1 record kept\./);
    expect(mail.text).toContain("An open warranty claim needs this conversation until it is settled");
    expect(mail.text).not.toContain(grace.email.split("@")[0]!.replace(".", " "));
  });

  it("reconcile puts back the work Redis lost: an approved request without its job, and a completed one without its email", async () => {
    const edsger = demo.customers[4]!;
    const { id } = await approvedRequest("access", edsger.email);
    await db().update(requests).set({ updatedAt: new Date(Date.now() - 120_000) }).where(eq(requests.id, id));
    expect(await reconcileExecutions(db())).toMatchObject({ approved: 1 });
    await waitForStatus(id, "completed");
    await testMailbox().waitFor((m) => m.to.includes(edsger.email) && m.subject.includes("is complete"), 15_000);
    await eventually(async () => (await listEvents(db(), id)).some((e) => e.action === "request.completion_sent"));
    await db().update(requests).set({ completedAt: new Date(Date.now() - 120_000) }).where(eq(requests.id, id));
    expect(await reconcileExecutions(db())).toMatchObject({ approved: 0, completionEmails: 0 });
  });

  it("recovers the right report when the worker died after the store committed but before the run was recorded", async () => {
    const alan = demo.customers[2]!;
    const { id } = await approvedRequest("deletion", alan.email);
    expect(await startExecution(db(), id)).toBe("started");
    // Let the worker's flow run it normally first…
    await waitForStatus(id, "completed");
    const [run] = await db().select().from(storeRuns).where(and(eq(storeRuns.requestId, id), eq(storeRuns.storeId, demo.storeIds.shop)));
    const original = run!.report as { totals: Record<string, number> };
    expect(original.totals.deleted).toBeGreaterThan(0);
    // …then rewind the run to "the store committed, the worker died before recording": status running, no report.
    await db().update(storeRuns).set({ status: "running", report: null }).where(eq(storeRuns.id, run!.id));
    await db().update(requests).set({ status: "processing" }).where(eq(requests.id, id));
    const result = await executeStore(db(), { requestId: id, storeId: demo.storeIds.shop });
    expect(result).toMatchObject({ status: "completed", recovered: true });
    const [after] = await db().select().from(storeRuns).where(eq(storeRuns.id, run!.id));
    expect(after!.status).toBe("completed");
    expect((after!.report as { totals: unknown }).totals).toEqual(original.totals);
    expect(after!.report).toMatchObject({ dryRun: false, recovered: true });
  });

  it("a store that keeps failing makes the request need action (error shown, no personal data) without losing the others; retryStore completes it", async () => {
    let failing = true;
    const seen: number[] = [];
    const secret = "flaky-secret-flaky-secret-flaky-secret-0001";
    const server: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString();
      const ok = verifyPortalSignature({ secret, body, timestamp: req.headers["x-portal-timestamp"] as string, signature: req.headers["x-portal-signature"] as string }).ok;
      seen.push(ok ? 1 : 0);
      if (failing) return res.writeHead(503).end("down");
      const answer = req.url?.endsWith("/erasure") ? { collections: { records: { matched: 1, deleted: 1, masked: 0, kept: 0, bases: [] } } } : { collections: {} };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { store: flaky } = await applyStoreMap(db(), {
      name: "flaky",
      title: "Flaky service",
      kind: "http",
      connection: { baseUrl: url, secret, maxRetries: 0, tls: { allowHttp: true } },
      metadata: { purposes: ["Testing"], retention: "None", source: "You" },
    });
    try {
      const katherine = demo.customers[3]!;
      const { id, reference } = await approvedRequest("deletion", katherine.email);
      await enqueue("execute-request", { requestId: id });
      await waitForStatus(id, "action_required");
      const runs = await db().select({ storeId: storeRuns.storeId, status: storeRuns.status, error: storeRuns.error, attempts: storeRuns.attempts }).from(storeRuns).where(eq(storeRuns.requestId, id));
      const byStore = Object.fromEntries(runs.map((r) => [r.storeId, r]));
      expect(byStore[demo.storeIds.shop]!.status).toBe("completed");
      expect(byStore[demo.storeIds.marketing]!.status).toBe("completed");
      expect(byStore[demo.storeIds.support]!.status).toBe("completed");
      expect(byStore[flaky.id]).toMatchObject({ status: "failed", attempts: 2 });
      expect(byStore[flaky.id]!.error).toMatch(/^(http_|retry_later)/);
      expect(byStore[flaky.id]!.error).not.toContain(katherine.email);
      expect(seen.every((s) => s === 1)).toBe(true);
      const needs = (await listEvents(db(), id)).find((e) => e.action === "request.action_required")!;
      expect(needs.details).toMatchObject({ code: "store_failed", failedStores: [flaky.id] });
      expect(mailsTo(katherine.email).some((m) => m.subject.includes("is complete"))).toBe(false);

      failing = false;
      await retryStore(db(), id, flaky.id, { staffId: "00000000-0000-4000-8000-000000000001" });
      await waitForStatus(id, "completed");
      const mail = await testMailbox().waitFor((m) => m.to.includes(katherine.email) && m.subject.includes(`${reference} is complete`), 15_000);
      expect(mail.text).toMatch(/Flaky service\s*: 1 record deleted/);
      // The other stores were not run again.
      const shopRun = (await db().select().from(storeRuns).where(and(eq(storeRuns.requestId, id), eq(storeRuns.storeId, demo.storeIds.shop))))[0]!;
      expect(shopRun.attempts).toBe(1);
      const actions = (await listEvents(db(), id)).map((e) => e.action);
      expect(actions.filter((a) => a === "store.erasure_completed")).toHaveLength(4);
      expect(actions).toContain("store.retry_requested");
    } finally {
      await db().update(stores).set({ disabledAt: new Date() }).where(eq(stores.id, flaky.id));
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 90_000);
});
