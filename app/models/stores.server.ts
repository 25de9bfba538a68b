/**
 * Connected stores: applying a data map (literal secrets move into an encrypted column and are never shown back),
 * opening a store's connector, testing and dry-running it, and the per-request store runs a job processor drives
 * (`runStoreErasure`, `runStoreAccess`: take ids, record status, progress and a counts-only report in store_runs,
 * and are safe to run twice).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { and, asc, eq, or, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { storeRuns, stores, type StoreRow, type StoreRunRow } from "#db/schema/index.ts";
import { createConnector } from "#app/connectors/registry.ts";
import type { AccessItem, Connector, ConnectorContext, CorrectionValues, ErasureReport, ManualTask } from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { decryptJson, encryptJson, sha256Hex } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { appendEvent, canonicalJson } from "./audit.server.ts";
import {
  DataMapError,
  STORED_SECRET,
  extractSecrets,
  parseDataMapText,
  secretKeys,
  validateDataMap,
  type DataMap,
  type OptOutKind,
  type StoreKind,
  type SubjectIdentity,
} from "./data-map.ts";
import { DomainError } from "./errors.ts";
import { correctionTargets, optOutTargets } from "./engine/targets.ts";
import { decryptIdentity, getRequestById } from "./requests.server.ts";

type StoredSecrets = { hashKey: string; values: Record<string, string> };
const secretsContext = (storeId: string) => `store-secrets:${storeId}`;

/** A store as shown to staff and the CLI: the map as written (secrets replaced by `stored`), no secret values. */
export type StoreView = Omit<StoreRow, "secretsCiphertext">;

const viewOf = ({ secretsCiphertext: _s, ...rest }: StoreRow): StoreView => rest;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const byNameOrId = (nameOrId: string) => (UUID_RE.test(nameOrId) ? or(eq(stores.id, nameOrId), eq(stores.name, nameOrId))! : eq(stores.name, nameOrId));

async function findStoreRow(db: Executor, nameOrId: string): Promise<StoreRow | undefined> {
  const [row] = await db.select().from(stores).where(byNameOrId(nameOrId)).limit(1);
  return row;
}

export async function getStore(db: Executor, nameOrId: string): Promise<StoreView | undefined> {
  const row = await findStoreRow(db, nameOrId);
  return row && viewOf(row);
}

export async function listStores(db: Executor): Promise<StoreView[]> {
  return (await db.select().from(stores).orderBy(asc(stores.name))).map(viewOf);
}

export type ApplyResult = { store: StoreView; created: boolean; changed: boolean };

/**
 * Creates or updates the store named in the map. `source` is YAML/JSON text or a parsed object. Literal secrets are
 * encrypted into the store's row; `stored` keeps the one already there; `env:NAME` keeps nothing. Throws
 * DataMapError (with paths) for a bad map.
 */
export async function applyStoreMap(
  db: Executor,
  source: string | Record<string, unknown>,
  options: { actorType?: "staff" | "system"; actorId?: string; clock?: Clock } = {},
): Promise<ApplyResult> {
  const raw = typeof source === "string" ? parseDataMapText(source) : source;
  const map = validateDataMap(raw);
  const { map: stripped, secrets: literals } = extractSecrets(raw as Record<string, unknown>);
  const clock = options.clock ?? systemClock;

  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(stores).where(eq(stores.name, map.name)).for("update").limit(1);
    const id = existing?.id ?? randomUUID();
    const previous: StoredSecrets = existing
      ? decryptJson<StoredSecrets>(existing.secretsCiphertext, secretsContext(id))
      : { hashKey: randomBytes(32).toString("base64"), values: {} };
    const connection = (stripped.connection ?? {}) as Record<string, unknown>;
    const values: Record<string, string> = {};
    const missing: { path: string; message: string }[] = [];
    for (const key of secretKeys[map.kind]) {
      if (connection[key] !== STORED_SECRET) continue;
      const value = literals[key] ?? previous.values[key];
      if (value === undefined) missing.push({ path: `connection.${key}`, message: "no secret is stored yet: give the value or env:NAME" });
      else values[key] = value;
    }
    if (missing.length > 0) throw new DataMapError(missing);

    const secretsChanged = JSON.stringify(values) !== JSON.stringify(previous.values);
    // Canonical JSON: a jsonb column gives keys back in its own order, so a plain stringify would see a change in every apply.
    const mapChanged = !existing || canonicalJson(existing.dataMap) !== canonicalJson(stripped) || existing.kind !== map.kind;
    const now = clock();
    const secretsCiphertext = encryptJson({ hashKey: previous.hashKey, values } satisfies StoredSecrets, secretsContext(id));
    let row: StoreRow;
    if (!existing) {
      [row] = (await tx
        .insert(stores)
        .values({ id, name: map.name, kind: map.kind, title: map.title ?? null, dataMap: stripped, secretsCiphertext, createdAt: now, updatedAt: now })
        .returning()) as [StoreRow];
    } else if (mapChanged || secretsChanged) {
      [row] = (await tx
        .update(stores)
        .set({
          kind: map.kind,
          title: map.title ?? null,
          dataMap: stripped,
          secretsCiphertext,
          mapVersion: sql`${stores.mapVersion} + 1`,
          updatedAt: now,
        })
        .where(eq(stores.id, id))
        .returning()) as [StoreRow];
    } else {
      row = existing;
    }
    const changed = !existing || mapChanged || secretsChanged;
    if (changed) {
      await appendEvent(
        tx,
        {
          actorType: options.actorType ?? "system",
          actorId: options.actorId ?? "portal-cli",
          action: existing ? "store.updated" : "store.created",
          details: { storeId: id, store: map.name, kind: map.kind, mapVersion: row.mapVersion, secretsChanged },
        },
        clock,
      );
    }
    return { store: viewOf(row), created: !existing, changed };
  });
}

/** Where HTTP stores with `connection.callbacks: true` post results they accepted with 202 (app/routes/api.stores.callback.ts). */
export const STORE_CALLBACK_PATH = "/api/stores/callback";

/** The validated map and decrypted secrets of a store, as a connector needs them. */
export async function storeContext(db: Executor, nameOrId: string, env?: Record<string, string | undefined>): Promise<{ store: StoreView; context: ConnectorContext }> {
  const row = await findStoreRow(db, nameOrId);
  if (!row) throw new DomainError("store_not_found", `No store named "${nameOrId}".`, 404);
  return { store: viewOf(row), context: contextOf(row, env) };
}

function contextOf(row: StoreRow, env?: Record<string, string | undefined>): ConnectorContext {
  const map: DataMap = validateDataMap(row.dataMap);
  const secrets = decryptJson<StoredSecrets>(row.secretsCiphertext, secretsContext(row.id));
  return {
    store: row.name,
    map,
    secrets: secrets.values,
    hashKey: Buffer.from(secrets.hashKey, "base64"),
    ...(env ? { env } : {}),
    ...(map.kind === "http" && map.connection.callbacks ? { callbackUrl: `${getEnv().APP_URL}${STORE_CALLBACK_PATH}` } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Open connectors, kept by a long-running worker (docs/decisions/021-open-store-connectors.md)

type Held = { fingerprint: string; connector: Promise<Connector>; users: number; stale: boolean; timer?: NodeJS.Timeout };
let held: Map<string, Held> | undefined;
let heldIdleMs = 30_000;

/**
 * From now on this process keeps each store's connector (its connection pool) open between pieces of work, instead
 * of connecting and closing for each one. A connector is replaced as soon as its store changes (map version, update
 * time, stored secrets, or the value of an `env:NAME` its connection names) and closed after `idleMs` unused. The
 * worker turns this on; CLI commands and the web, which use a store now and then, do not.
 */
export function keepStoreConnectors(options: { idleMs?: number } = {}) {
  held ??= new Map();
  heldIdleMs = options.idleMs ?? 30_000;
}

/** Closes every kept connector and stops keeping them (worker shutdown). */
export async function closeStoreConnectors() {
  const all = held;
  held = undefined;
  if (!all) return;
  await Promise.allSettled([...all.values()].map(closeHeld));
}

/** How many connectors are kept open now (for tests and the worker's health). */
export function keptStoreConnectors() {
  return held?.size ?? 0;
}

async function closeHeld(h: Held) {
  clearTimeout(h.timer);
  await (await h.connector.catch(() => undefined))?.close().catch(() => {});
}

/** What a kept connector depends on: a change to any of it means a new connector. */
function fingerprintOf(row: StoreRow) {
  const connection = (row.dataMap as { connection?: Record<string, unknown> }).connection ?? {};
  const envValues: Record<string, string | undefined> = {};
  const visit = (v: unknown) => {
    if (typeof v === "string" && /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(v)) envValues[v.slice(4)] = process.env[v.slice(4)];
    else if (v && typeof v === "object") for (const x of Object.values(v)) visit(x);
  };
  visit(connection);
  return sha256Hex(canonicalJson({ v: row.mapVersion, at: row.updatedAt.toISOString(), s: row.secretsCiphertext, env: envValues, off: row.disabledAt?.toISOString() ?? null }));
}

/**
 * A connector for the store in `row` and the function that gives it back: a fresh one (closed on release) unless
 * this process keeps connectors, then the kept one while the store is unchanged. `env` overrides (CLI, tests)
 * always get a fresh connector.
 */
async function acquireConnector(row: StoreRow, env?: Record<string, string | undefined>): Promise<{ connector: Connector; release: () => Promise<void> }> {
  const pool = held;
  if (!pool || env) {
    const connector = await createConnector(contextOf(row, env));
    return { connector, release: () => connector.close() };
  }
  const fingerprint = fingerprintOf(row);
  let h = pool.get(row.id);
  if (h && h.fingerprint !== fingerprint) {
    pool.delete(row.id);
    h.stale = true;
    if (h.users === 0) void closeHeld(h);
    h = undefined;
  }
  if (!h) {
    const created: Held = { fingerprint, connector: Promise.resolve().then(() => createConnector(contextOf(row))), users: 0, stale: false };
    created.connector.catch(() => {
      if (pool.get(row.id) === created) pool.delete(row.id); // a map or secret that fails is not kept
    });
    pool.set(row.id, created);
    h = created;
  }
  const entry = h;
  entry.users++;
  clearTimeout(entry.timer);
  let connector: Connector;
  try {
    connector = await entry.connector;
  } catch (error) {
    entry.users--;
    throw error;
  }
  let released = false;
  return {
    connector,
    release: async () => {
      if (released) return;
      released = true;
      entry.users--;
      if (entry.users > 0) return;
      if (entry.stale || held !== pool) return closeHeld(entry);
      entry.timer = setTimeout(() => {
        if (entry.users > 0) return;
        if (pool.get(row.id) === entry) pool.delete(row.id);
        void closeHeld(entry);
      }, heldIdleMs).unref();
    },
  };
}

/** Runs `fn` with the store's connector, then gives the connector back (closed, unless this process keeps it). */
export async function withStoreConnector<T>(
  db: Executor,
  nameOrId: string,
  fn: (connector: Connector, store: StoreView) => Promise<T>,
  env?: Record<string, string | undefined>,
): Promise<T> {
  const row = await findStoreRow(db, nameOrId);
  if (!row) throw new DomainError("store_not_found", `No store named "${nameOrId}".`, 404);
  const { connector, release } = await acquireConnector(row, env);
  try {
    return await fn(connector, viewOf(row));
  } finally {
    await release();
  }
}

export function testStore(db: Executor, nameOrId: string, env?: Record<string, string | undefined>) {
  return withStoreConnector(db, nameOrId, async (c, store) => ({ store: store.name, kind: store.kind, ...(await c.test()) }), env);
}

export type DryRunResult =
  | { store: string; action: "access"; found: boolean | "unknown"; collections: Record<string, number> }
  | { store: string; action: "erase"; report: ErasureReport }
  | { store: string; action: "access" | "erase"; task: ManualTask };

/** What an access or erasure would find or do for this subject — counts only; changes nothing. */
export function dryRunStore(
  db: Executor,
  nameOrId: string,
  input: { subject: SubjectIdentity; action: "access" | "erase" },
  env?: Record<string, string | undefined>,
): Promise<DryRunResult> {
  return withStoreConnector(
    db,
    nameOrId,
    async (c, store) => {
      if (input.action === "access") {
        if (store.kind === "manual") {
          for await (const item of c.access(input.subject)) if (item.type === "task") return { store: store.name, action: "access", task: item.task };
        }
        const found = await c.find(input.subject);
        return { store: store.name, action: "access", ...found };
      }
      const result = await c.erase(input.subject, { dryRun: true });
      if (result.status === "accepted") throw new StoreError("http_async_unsupported", "a dry run needs a synchronous answer");
      return result.status === "done" ? { store: store.name, action: "erase", report: result.report } : { store: store.name, action: "erase", task: result.task };
    },
    env,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Store runs: one request's work in one store

/**
 * The identity a request's store runs search with: the verified email always; a phone number or account id only
 * when the matching step confirmed it belongs to the same person (`matchedDataPoints`).
 */
export function subjectForRequest(row: Parameters<typeof decryptIdentity>[0] & { matchedDataPoints: string[] }): SubjectIdentity {
  const identity = decryptIdentity(row);
  const subject: SubjectIdentity = { email: identity.email };
  if (identity.dataPoints?.phone && row.matchedDataPoints.includes("phone")) subject.phone = identity.dataPoints.phone;
  if (identity.dataPoints?.accountId && row.matchedDataPoints.includes("accountId")) subject.accountId = identity.dataPoints.accountId;
  return subject;
}

type RunKey = { requestId: string; storeId: string; action: StoreRunRow["action"] };

async function claimRun(db: Executor, key: RunKey, clock: Clock): Promise<StoreRunRow> {
  await db.insert(storeRuns).values({ ...key, createdAt: clock(), updatedAt: clock() }).onConflictDoNothing();
  const [row] = await db
    .select()
    .from(storeRuns)
    .where(and(eq(storeRuns.requestId, key.requestId), eq(storeRuns.storeId, key.storeId), eq(storeRuns.action, key.action)))
    .limit(1);
  return row!;
}

const errorText = (error: unknown) =>
  error instanceof StoreError ? `${error.code}: ${error.message}`.slice(0, 500) : error instanceof DataMapError ? "invalid_data_map" : "internal_error";

export type StoreRunOutcome =
  | { status: "completed"; runId: string; report: Record<string, unknown>; reused: boolean }
  | { status: "waiting"; runId: string; task: ManualTask }
  /** An HTTP store accepted the work (202); the run waits for its signed callback (`completeStoreCallback`). */
  | { status: "accepted"; runId: string; reference: string };

/** What `store_runs.progress.async` holds while a run waits for a store's callback (no personal data). */
export type AsyncProgress = { reference: string; acceptedAt: string; targets?: string[] };

async function runStore(
  db: Executor,
  key: RunKey,
  work: (connector: Connector, run: StoreRunRow) => Promise<{ report: Record<string, unknown> } | { task: ManualTask } | { accepted: AsyncProgress }>,
  options: { env?: Record<string, string | undefined>; clock?: Clock },
): Promise<StoreRunOutcome> {
  const clock = options.clock ?? systemClock;
  const run = await claimRun(db, key, clock);
  if (run.status === "completed") return { status: "completed", runId: run.id, report: run.report ?? {}, reused: true };
  if (run.status === "waiting" && run.task) return { status: "waiting", runId: run.id, task: run.task as ManualTask };
  const pending = (run.progress as { async?: AsyncProgress }).async;
  if (run.status === "waiting" && pending) return { status: "accepted", runId: run.id, reference: pending.reference };

  const row = await findStoreRow(db, key.storeId);
  if (!row) throw new DomainError("store_not_found", `No store named "${key.storeId}".`, 404);
  await db
    .update(storeRuns)
    .set({ status: "running", attempts: sql`${storeRuns.attempts} + 1`, mapVersion: row.mapVersion, startedAt: clock(), error: null, updatedAt: clock() })
    .where(eq(storeRuns.id, run.id));
  let release: (() => Promise<void>) | undefined;
  try {
    const acquired = await acquireConnector(row, options.env);
    release = acquired.release;
    const result = await work(acquired.connector, run);
    if ("task" in result) {
      await db.update(storeRuns).set({ status: "waiting", task: result.task, updatedAt: clock() }).where(eq(storeRuns.id, run.id));
      return { status: "waiting", runId: run.id, task: result.task };
    }
    if ("accepted" in result) {
      await db.update(storeRuns).set({ status: "waiting", progress: { async: result.accepted }, updatedAt: clock() }).where(eq(storeRuns.id, run.id));
      return { status: "accepted", runId: run.id, reference: result.accepted.reference };
    }
    await db
      .update(storeRuns)
      .set({ status: "completed", report: result.report, finishedAt: clock(), updatedAt: clock() })
      .where(eq(storeRuns.id, run.id));
    return { status: "completed", runId: run.id, report: result.report, reused: false };
  } catch (error) {
    const retryable = error instanceof StoreError && error.retryable;
    await db
      .update(storeRuns)
      .set({ status: retryable ? "pending" : "failed", error: errorText(error), updatedAt: clock() })
      .where(eq(storeRuns.id, run.id));
    throw error;
  } finally {
    await release?.();
  }
}

/**
 * Erases one request's subject in one store and records the counts-only report. Running it again after it completed
 * returns the recorded report without touching the store; a retryable failure leaves the run `pending`, any other
 * `failed` (the store itself is untouched either way: one transaction per store).
 */
export async function runStoreErasure(
  db: Executor,
  input: { requestId: string; storeId: string; subject?: SubjectIdentity },
  options: { env?: Record<string, string | undefined>; clock?: Clock; beforeCommit?: (report: ErasureReport) => Promise<void> } = {},
): Promise<StoreRunOutcome> {
  const subject = input.subject ?? (await requestSubject(db, input.requestId));
  return runStore(
    db,
    { requestId: input.requestId, storeId: input.storeId, action: "erasure" },
    async (connector) => {
      const result = await connector.erase(subject, { requestId: input.requestId, ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}) });
      if (result.status === "accepted") return { accepted: { reference: result.reference, acceptedAt: (options.clock ?? systemClock)().toISOString() } };
      return result.status === "task" ? { task: result.task } : { report: result.report as unknown as Record<string, unknown> };
    },
    options,
  );
}

/**
 * Streams one request's subject's records in one store into `sink` (the package builder) and records counts per
 * collection as progress and report. A completed run is not repeated.
 */
export async function runStoreAccess(
  db: Executor,
  input: { requestId: string; storeId: string; subject?: SubjectIdentity },
  sink: (item: AccessItem) => Promise<void>,
  options: { env?: Record<string, string | undefined>; clock?: Clock; progressEvery?: number } = {},
): Promise<StoreRunOutcome> {
  const subject = input.subject ?? (await requestSubject(db, input.requestId));
  const clock = options.clock ?? systemClock;
  return runStore(
    db,
    { requestId: input.requestId, storeId: input.storeId, action: "access" },
    async (connector, run) => {
      const counts: Record<string, number> = {};
      let rows = 0;
      for await (const item of connector.access(subject, { requestId: input.requestId })) {
        if (item.type === "task") return { task: item.task };
        await sink(item);
        counts[item.collection] = (counts[item.collection] ?? 0) + 1;
        if (++rows % (options.progressEvery ?? 1000) === 0) {
          await db.update(storeRuns).set({ progress: { rows, collections: counts }, updatedAt: clock() }).where(eq(storeRuns.id, run.id));
        }
      }
      await db.update(storeRuns).set({ progress: { rows, collections: counts }, updatedAt: clock() }).where(eq(storeRuns.id, run.id));
      return { report: { rows, collections: counts } };
    },
    options,
  );
}

/**
 * A correction (confirmed values) or an opt-out (preference kinds) of one request's subject in one store, recorded
 * like an erasure: a counts-only report (`UpdateReport`: matched, applied, shared per collection, and the names of
 * the attributes or preferences), or a task for staff when the store is manual or its map marks no such field. The
 * values come from the caller (read from their encrypted column by the execution), never from a job payload. A
 * completed run is not repeated.
 */
export async function runStoreUpdate(
  db: Executor,
  input: { requestId: string; storeId: string; subject?: SubjectIdentity } & ({ action: "correction"; values: CorrectionValues } | { action: "opt_out"; kinds: OptOutKind[] }),
  options: { env?: Record<string, string | undefined>; clock?: Clock } = {},
): Promise<StoreRunOutcome> {
  const subject = input.subject ?? (await requestSubject(db, input.requestId));
  return runStore(
    db,
    { requestId: input.requestId, storeId: input.storeId, action: input.action },
    async (connector) => {
      const result =
        input.action === "correction"
          ? await connector.correct(subject, input.values, { requestId: input.requestId })
          : await connector.optOut(subject, input.kinds, { requestId: input.requestId });
      if (result.status === "accepted") {
        const targets = await updateTargetNames(db, input.storeId, input);
        return { accepted: { reference: result.reference, acceptedAt: (options.clock ?? systemClock)().toISOString(), targets } };
      }
      return result.status === "task" ? { task: result.task } : { report: result.report as unknown as Record<string, unknown> };
    },
    options,
  );
}

/** The attribute or preference names a store's map marks for this work (recorded with an accepted run for its report). */
async function updateTargetNames(db: Executor, storeId: string, input: { action: "correction"; values: CorrectionValues } | { action: "opt_out"; kinds: OptOutKind[] }) {
  const { context } = await storeContext(db, storeId);
  return input.action === "correction" ? correctionTargets(context.map, input.values).names : optOutTargets(context.map, input.kinds, new Date()).names;
}

async function requestSubject(db: Executor, requestId: string): Promise<SubjectIdentity> {
  const request = await getRequestById(db, requestId);
  if (!request) throw new DomainError("request_not_found", "No such request.", 404);
  return subjectForRequest(request);
}

/** Staff finished a manual store's task: record the counts they report and complete the run. */
export async function completeManualRun(
  db: Executor,
  input: { runId: string; staffId: string; report: Record<string, unknown> },
  clock: Clock = systemClock,
): Promise<StoreRunRow> {
  return db.transaction(async (tx) => {
    const [run] = await tx.select().from(storeRuns).where(eq(storeRuns.id, input.runId)).for("update").limit(1);
    if (!run) throw new DomainError("store_run_not_found", "No such store run.", 404);
    if (run.status !== "waiting") throw new DomainError("store_run_not_waiting", "This store run is not waiting for a person.", 409);
    const [updated] = await tx
      .update(storeRuns)
      .set({ status: "completed", report: input.report, finishedAt: clock(), updatedAt: clock() })
      .where(eq(storeRuns.id, run.id))
      .returning();
    await appendEvent(
      tx,
      { requestId: run.requestId, actorType: "staff", actorId: input.staffId, action: "store.manual_completed", details: { storeRunId: run.id, storeId: run.storeId, action: run.action } },
      clock,
    );
    return updated!;
  });
}

export async function listStoreRuns(db: Executor, requestId: string): Promise<StoreRunRow[]> {
  return db.select().from(storeRuns).where(eq(storeRuns.requestId, requestId)).orderBy(asc(storeRuns.createdAt));
}

export type { StoreKind };
