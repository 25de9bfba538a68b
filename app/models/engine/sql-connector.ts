/**
 * The Connector of a SQL store (PostgreSQL, MySQL/MariaDB) on top of a driver: reads run in one read-only,
 * consistent-snapshot transaction; an erasure runs in ONE read-write transaction that locks the subject's rows,
 * plans, applies and commits — or rolls back on any failure, leaving the store untouched. Corrections and opt-outs
 * (updates.ts) likewise: one read-write transaction per store.
 */
import type {
  AccessItem,
  Connector,
  ConnectorContext,
  EraseResult,
  FindResult,
  JsonValue,
  StoreTestResult,
  StoreWarning,
  UpdateResult,
} from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import { normalizeSubject, type DatabaseDataMap, type SubjectIdentity } from "#app/models/data-map.ts";
import { correctedIdentity, correctionTargets, normalizeCorrectionValues, optOutTargets, updateTask, type UpdateTargets } from "./targets.ts";
import { applyUpdates } from "./updates.ts";
import { describeSql } from "./describe.ts";
import { applyErasure, erasureReport, planErasure } from "./erasure.ts";
import { buildPlan } from "./plan.ts";
import type { SqlDriver, SqlSession, TxMode } from "./sql.ts";
import { traverse } from "./traverse.ts";
import { toJson } from "./values.ts";

/** Turns a driver error into a StoreError whose message carries no values from the store. */
export type ErrorTranslator = (error: unknown) => StoreError;

async function inTransaction<T>(driver: SqlDriver, mode: TxMode, fn: (s: SqlSession) => Promise<T>): Promise<T> {
  const session = await driver.session();
  try {
    await session.execute(driver.dialect.begin(mode), []);
    try {
      const result = await fn(session);
      await session.execute("commit", []);
      return result;
    } catch (error) {
      await session.execute("rollback", []).catch(() => {});
      throw error;
    }
  } finally {
    await session.release();
  }
}

export function createSqlConnector(
  context: ConnectorContext<DatabaseDataMap>,
  driver: SqlDriver,
  options: { translate: ErrorTranslator; warnings?: StoreWarning[] },
): Connector {
  const plan = buildPlan(context.map);
  const { dialect } = driver;
  const subjectOf = (s: SubjectIdentity) => normalizeSubject(s, context.map);
  // Errors of the caller's own `beforeCommit` (e.g. the portal's database) are not the store's: passed on untranslated.
  const callerErrors = new WeakSet<object>();
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw error instanceof StoreError || (typeof error === "object" && error !== null && callerErrors.has(error)) ? error : options.translate(error);
    }
  };
  const describe = () =>
    guard(async () => {
      const d = await describeSql(driver, plan);
      return { ...d, warnings: [...(options.warnings ?? []), ...d.warnings] };
    });

  return {
    kind: context.map.kind,
    describe,

    async test(): Promise<StoreTestResult> {
      const started = performance.now();
      let server: string;
      try {
        server = (await guard(() => driver.ping())).server;
      } catch (error) {
        return {
          connected: false,
          ok: false,
          errors: [{ path: "connection", message: (error as Error).message }],
          warnings: options.warnings ?? [],
          collections: [],
        };
      }
      const latencyMs = Math.round(performance.now() - started);
      return { connected: true, latencyMs, server, ...(await describe()) };
    },

    find(subject): Promise<FindResult> {
      return guard(() =>
        inTransaction(driver, "read", async (session) => {
          const collections: Record<string, number> = Object.fromEntries(plan.order.map((c) => [c.name, 0]));
          for await (const v of traverse(session, dialect, plan, subjectOf(subject))) collections[v.collection.name]! += 1;
          return { found: Object.values(collections).some((n) => n > 0), collections };
        }),
      );
    },

    access(subject): AsyncIterable<AccessItem> {
      const normalized = subjectOf(subject);
      return {
        async *[Symbol.asyncIterator]() {
          let session: SqlSession;
          try {
            session = await driver.session();
            await session.execute(dialect.begin("read"), []);
          } catch (error) {
            throw error instanceof StoreError ? error : options.translate(error);
          }
          let ended = false;
          try {
            for await (const v of traverse(session, dialect, plan, normalized)) {
              const row: Record<string, JsonValue> = {};
              for (const f of Object.values(v.collection.fields)) if (f.access === "include") row[f.name] = toJson(v.row[f.name]);
              yield { type: "row", collection: v.collection.name, row };
            }
            await session.execute("commit", []);
            ended = true;
          } catch (error) {
            throw error instanceof StoreError ? error : options.translate(error);
          } finally {
            // Also reached when the consumer stops early: end the read-only transaction before releasing.
            if (!ended) await session.execute("rollback", []).catch(() => {});
            await session.release();
          }
        },
      };
    },

    erase(subject, opts = {}): Promise<EraseResult> {
      const normalized = subjectOf(subject);
      const dryRun = opts.dryRun === true;
      return guard(() =>
        inTransaction(driver, dryRun ? "read" : "write", async (session) => {
          const erasure = await planErasure(session, dialect, plan, normalized, context.hashKey, { lock: !dryRun });
          if (!dryRun) await applyErasure(session, dialect, plan, erasure);
          const report = erasureReport(context.store, plan, erasure, dryRun);
          if (!dryRun && opts.beforeCommit) {
            try {
              await opts.beforeCommit(report);
            } catch (error) {
              if (typeof error === "object" && error !== null) callerErrors.add(error);
              throw error;
            }
          }
          return { status: "done" as const, report };
        }),
      );
    },

    async correct(subject, values): Promise<UpdateResult> {
      const targets = correctionTargets(context.map, values);
      const asked = Object.keys(normalizeCorrectionValues(values, context.map));
      const normalized = subjectOf(subject);
      const corrected = correctedIdentity(normalized, subjectOf(normalizeCorrectionValues(values, context.map)));
      return update("correction", targets, asked, normalized, corrected);
    },

    async optOut(subject, kinds): Promise<UpdateResult> {
      return update("opt_out", optOutTargets(context.map, kinds, new Date()), kinds, subjectOf(subject));
    },

    close: () => driver.close(),
  };

  async function update(
    action: "correction" | "opt_out",
    targets: UpdateTargets,
    asked: readonly string[],
    subject: SubjectIdentity,
    corrected?: SubjectIdentity,
  ): Promise<UpdateResult> {
    if (targets.collections.size === 0) return { status: "task", task: updateTask(context.store, context.map, action, asked) };
    return guard(() =>
      inTransaction(driver, "write", async (session) => ({
        status: "done" as const,
        report: await applyUpdates(session, dialect, plan, { store: context.store, action, subject, ...(corrected ? { corrected } : {}), targets, hashKey: context.hashKey }),
      })),
    );
  }
}
