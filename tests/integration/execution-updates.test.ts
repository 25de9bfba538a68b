/**
 * Corrections, opt-outs and legal holds through the real worker (BullMQ flow) against the demo's stores in scratch
 * databases: PostgreSQL `shop`, MariaDB `marketing`, HTTP `support`. A correction touches no store before staff
 * confirmed its values, then corrects every store and mails a counts-only summary; an opt-out sets the marked
 * preferences; a kind no store marks becomes tasks; an erasure put under legal hold after approval is refused and
 * resumes once the hold is lifted.
 */
import { and, eq } from "drizzle-orm";
import type { RowDataPacket } from "mysql2/promise";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import { assertCorrectionReady, confirmCorrection, getConfirmedCorrection } from "#app/models/corrections.server.ts";
import { LEGAL_HOLD_ERROR, executeStore, reconcileExecutions, resumeExecution, retryStore } from "#app/models/execution.server.ts";
import { completeManualRun } from "#app/models/stores.server.ts";
import { liftLegalHold, placeLegalHold } from "#app/models/request-actions.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestCorrections, requests, storeRuns, type RequestType } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { eventually, mailsTo } from "#tests/helpers/flow.ts";
import { addStaff } from "./console-fixtures.ts";
import { demoStoresAndWorkerForTests, verifiedRequest } from "./execution-fixtures.ts";

vi.hoisted(() => {
  process.env.PACKAGE_DIR = `${process.env.TMPDIR ?? "/tmp"}/portal-packages-${process.pid}-${Math.random().toString(36).slice(2)}`;
  process.env.EXECUTION_ATTEMPTS = "2";
});

const db = () => getDb();
const demo = demoStoresAndWorkerForTests();
let processor: { id: string; role: "processor" };
let admin: { id: string; role: "admin" };

beforeAll(async () => {
  processor = { id: (await addStaff(db(), "processor")).id, role: "processor" };
  admin = { id: (await addStaff(db(), "admin")).id, role: "admin" };
});

const approvedRequest = (type: RequestType, email: string, details?: { corrections: { incorrect: string; correct: string } }) =>
  verifiedRequest(db(), { type, email, region: type === "opt_out" || type === "limit_sensitive" ? "US-CA" : "EU", ...(details ? { details } : {}) });

const statusOf = async (id: string) => (await db().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;
const waitForStatus = (id: string, status: string, timeoutMs = 60_000) => eventually(async () => (await statusOf(id)) === status, timeoutMs, 100);
const runsOf = (id: string) => db().select().from(storeRuns).where(eq(storeRuns.requestId, id));
const mkt = async (sql: string, params: unknown[]) => (await demo.marketing.pool.query<RowDataPacket[]>(sql, params))[0];

describe("correction", () => {
  it("touches no store before staff confirm the values; then corrects every store and mails a summary without values", async () => {
    const grace = demo.customers[1]!;
    const others = await demo.shop.sql`select id, email, full_name from customers where id <> ${grace.id} order by id`;
    const { id, reference } = await approvedRequest("correction", grace.email, { corrections: { incorrect: "My surname", correct: "Murray Hopper" } });

    // The approve action refuses before confirmation (model check), and an execution started anyway stops at once.
    await expect(assertCorrectionReady(db(), { id, type: "correction" })).rejects.toMatchObject({ code: "correction_not_confirmed", status: 409 });
    await enqueue("execute-request", { requestId: id });
    await waitForStatus(id, "action_required");
    expect(await runsOf(id)).toEqual([]);
    expect((await listEvents(db(), id)).find((e) => e.action === "request.action_required")?.details).toEqual({ code: "correction_not_confirmed" });
    expect((await demo.shop.sql`select full_name from customers where id = ${grace.id}`)[0]!.full_name).toBe(`${grace.firstName} ${grace.lastName}`);

    // Bad input is refused with a clear message and stores nothing.
    await expect(confirmCorrection(db(), { requestId: id, actor: processor, values: { phone: "not a number" } })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(confirmCorrection(db(), { requestId: id, actor: processor, values: {} })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(confirmCorrection(db(), { requestId: id, actor: { id: processor.id, role: "auditor" }, values: { name: "X" } })).rejects.toMatchObject({ status: 403 });
    expect(await getConfirmedCorrection(db(), id)).toBeUndefined();

    const values = { name: "Grace Murray Hopper", given_name: "Grace", family_name: "Murray Hopper", email: "Grace.MurrayHopper@Navy.example" };
    expect(await confirmCorrection(db(), { requestId: id, actor: processor, values })).toEqual({ attributes: ["name", "given_name", "family_name", "email"], resumed: true });
    await assertCorrectionReady(db(), { id, type: "correction" });
    // Stored encrypted: the ciphertext holds no value.
    const [stored] = await db().select().from(requestCorrections).where(eq(requestCorrections.requestId, id));
    expect(stored!.valuesCiphertext).not.toMatch(/Murray|Navy/i);
    await waitForStatus(id, "completed");

    const [customer] = await demo.shop.sql`select email, full_name from customers where id = ${grace.id}`;
    expect(customer).toEqual({ email: "grace.murrayhopper@navy.example", full_name: "Grace Murray Hopper" });
    expect((await demo.shop.sql`select count(*)::int as n from newsletter_consents where email = 'grace.murrayhopper@navy.example'`)[0]!.n).toBe(1);
    // Orders keep the name they were shipped to (the shop's map marks no attribute there).
    expect((await demo.shop.sql`select distinct shipping_name from orders where customer_id = ${grace.id}`).map((r) => r.shipping_name)).toEqual([`${grace.firstName} ${grace.lastName}`]);
    expect(await demo.shop.sql`select id, email, full_name from customers where id <> ${grace.id} order by id`).toEqual(others);
    expect(await mkt("select email, first_name, last_name from contacts where id = ?", [grace.id])).toEqual([
      { email: "grace.murrayhopper@navy.example", first_name: "Grace", last_name: "Murray Hopper" },
    ]);
    expect(demo.support.tickets().filter((t) => t.email === "grace.murrayhopper@navy.example").map((t) => t.name)).toEqual(["Grace Murray Hopper", "Grace Murray Hopper"]);

    const runs = await runsOf(id);
    expect(runs.map((r) => [r.action, r.status])).toEqual([
      ["correction", "completed"],
      ["correction", "completed"],
      ["correction", "completed"],
    ]);
    const byStore = Object.fromEntries(runs.map((r) => [r.storeId, r.report as Record<string, unknown>]));
    expect(byStore[demo.storeIds.shop]).toMatchObject({ targets: ["name", "email"], collections: { customers: { matched: 1, applied: 1 }, newsletter_consents: { matched: 1, applied: 1 } } });
    expect(byStore[demo.storeIds.marketing]).toMatchObject({ targets: ["given_name", "family_name", "email"], totals: { matched: 1, applied: 1, shared: 0 } });
    expect(byStore[demo.storeIds.support]).toMatchObject({ targets: ["name", "email"], totals: { applied: 2 } });
    // Once stores ran, the values cannot be changed any more.
    await expect(confirmCorrection(db(), { requestId: id, actor: processor, values: { name: "Someone Else" } })).rejects.toMatchObject({ code: "illegal_transition" });
    // Running a store again returns the recorded report without touching it.
    expect(await executeStore(db(), { requestId: id, storeId: demo.storeIds.shop })).toMatchObject({ status: "skipped" });

    const trail = JSON.stringify(await listEvents(db(), id));
    expect(trail).not.toMatch(/Murray|navy\.example/i);
    expect(JSON.stringify(runs)).not.toMatch(/Murray|navy\.example/i);
    const confirmed = (await listEvents(db(), id)).find((e) => e.action === "request.correction_confirmed")!;
    expect(confirmed).toMatchObject({ actorType: "staff", actorId: processor.id, details: { attributes: ["name", "given_name", "family_name", "email"] } });

    await eventually(async () => (await listEvents(db(), id)).some((e) => e.action === "request.completion_sent"));
    const mail = mailsTo(grace.email).find((m) => m.subject.includes(reference))!;
    expect(mail.text).toContain("We have corrected your details");
    expect(mail.text).toMatch(/Online shop: 2 records corrected \(name, email address\)/);
    expect(mail.text).toMatch(/Newsletter and marketing: 1 record corrected \(first name, last name, email address\)/);
    expect(mail.text).toMatch(/Customer support desk: 2 records corrected \(name, email address\)/);
    expect(mail.text).not.toMatch(/Murray|navy\.example/i);
  }, 120_000);
});

describe("opt-out", () => {
  it("sets the marked preferences of the subject in every store; a kind no store marks becomes tasks for staff", async () => {
    const alan = demo.customers[2]!;
    const { id, reference } = await approvedRequest("opt_out", alan.email);
    await enqueue("execute-request", { requestId: id });
    await waitForStatus(id, "completed");

    const [customer] = await demo.shop.sql`select sale_opt_out, marketing_opt_in from customers where id = ${alan.id}`;
    expect(customer).toEqual({ sale_opt_out: true, marketing_opt_in: false });
    const consents = await demo.shop.sql`select withdrawn_at from newsletter_consents where lower(email) = ${alan.email.toLowerCase()}`;
    expect(consents.every((r) => r.withdrawn_at instanceof Date)).toBe(true);
    expect((await demo.shop.sql`select count(*)::int as n from customers where sale_opt_out`)[0]!.n).toBe(1);
    const prefs = await mkt("select newsletter, product_updates, sms, share_with_ad_partners from preferences where contact_id = ?", [alan.id]);
    if (prefs.length > 0) expect(prefs).toEqual([{ newsletter: 0, product_updates: 0, sms: 0, share_with_ad_partners: 0 }]);
    expect(Number((await mkt("select count(*) as n from preferences where share_with_ad_partners = 0", []))[0]!.n)).toBe(prefs.length);
    expect(demo.support.tickets().filter((t) => t.email === alan.email).every((t) => !t.survey_opt_in)).toBe(true);

    const runs = await runsOf(id);
    expect(runs.every((r) => r.action === "opt_out" && r.status === "completed")).toBe(true);
    expect(runs.find((r) => r.storeId === demo.storeIds.shop)!.report).toMatchObject({ targets: ["sale_sharing", "marketing_consent"], collections: { customers: { applied: 1 } } });
    await eventually(async () => (await listEvents(db(), id)).some((e) => e.action === "request.completion_sent"));
    const mail = mailsTo(alan.email).find((m) => m.subject.includes(reference))!;
    expect(mail.text).toContain("We have recorded your choice");
    expect(mail.text).toMatch(/Online shop.*sale or sharing of your data, marketing consent withdrawn/s);

    // "Limit the use of my sensitive data": no demo store marks such a field, so each gets a task.
    const katherine = demo.customers[3]!;
    const limit = await approvedRequest("limit_sensitive", katherine.email);
    await enqueue("execute-request", { requestId: limit.id });
    await waitForStatus(limit.id, "action_required");
    const tasks = await runsOf(limit.id);
    expect(tasks.map((r) => r.status)).toEqual(["waiting", "waiting", "waiting"]);
    expect((tasks[0]!.task as { instructions: string }).instructions).toContain("limit on the use of sensitive data");
    expect((await listEvents(db(), limit.id)).find((e) => e.action === "request.action_required")?.details).toMatchObject({ code: "manual_task" });
    // Staff do it by hand (one records a count, the others none); the request then completes and says so.
    await completeManualRun(db(), { runId: tasks.find((r) => r.storeId === demo.storeIds.shop)!.id, staffId: processor.id, report: { manual: true, applied: 1 } });
    for (const r of tasks.filter((t) => t.storeId !== demo.storeIds.shop)) await completeManualRun(db(), { runId: r.id, staffId: processor.id, report: { manual: true } });
    expect(await resumeExecution(db(), limit.id)).toBe("resumed");
    await waitForStatus(limit.id, "completed");
    await eventually(async () => (await listEvents(db(), limit.id)).some((e) => e.action === "request.completion_sent"));
    const limitMail = mailsTo(katherine.email).find((m) => m.subject.includes(limit.reference))!;
    expect(limitMail.text).toContain("Online shop: 1 record updated, by a member of our team.");
    expect(limitMail.text).toContain("Customer support desk: handled by a member of our team.");
  }, 120_000);
});

describe("legal hold", () => {
  it("an erasure placed under legal hold after approval is refused in every store (staff see why) and resumes when the hold is lifted", async () => {
    const dorothy = demo.customers[4]!;
    const { id } = await approvedRequest("deletion", dorothy.email);
    await placeLegalHold(db(), { requestId: id, actor: processor, reason: "Litigation hold: case 2026-17" });
    await enqueue("execute-request", { requestId: id });
    await waitForStatus(id, "action_required");

    const runs = await runsOf(id);
    expect(runs.map((r) => [r.status, r.error])).toEqual([
      ["failed", LEGAL_HOLD_ERROR],
      ["failed", LEGAL_HOLD_ERROR],
      ["failed", LEGAL_HOLD_ERROR],
    ]);
    expect((await demo.shop.sql`select count(*)::int as n from customers where id = ${dorothy.id}`)[0]!.n).toBe(1);
    expect(demo.support.tickets().filter((t) => t.email === dorothy.email)).toHaveLength(2);
    const events = await listEvents(db(), id);
    expect(events.filter((e) => e.action === "store.erasure_refused")).toHaveLength(3);
    expect(events.find((e) => e.action === "request.action_required")?.details).toMatchObject({ code: "store_failed", errors: ["legal_hold", "legal_hold", "legal_hold"] });
    await expect(retryStore(db(), id, demo.storeIds.shop, { staffId: admin.id })).rejects.toMatchObject({ code: "legal_hold" });
    // While the hold lasts, reconciling does not resume it.
    expect(await reconcileExecutions(db())).toMatchObject({ resumedAfterHold: 0 });

    // Lifting the hold resumes the refused stores at once (one round); reconciling afterwards finds nothing left.
    await liftLegalHold(db(), { requestId: id, actor: admin });
    expect(await reconcileExecutions(db())).toMatchObject({ resumedAfterHold: 0 });
    await waitForStatus(id, "completed");
    // Her kept orders keep the customer row: masked, and it stays opted out of sale and sharing.
    expect(await demo.shop.sql`select full_name, phone, sale_opt_out from customers where id = ${dorothy.id}`).toEqual([{ full_name: "Erased customer", phone: null, sale_opt_out: true }]);
    expect(demo.support.tickets().filter((t) => t.email === dorothy.email)).toHaveLength(1); // the warranty claim is kept
    const after = await db().select().from(storeRuns).where(and(eq(storeRuns.requestId, id), eq(storeRuns.action, "erasure")));
    expect(after.every((r) => r.status === "completed" && r.error === null)).toBe(true);
  }, 120_000);
});
