/**
 * Data-point matching against the demo stores: the supplied phone, postal code, order number and account id are
 * looked for among the records the verified email reaches; the kinds that match are recorded and raise the
 * verification level (1 + matches). Someone else's data points match nothing. Values are never stored or logged.
 * The job is queued when the email is verified. A request that matching lifts to its required level is approved at
 * once where the approval policy says automatic (and only there), once.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setApprovalPolicy } from "#app/models/approval-policy.server.ts";
import { listEvents } from "#app/models/audit.server.ts";
import { matchDataPoints, normalizeDataPoint } from "#app/models/matching.server.ts";
import { getRequestById, submitRequest } from "#app/models/requests.server.ts";
import { subjectForRequest } from "#app/models/stores.server.ts";
import { verifyCode } from "#app/models/verification.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestEvents, requests } from "#db/schema/index.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { codeFromMail, eventually, verificationMailFor } from "#tests/helpers/flow.ts";
import { stopWorkerAndConnections } from "#tests/helpers/worker.ts";
import { addStaff } from "./console-fixtures.ts";
import { createDemoStores, verifiedRequest as verifiedRequestIn, type DemoStores } from "./execution-fixtures.ts";

const db = () => getDb();
let demo: DemoStores;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  demo = await createDemoStores(db(), 20);
}, 60_000);
afterAll(async () => {
  await stopWorkerAndConnections(worker);
  await demo?.close();
});

async function verifiedRequest(email: string, dataPoints: Record<string, string>, { type = "access", region = "UK" }: { type?: "access" | "deletion"; region?: string } = {}) {
  return (await verifiedRequestIn(db(), { type, email, region, dataPoints }, "verified")).id;
}

describe("data-point matching", () => {
  it("normalizes what people type", () => {
    expect(normalizeDataPoint("postalCode", " w1j 7nt ")).toBe("W1J7NT");
    expect(normalizeDataPoint("orderNumber", "#so-1001")).toBe("SO-1001");
    expect(normalizeDataPoint("phone", "020 7946 0018", { normalization: { defaultCallingCode: "+44" } })).toBe("+442079460018");
    expect(normalizeDataPoint("phone", "12", {} as Parameters<typeof normalizeDataPoint>[2])).toBeUndefined();
  });

  it("records every kind that matches the email's own records and raises the level to 1 + matches; values stay out of the trail", async () => {
    const ada = demo.customers[0]!;
    const [order] = await demo.shop.sql`select order_number from orders where customer_id = ${ada.id} order by id limit 1`;
    const national = `0${ada.phone.slice(3, 6)} ${ada.phone.slice(6)}`;
    const id = await verifiedRequest(ada.email, { phone: national, postalCode: ada.postcode.toLowerCase().replace(" ", ""), orderNumber: `#${String(order!.order_number).toLowerCase()}`, accountId: ` ${ada.accountNumber} ` });
    const result = await matchDataPoints(db(), id);
    expect(result).toMatchObject({ status: "matched", matched: ["phone", "postalCode", "orderNumber", "accountId"], level: 5 });
    const row = (await getRequestById(db(), id))!;
    expect(row.matchedDataPoints).toEqual(["phone", "postalCode", "orderNumber", "accountId"]);
    expect(row.verificationLevel).toBe(5);
    // The stores may now be searched by the matched phone and account id too.
    expect(subjectForRequest(row)).toMatchObject({ email: ada.email, phone: national, accountId: ` ${ada.accountNumber} ` });
    const events = await db().select().from(requestEvents).where(eq(requestEvents.requestId, id));
    const matched = events.find((e) => e.action === "verification.data_points_matched")!;
    expect(matched.details).toMatchObject({ supplied: ["phone", "postalCode", "orderNumber", "accountId"], matched: ["phone", "postalCode", "orderNumber", "accountId"], level: 5 });
    const trail = JSON.stringify(events);
    for (const value of [ada.accountNumber, String(order!.order_number), ada.phone.slice(3), ada.postcode]) expect(trail).not.toContain(value);
    // Again: nothing changes.
    expect(await matchDataPoints(db(), id)).toMatchObject({ matched: ["phone", "postalCode", "orderNumber", "accountId"], level: 5 });
  });

  it("someone else's data points match nothing; a partial match counts only what matched", async () => {
    const ada = demo.customers[0]!;
    const grace = demo.customers[1]!;
    const [graceOrder] = await demo.shop.sql`select order_number from orders where customer_id = ${grace.id} limit 1`;
    const id = await verifiedRequest(ada.email, { phone: grace.phone, orderNumber: String(graceOrder!.order_number), postalCode: ada.postcode });
    expect(await matchDataPoints(db(), id)).toMatchObject({ matched: ["postalCode"], level: 2 });
    const row = (await getRequestById(db(), id))!;
    expect(row.matchedDataPoints).toEqual(["postalCode"]);
    expect(subjectForRequest(row).phone).toBeUndefined();

    const stranger = await verifiedRequest("nobody@example.com", { phone: ada.phone, accountId: ada.accountNumber });
    expect(await matchDataPoints(db(), stranger)).toMatchObject({ matched: [], level: 1 });
  });

  it("approves a request that matching lifted to its level where the policy is automatic — once; leaves it for staff where it is review", async () => {
    const admin = await addStaff(db(), "admin", "matching-policy");
    const lin = demo.customers[7]!;
    const ids: string[] = [];
    try {
      // CCPA deletion: level 2 (email + one matching data point). Default policy: review.
      const reviewed = await verifiedRequest(lin.email, { postalCode: lin.postcode }, { type: "deletion", region: "US-CA" });
      ids.push(reviewed);
      expect(await matchDataPoints(db(), reviewed)).toMatchObject({ status: "matched", level: 2, approval: "review" });
      expect((await getRequestById(db(), reviewed))!.status).toBe("verified");

      await setApprovalPolicy(db(), admin, [{ regime: "ccpa", type: "deletion", mode: "automatic" }]);
      // Below the level (someone else's postcode): verified, not approved, even though automatic.
      const below = await verifiedRequest(lin.email, { postalCode: "ZZ9 9ZZ" }, { type: "deletion", region: "US-CA" });
      ids.push(below);
      expect(await matchDataPoints(db(), below)).toMatchObject({ matched: [], level: 1, approval: "not_ready" });
      expect((await getRequestById(db(), below))!.status).toBe("verified");

      const automatic = await verifiedRequest(lin.email, { postalCode: lin.postcode }, { type: "deletion", region: "US-CA" });
      ids.push(automatic);
      expect(await matchDataPoints(db(), automatic)).toMatchObject({ status: "matched", level: 2, approval: "approved" });
      expect((await getRequestById(db(), automatic))!.status).toBe("approved");
      // Again (BullMQ is at least once): no second approval.
      expect(await matchDataPoints(db(), automatic)).toMatchObject({ level: 2, approval: "not_ready" });
      const approvals = (await listEvents(db(), automatic)).filter((e) => e.action === "request.approved");
      expect(approvals).toHaveLength(1);
      expect(approvals[0]).toMatchObject({ actorType: "system", actorId: "approval-policy", details: { policy: "automatic", level: 2 } });
    } finally {
      await setApprovalPolicy(db(), admin, [{ regime: "ccpa", type: "deletion", mode: "review" }]);
      // No store of the shared demo data is erased by a later worker picking up the queued execution.
      for (const id of ids) await db().update(requests).set({ status: "closed" }).where(eq(requests.id, id));
    }
  });

  it("runs by itself after the email is verified", async () => {
    worker = await startWorker({ concurrency: 2, schedules: false });
    const alan = demo.customers[2]!;
    const { reference, requestId } = await submitRequest(db(), { type: "access", email: alan.email, region: "UK", dataPoints: { accountId: alan.accountNumber } });
    const code = codeFromMail(await verificationMailFor(alan.email));
    expect((await verifyCode(db(), reference, code)).ok).toBe(true);
    await eventually(async () => (await getRequestById(db(), requestId))?.matchedDataPoints.includes("accountId"), 20_000);
    expect((await getRequestById(db(), requestId))!.verificationLevel).toBe(2);
    expect((await listEvents(db(), requestId)).map((e) => e.action)).toContain("verification.data_points_matched");
  });
});
