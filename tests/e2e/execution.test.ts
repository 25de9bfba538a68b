/**
 * A customer of the demo stores (shop PostgreSQL, marketing MariaDB, support HTTP service — in scratch databases)
 * in Chromium: asks for their data, verifies by the emailed code; staff approve (the request is approved and
 * `execute-request` queued, as the console's approve action does); the worker runs the flow; the completion email
 * links the status page, where the customer confirms a fresh emailed code and downloads the zip, which holds exactly
 * their records. A deletion request ends completed with the erasure report in the email and the rows gone, masked or
 * kept in the stores.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq, inArray } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import { closeDb, getDb } from "#db/client.server.ts";
import { packages, requests } from "#db/schema/index.ts";
import { closeQueues, enqueue } from "#jobs/queues.ts";
import { closeRedis } from "#app/utils/redis.server.ts";
import { launchBrowser } from "#tests/helpers/browser.ts";
import { codeFromMail, eventually, statusLinkFromMail, verificationMailFor } from "#tests/helpers/flow.ts";
import { startPortal, type PortalProcess } from "#tests/helpers/processes.ts";
import { createDemoStores, unzip, type DemoStores } from "#tests/integration/execution-fixtures.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

let web: PortalProcess;
let worker: PortalProcess;
let browser: Browser;
let baseUrl: string;
let demo: DemoStores;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portal-e2e-packages-"));
  demo = await createDemoStores(getDb(), 20);
  ({ baseUrl, web, worker } = await startPortal({ PACKAGE_DIR: dir }));
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  if (process.env.DEBUG_E2E) console.log(web.logs.filter((l) => /error|warn|50\d/i.test(l)).slice(-20).join("\n"));
  await browser?.close();
  await Promise.all([web?.stop(), worker?.stop()]);
  await closeQueues();
  await closeRedis();
  await demo?.close();
  await closeDb();
  await rm(dir, { recursive: true, force: true });
});

async function submitAndVerify(context: BrowserContext, label: string, email: string, region: string): Promise<{ page: Page; reference: string }> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  await page.getByRole("link", { name: label }).click();
  await page.getByRole("heading", { name: label, level: 1 }).waitFor();
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Where do you live?").selectOption(region);
  await page.getByRole("button", { name: "Send request" }).click();
  await page.getByRole("heading", { name: "Check your inbox" }).waitFor();
  await page.getByLabel("Verification code").fill(codeFromMail(await verificationMailFor(email)));
  await page.getByRole("button", { name: "Verify my request" }).click();
  await page.getByRole("heading", { name: /your request is confirmed/ }).waitFor();
  const reference = ((await page.locator("dt:has-text('Reference') + dd").textContent()) ?? "").trim();
  return { page, reference };
}

/** Staff approve: the state change is committed, then the execution job is queued (what the console's approve does). */
async function approve(reference: string) {
  const [row] = await getDb()
    .update(requests)
    .set({ status: "approved", updatedAt: new Date() })
    .where(and(eq(requests.reference, reference), inArray(requests.status, ["verified", "in_review", "approved"])))
    .returning({ id: requests.id });
  expect(row).toBeDefined();
  await enqueue("execute-request", { requestId: row!.id });
  return row!.id;
}

/** A generated (not seeded) demo customer who has orders, so every kind of record is there. */
async function customerWithOrders(n: number) {
  const rows = await demo.shop.sql`select customer_id from orders where customer_id > 5 group by customer_id order by customer_id limit 2`;
  return demo.customers.find((c) => c.id === rows[n]!.customer_id)!;
}

const statusOf = async (id: string) => (await getDb().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;

describe("execution in Chromium", () => {
  it("access: submitted, verified, approved, completed; the customer re-verifies on the status page and downloads exactly their data", async () => {
    const customer = await customerWithOrders(0);
    const context = await browser.newContext({ acceptDownloads: true });
    const { reference } = await submitAndVerify(context, "Access my data", customer.email, "EU");
    const id = await approve(reference);
    await eventually(async () => (await statusOf(id)) === "completed", 90_000, 200);

    const done = await testMailbox().waitFor((m) => m.to.includes(customer.email) && m.subject.includes(`${reference} is complete`), 20_000);
    const page = await context.newPage();
    await page.goto(statusLinkFromMail(done));
    await expect.poll(() => page.getByTestId("status").textContent()).toBe("Completed");
    await page.getByText("Your request is complete.").waitFor();
    await page.getByRole("heading", { name: "Download your data" }).waitFor();

    // Straight to the download without a code: sent back to confirm.
    await page.goto(`${page.url()}/download`);
    await page.getByText("Please confirm it is you with a new code before downloading.").waitFor();

    await page.getByRole("button", { name: "Email me a code" }).click();
    await page.getByText("We emailed you a code.").waitFor();
    const codeMail = await testMailbox().waitFor((m) => m.to.includes(customer.email) && m.text.includes("Download of your data"), 20_000);
    const code = /\b(\d{3}) (\d{3})\b/.exec(codeMail.text)!.slice(1).join("");
    await page.getByLabel("Code from the email").fill(code);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download my data" }).click()]);
    expect(download.suggestedFilename()).toBe(`${reference}-your-data.zip`);
    const path = join(dir, "downloaded.zip");
    await download.saveAs(path);
    const zipBytes = await readFile(path);
    expect(zipBytes.subarray(0, 2).toString("latin1")).toBe("PK"); // a plain zip for the customer (decrypted on the server)

    const files = await unzip(zipBytes);
    expect([...files.keys()]).toEqual(expect.arrayContaining(["index.html", "shop/shop.json", "shop/orders.csv", "marketing/marketing.json", "support/support.json"]));
    const shop = JSON.parse(files.get("shop/shop.json")!.toString()) as { collections: Record<string, Record<string, unknown>[]> };
    const [dbCustomer] = await demo.shop.sql`select id, email from customers where email = ${customer.email}`;
    expect(shop.collections.customers).toEqual([expect.objectContaining({ id: dbCustomer!.id, email: customer.email })]);
    const dbOrders = await demo.shop.sql`select order_number from orders where customer_id = ${customer.id} order by id`;
    expect((shop.collections.orders ?? []).map((o) => o.order_number).sort()).toEqual(dbOrders.map((o) => o.order_number).sort());
    const dbAddresses = await demo.shop.sql`select id from addresses where customer_id = ${customer.id}`;
    expect(shop.collections.addresses).toHaveLength(dbAddresses.length);
    const text = [...files.values()].map((b) => b.toString()).join("\n");
    for (const other of demo.customers) if (other.id !== customer.id) expect(text).not.toContain(other.email);
    expect(text).not.toContain("$argon2id$"); // password hashes are never exported
    expect(files.get("index.html")!.toString()).toContain("Newsletter and marketing");

    const [pkg] = await getDb().select().from(packages).where(eq(packages.requestId, id));
    expect(pkg!.downloadCount).toBe(1);
    expect((await listEvents(getDb(), id)).filter((e) => e.action === "package.downloaded")).toHaveLength(1);
    await context.close();
  }, 180_000);

  it("deletion: completed with the erasure report in the email; rows gone, masked or kept in the stores", async () => {
    const customer = await customerWithOrders(1);
    const context = await browser.newContext();
    const { reference } = await submitAndVerify(context, "Delete my data", customer.email, "UK");
    const id = await approve(reference);
    await eventually(async () => (await statusOf(id)) === "completed", 90_000, 200);

    const mail = await testMailbox().waitFor((m) => m.to.includes(customer.email) && m.subject.includes(`${reference} is complete`), 20_000);
    if (process.env.DEBUG_E2E) console.log(mail.text);
    expect(mail.text).toMatch(/What we did in each of our systems/i);
    expect(mail.text).toMatch(/Online shop\s*: [1-9]\d* records? deleted, [1-9]\d* records? masked, [1-9]\d* records? kept\./);
    expect(mail.text).toContain("Orders are kept for 10 years for tax law (invoices)");
    expect(mail.text).toMatch(/Newsletter and marketing\s*: \d+ records? deleted/);
    expect(mail.text).toMatch(/Customer support desk\s*: \d+ records? deleted/);

    const sql = demo.shop.sql;
    const [row] = await sql`select email, full_name, phone from customers where id = ${customer.id}`;
    expect(row).toMatchObject({ full_name: "Erased customer", phone: null });
    expect(String(row!.email)).toMatch(/^hmac:/);
    expect(await sql`select 1 from addresses where customer_id = ${customer.id}`).toHaveLength(0);
    expect(await sql`select 1 from reviews where customer_id = ${customer.id}`).toHaveLength(0);
    const orders = await sql`select shipping_name from orders where customer_id = ${customer.id}`;
    expect(orders.every((o) => o.shipping_name === "Erased")).toBe(true);
    const [contacts] = await demo.marketing.pool.query("select count(*) as n from contacts where email = ?", [customer.email]);
    expect(Number((contacts as { n: number }[])[0]!.n)).toBe(0);
    expect(demo.support.tickets().filter((t) => t.email === customer.email).every((t) => t.status === "warranty_claim")).toBe(true);

    const page = await context.newPage();
    await page.goto(statusLinkFromMail(mail));
    await expect.poll(() => page.getByTestId("status").textContent()).toBe("Completed");
    expect(await page.getByRole("heading", { name: "Download your data" }).count()).toBe(0);
    await context.close();
  }, 180_000);
});
