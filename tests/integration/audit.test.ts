import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { getDb, getSql } from "#db/client.server.ts";
import { requestEvents, requests } from "#db/schema/index.ts";
import {
  AuditDetailsError,
  GENESIS_HASH,
  InvalidAuditEventError,
  appendEvent,
  canonicalJson,
  canonicalTextAroundPrevHash,
  computeEventHash,
  listEvents,
  verifyAuditChain,
} from "#app/models/audit.server.ts";

const db = () => getDb();
const sql = () => getSql();

/** Empties the trail around the trigger (the test database is ours; the connection is a superuser). */
async function resetTrail() {
  await sql().begin(async (tx) => {
    await tx`alter table request_events disable trigger user`;
    await tx`delete from request_events`;
    await tx`alter table request_events enable trigger user`;
  });
}

/** Runs `statement` with the append-only triggers disabled, as an attacker with superuser rights would. */
async function aroundTheTrigger(statement: (tx: ReturnType<typeof getSql>) => Promise<unknown>) {
  await sql().begin(async (tx) => {
    await tx`alter table request_events disable trigger user`;
    await statement(tx as unknown as ReturnType<typeof getSql>);
    await tx`alter table request_events enable trigger user`;
  });
}

async function createRequestRow() {
  const id = randomUUID();
  const now = new Date();
  await db()
    .insert(requests)
    .values({
      id,
      reference: `PR-${id.slice(0, 4).toUpperCase()}-${id.slice(4, 8).toUpperCase()}`,
      type: "access",
      regime: "gdpr",
      jurisdiction: "DE",
      identityCiphertext: "v1.test.x.y.z",
      emailIndex: "0".repeat(64),
      receivedAt: now,
      dueAt: new Date(now.getTime() + 30 * 86_400_000),
    });
  return id;
}

async function appendMany(n: number, requestId?: string) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push(await appendEvent(db(), { requestId, actorType: "system", action: "test.event", details: { n: i, nested: { z: [i, "code"], a: true } } }));
  }
  return rows;
}

beforeEach(resetTrail);

describe("appendEvent", () => {
  it("links the first row to the genesis hash and every later row to its predecessor", async () => {
    const requestId = await createRequestRow();
    const first = await appendEvent(db(), { requestId, actorType: "subject", action: "request.submitted", details: { type: "access" } });
    const second = await appendEvent(db(), { requestId, actorType: "staff", actorId: randomUUID(), action: "request.approved" });
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(second.prevHash).toBe(first.hash);
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(computeEventHash(first)).toBe(first.hash);
    expect(second.details).toEqual({});
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 2 });
  });

  it("takes created_at from the injected clock, to the millisecond", async () => {
    const at = new Date("2025-03-30T01:59:59.987Z");
    const row = await appendEvent(db(), { actorType: "system", action: "clock.tested" }, () => at);
    expect(row.createdAt.toISOString()).toBe(at.toISOString());
    const [stored] = await db().select().from(requestEvents);
    expect(stored!.createdAt.toISOString()).toBe("2025-03-30T01:59:59.987Z");
    expect(computeEventHash(stored!)).toBe(stored!.hash);
  });

  it("hashes what it stores: key order, undefined values and upper-case uuids do not break verification", async () => {
    const requestId = await createRequestRow();
    await appendEvent(db(), {
      requestId: requestId.toUpperCase(),
      actorType: "system",
      action: "store.erasure_completed",
      details: { z: 1, a: { y: [3, 2.5, 1e21, 1e-7, -0], b: null, skipped: undefined }, "ключ": "значение", m: "日本" },
    });
    const [stored] = await listEvents(db(), requestId);
    expect(stored!.requestId).toBe(requestId);
    expect(stored!.details).toEqual({ z: 1, a: { y: [3, 2.5, 1e21, 1e-7, 0], b: null }, "ключ": "значение", m: "日本" });
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 1 });
  });

  it("joins the caller's transaction: a rollback takes the event with it and the chain stays valid", async () => {
    await appendMany(2);
    await expect(
      db().transaction(async (tx) => {
        await appendEvent(tx, { actorType: "system", action: "test.rolled_back" });
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");
    const after = await appendEvent(db(), { actorType: "system", action: "test.after_rollback" });
    const rows = await db().select().from(requestEvents).orderBy(asc(requestEvents.id));
    expect(rows.map((r) => r.action)).toEqual(["test.event", "test.event", "test.after_rollback"]);
    // The rolled-back insert used up an id: a gap, yet the chain is intact.
    expect(after.id).toBe(rows[1]!.id + 2);
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 3 });
  });

  it("refuses to run in a REPEATABLE READ transaction (a stale snapshot could fork the chain)", async () => {
    await expect(
      db().transaction((tx) => appendEvent(tx, { actorType: "system", action: "test.event" }), { isolationLevel: "repeatable read" }),
    ).rejects.toBeInstanceOf(InvalidAuditEventError);
  });

  it("keeps one valid chain under 50 concurrent appends", async () => {
    const rows = await Promise.all(
      Array.from({ length: 50 }, (_, i) => appendEvent(db(), { actorType: "system", action: "test.concurrent", details: { i } })),
    );
    expect(new Set(rows.map((r) => r.prevHash)).size).toBe(50); // no two rows share a predecessor: no fork
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 50 });
    const ordered = [...rows].sort((a, b) => a.id - b.id);
    expect(ordered[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < ordered.length; i++) expect(ordered[i]!.prevHash).toBe(ordered[i - 1]!.hash);
  });

  it("reads the head after the lock is granted: an append that waited links to the event of the transaction it waited for", async () => {
    await appendMany(1);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let appended!: () => void;
    const holderAppended = new Promise<void>((resolve) => (appended = resolve));
    const holder = db().transaction(async (tx) => {
      const event = await appendEvent(tx, { actorType: "system", action: "test.holder" });
      appended();
      await released; // the chain lock stays held until this transaction commits
      return event;
    });
    await holderAppended;
    let waiterDone = false;
    const waiter = appendEvent(db(), { actorType: "system", action: "test.waiter" }).then((event) => {
      waiterDone = true;
      return event;
    });
    // The waiter's statement (and its first snapshot) started before the holder committed.
    for (let i = 0; i < 100; i++) {
      const [w] = await sql()`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`;
      if (w!.n > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const [waiting] = await sql()`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`;
    expect(waiting!.n).toBe(1);
    expect(waiterDone).toBe(false);
    release();
    const [held, waited] = await Promise.all([holder, waiter]);
    expect(waited.prevHash).toBe(held.hash);
    expect(waited.id).toBeGreaterThan(held.id);
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 3 });
  });

  it("lets the database hash the application's canonical text, whatever the details' strings contain", async () => {
    const details = { prevHash: '\\u0000", "prevHash":"', q: '"}', "\"prevHash\":\"": "\\", n: [1e21, -1.5e-9] };
    const content = { requestId: null, actorType: "system" as const, actorId: "job:x", action: "test.tricky", details, createdAt: new Date() };
    for (const prevHash of [GENESIS_HASH, "f".repeat(64)]) {
      const { head, tail } = canonicalTextAroundPrevHash(content);
      expect(head + prevHash + tail).toBe(canonicalJson({ ...content, createdAt: content.createdAt.toISOString(), prevHash }));
    }
    await appendMany(2);
    const row = await appendEvent(db(), { actorType: "system", actorId: "job:x", action: "test.tricky", details });
    const [stored] = await db().select().from(requestEvents).where(eq(requestEvents.id, row.id));
    expect(stored!.hash).toBe(row.hash);
    expect(computeEventHash(stored!)).toBe(stored!.hash);
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 3 });
  });

  it("refuses malformed actions", async () => {
    for (const action of ["submitted", "Request.Submitted", "request..x", "request.submitted.", "request submitted", ""]) {
      await expect(appendEvent(db(), { actorType: "system", action })).rejects.toBeInstanceOf(InvalidAuditEventError);
    }
    await expect(appendEvent(db(), { actorType: "system", action: "a.b", requestId: "not-a-uuid" })).rejects.toBeInstanceOf(
      InvalidAuditEventError,
    );
    // Actors are the schema's enum (subject, agent, staff, system); anything else is refused before the database.
    await expect(appendEvent(db(), { actorType: "robot" as never, action: "a.b" })).rejects.toBeInstanceOf(InvalidAuditEventError);
    expect(await appendEvent(db(), { actorType: "agent", action: "request.submitted" })).toMatchObject({ actorType: "agent", actorId: null });
  });
});

describe("personal-data guard", () => {
  it("refuses an email anywhere in details, without echoing it", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ note: "customer jane.doe@example.com asked" }, "details.note"],
      [{ a: { b: ["ok", "Jane.Doe+tag@Mail.Example.CO.UK"] } }, "details.a.b[1]"],
      [{ "x@example.org": 1 }, "details (a key)"],
    ];
    for (const [details, path] of cases) {
      const error = await appendEvent(db(), { actorType: "staff", action: "request.noted", details }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditDetailsError);
      expect((error as AuditDetailsError).problem).toBe("email");
      expect((error as AuditDetailsError).path).toBe(path);
      expect((error as Error).message).not.toMatch(/example/i);
    }
    await expect(appendEvent(db(), { actorType: "staff", actorId: "jane@example.com", action: "request.noted" })).rejects.toMatchObject({
      problem: "email",
      path: "actorId",
    });
    expect(await db().select().from(requestEvents)).toHaveLength(0);
  });

  it("refuses long strings and non-JSON values, accepts ids, counts and codes", async () => {
    await expect(appendEvent(db(), { actorType: "system", action: "a.b", details: { reason: "x".repeat(201) } })).rejects.toMatchObject({
      problem: "too_long",
      path: "details.reason",
    });
    for (const bad of [{ d: new Date() }, { n: Number.NaN }, { f: () => 1 }, { big: 1n }, { s: "nul\u0000" }]) {
      await expect(appendEvent(db(), { actorType: "system", action: "a.b", details: bad })).rejects.toMatchObject({ problem: "not_json" });
    }
    const ok = await appendEvent(db(), {
      actorType: "system",
      action: "store.access_completed",
      details: { storeId: randomUUID(), records: 42, reason: "x".repeat(200), code: "identity_unverified", at: "2025-01-01" },
    });
    expect(ok.details).toMatchObject({ records: 42, code: "identity_unverified" });
  });
});

describe("append-only trigger", () => {
  it("refuses UPDATE, DELETE and TRUNCATE even for a superuser", async () => {
    const [row] = await appendMany(1);
    await expect(sql()`update request_events set details = '{"n": 99}' where id = ${row!.id}`).rejects.toThrow(/append-only \(UPDATE refused\)/);
    await expect(sql()`delete from request_events where id = ${row!.id}`).rejects.toThrow(/append-only \(DELETE refused\)/);
    await expect(sql()`truncate request_events`).rejects.toThrow(/append-only \(TRUNCATE refused\)/);
    await expect(sql()`delete from request_events where id = ${row!.id}`).rejects.toMatchObject({ code: "42501" });
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 1 });
  });
});

describe("verifyAuditChain", () => {
  it("verifies a long chain in small batches", async () => {
    await appendMany(120);
    expect(await verifyAuditChain(db(), { batchSize: 7 })).toEqual({ ok: true, count: 120 });
    expect(await verifyAuditChain(db(), { batchSize: 120 })).toEqual({ ok: true, count: 120 });
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 120 });
  });

  it("reports an empty trail as valid", async () => {
    expect(await verifyAuditChain(db())).toEqual({ ok: true, count: 0 });
  });

  it("detects details edited around the trigger, at the edited row", async () => {
    const rows = await appendMany(30);
    const target = rows[17]!;
    await aroundTheTrigger((tx) => tx`update request_events set details = jsonb_set(details, '{n}', '1000') where id = ${target.id}`);
    expect(await verifyAuditChain(db(), { batchSize: 4 })).toEqual({ ok: false, count: 18, brokenAtId: target.id, reason: "hash_mismatch" });
  });

  it("detects an edit whose hash was recomputed, at the next row", async () => {
    const rows = await appendMany(10);
    const target = rows[4]!;
    const forged = { ...target, action: "test.innocent" };
    await aroundTheTrigger(
      (tx) => tx`update request_events set action = ${forged.action}, hash = ${computeEventHash(forged)} where id = ${target.id}`,
    );
    expect(await verifyAuditChain(db())).toEqual({ ok: false, count: 6, brokenAtId: rows[5]!.id, reason: "prev_hash_mismatch" });
  });

  it("detects a deleted middle row as a prev-hash mismatch at the row after it", async () => {
    const rows = await appendMany(25);
    await aroundTheTrigger((tx) => tx`delete from request_events where id = ${rows[12]!.id}`);
    expect(await verifyAuditChain(db(), { batchSize: 5 })).toEqual({
      ok: false,
      count: 13,
      brokenAtId: rows[13]!.id,
      reason: "prev_hash_mismatch",
    });
  });

  it("detects a deleted first row, and reports the first break when there are several", async () => {
    const rows = await appendMany(8);
    await aroundTheTrigger(async (tx) => {
      await tx`delete from request_events where id = ${rows[0]!.id}`;
      await tx`update request_events set details = '{}' where id = ${rows[6]!.id}`;
    });
    expect(await verifyAuditChain(db())).toEqual({ ok: false, count: 1, brokenAtId: rows[1]!.id, reason: "prev_hash_mismatch" });
  });

  it("detects a row inserted around appendEvent", async () => {
    const rows = await appendMany(3);
    const fake = { requestId: null, actorType: "system" as const, actorId: null, action: "test.fake", details: {}, createdAt: new Date(), prevHash: rows[0]!.hash };
    await db().insert(requestEvents).values({ ...fake, hash: computeEventHash(fake) });
    expect(await verifyAuditChain(db())).toMatchObject({ ok: false, reason: "prev_hash_mismatch" });
  });
});

describe("listEvents", () => {
  it("lists one request's events oldest first", async () => {
    const a = await createRequestRow();
    const b = await createRequestRow();
    await appendEvent(db(), { requestId: a, actorType: "subject", action: "request.submitted" });
    await appendEvent(db(), { requestId: b, actorType: "subject", action: "request.submitted" });
    await appendEvent(db(), { requestId: a, actorType: "subject", action: "verification.completed" });
    await appendEvent(db(), { actorType: "system", action: "system.started" });
    const events = await listEvents(db(), a);
    expect(events.map((e) => e.action)).toEqual(["request.submitted", "verification.completed"]);
    expect(events[0]!.id).toBeLessThan(events[1]!.id);
    expect(await listEvents(db(), randomUUID())).toEqual([]);
    expect(await listEvents(db(), "nonsense")).toEqual([]);
  });
});
