/**
 * Intake of every request type through the models: what is stored (encrypted details, kinds of data points, the
 * verification the law asks for, calendar fields), requests that need no verification, the status token and cancel.
 */
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import { decryptDetails, decryptIdentity, getRequestByReference, listSubjectHistory, submitInputFrom, submitRequest } from "#app/models/requests.server.ts";
import { cancelRequest, getRequestByStatusToken } from "#app/models/status.server.ts";
import { verifyCode } from "#app/models/verification.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { requests } from "#db/schema/index.ts";
import { acknowledgementMailFor, codeFromMail, statusLinkFromMail, uniqueEmail, verificationMailFor } from "#tests/helpers/flow.ts";
import { workerForTests } from "#tests/helpers/worker.ts";

workerForTests();

const now = new Date("2026-03-05T10:00:00Z");

describe("intake of every type", () => {
  it.each([
    ["access", "US-CA", { accessScope: "categories" }, 2],
    ["access", "US-CA", { accessScope: "specific", declarationName: "Casey Consumer", declarationAccepted: "on" }, 3],
    ["access", "EU", {}, 1],
    ["portability", "US-CA", {}, 3],
    ["deletion", "US-CA", {}, 2],
    ["deletion", "UK", {}, 1],
    ["correction", "EU", { incorrect: "Smiht", correct: "Smith" }, 1],
    ["objection", "EU", { reason: "No profiling" }, 1],
    ["restriction", "UK", { reason: "Disputed accuracy" }, 1],
    ["opt_out", "US-CA", {}, 0],
    ["limit_sensitive", "US-CA", {}, 0],
    ["opt_out", "US-VA", {}, 0],
  ] as const)("%s in %s requires verification level %i", async (type, region, extra, level) => {
    const email = uniqueEmail(type);
    const input = submitInputFrom(type, { email, region, phone: "+1 415 555 0100", ...extra } as never, now);
    const { reference, verificationRequired } = await submitRequest(getDb(), input, () => now);
    const row = (await getRequestByReference(getDb(), reference))!;
    expect(row.requiredVerificationLevel).toBe(level);
    expect(verificationRequired).toBe(level > 0);
    // Requests that need no verification (opt-outs, limits) are approved at once by the default approval policy.
    // (This file runs a worker, which may already have picked the approved request up for execution.)
    if (level > 0) expect(row.status).toBe("pending_verification");
    else expect(["approved", "processing", "action_required", "completed"]).toContain(row.status);
    expect(row.suppliedDataPoints).toEqual(["phone"]);
    expect(decryptIdentity(row).dataPoints).toEqual({ phone: "+1 415 555 0100" });
    expect(row.dueAt.getTime()).toBeGreaterThan(now.getTime());
    if (region === "US-CA" && type !== "opt_out" && type !== "limit_sensitive") expect(row.acknowledgeBy).not.toBeNull();
    const details = decryptDetails(row);
    if ("incorrect" in extra) expect(details.corrections).toEqual({ incorrect: "Smiht", correct: "Smith" });
    if ("reason" in extra) expect(details.reason).toBe(extra.reason);
    if ("declarationName" in extra) expect(details.declaration?.typedName).toBe("Casey Consumer");
    expect(row.accessScope).toBe(type === "access" && "accessScope" in extra ? extra.accessScope : null);
  });

  it("keeps details encrypted at rest", async () => {
    const email = uniqueEmail("secret");
    const { reference } = await submitRequest(getDb(), submitInputFrom("correction", { email, region: "EU", incorrect: "Wrong-Street 12", correct: "Right-Street 34" } as never, now));
    const raw = postgres(getEnv().DATABASE_URL, { max: 1 });
    const [row] = await raw`select row_to_json(r)::text as json from requests r where reference = ${reference}`;
    await raw.end();
    expect(String(row?.json)).not.toContain("Right-Street");
    expect(String(row?.json)).not.toContain(email);
  });

  it("records GPC with an opt-out and acknowledges it without verification, with a working status link", async () => {
    const db = getDb();
    const email = uniqueEmail("gpc");
    const { reference, requestId } = await submitRequest(db, submitInputFrom("opt_out", { email, region: "US-CA" } as never, now, true));
    const row = (await getRequestByReference(db, reference))!;
    expect(row.gpc).toBe(true);
    const ack = await acknowledgementMailFor(email, reference);
    const token = statusLinkFromMail(ack).split("/status/")[1]!;
    expect((await getRequestByStatusToken(db, token))?.id).toBe(requestId);
    const stored = (await getRequestByReference(db, reference))!.statusTokenHash;
    expect(stored).toMatch(/^[0-9a-f]{64}$/); // only the hash is kept
    expect(stored).not.toBe(token);
    const submitted = (await listEvents(db, requestId)).find((e) => e.action === "request.submitted");
    expect(submitted?.details).toMatchObject({ gpc: true, requiredLevel: 0 });
  });

  it("cancels only before processing, and status links die 30 days after close", async () => {
    const db = getDb();
    const email = uniqueEmail("cancel");
    const { reference, requestId } = await submitRequest(db, submitInputFrom("deletion", { email, region: "EU" } as never, now));
    const code = codeFromMail(await verificationMailFor(email));
    expect((await verifyCode(db, reference, code)).ok).toBe(true);
    const token = statusLinkFromMail(await acknowledgementMailFor(email, reference)).split("/status/")[1]!;

    await db.update(requests).set({ status: "processing" }).where(eq(requests.id, requestId));
    await expect(cancelRequest(db, token)).rejects.toMatchObject({ code: "not_cancellable" });
    await db.update(requests).set({ status: "in_review" }).where(eq(requests.id, requestId));
    await cancelRequest(db, token);
    const row = (await getRequestByReference(db, reference))!;
    expect(row.status).toBe("cancelled");
    expect((await listEvents(db, requestId)).map((e) => e.action)).toContain("request.cancelled");

    const in31Days = () => new Date(row.updatedAt.getTime() + 31 * 86_400_000);
    expect(await getRequestByStatusToken(db, token, in31Days)).toBeUndefined();
    expect(await getRequestByStatusToken(db, "x".repeat(43))).toBeUndefined();
    expect(await getRequestByStatusToken(db, "short")).toBeUndefined();
  });

  it("shows staff the subject's earlier requests through the blind index", async () => {
    const db = getDb();
    const email = uniqueEmail("repeat");
    const first = await submitRequest(db, submitInputFrom("access", { email, region: "EU" } as never, now));
    const second = await submitRequest(db, submitInputFrom("access", { email: email.toUpperCase(), region: "EU" } as never, now));
    await submitRequest(db, submitInputFrom("access", { email: uniqueEmail("other"), region: "EU" } as never, now));
    const row = (await getRequestByReference(db, second.reference))!;
    const history = await listSubjectHistory(db, row);
    expect(history.map((h) => h.reference).sort()).toEqual([first.reference, second.reference].sort());
  });
});
