/**
 * Erasure semantics (docs/data-map.md, "Erasure actions"): which of the subject's rows are theirs alone, which are
 * deleted, which stay (and why), and what is rewritten in the rows that stay. `planErasure` decides everything from
 * what the store holds now, without changing it; `applyErasure` carries a plan out inside the caller's transaction.
 * A dry run is the plan alone, so it reports exactly what the erasure would do.
 */
import type { CollectionErasureCounts, ErasureReport } from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import type { CollectionDef, FieldDef, ReferenceDef, SubjectIdentity } from "#app/models/data-map.ts";
import type { Plan } from "./plan.ts";
import type { Row, SqlDialect, SqlSession } from "./sql.ts";
import { BATCH, chunks, collect, joinKey, keyPredicate } from "./traverse.ts";
import { hashFieldValue, isHashed, keyOf, sameValue } from "./values.ts";

/** The basis reported for rows that also belong to someone else and are therefore left alone. */
export const SHARED_BASIS = "Also concerns another person, so it was left unchanged";
export const referencedBasis = (collection: string) => `Still referenced by records kept in ${collection}`;

type RowState = {
  collection: CollectionDef;
  key: string;
  values: Row;
  identity: boolean;
  owned: boolean;
  fate: "delete" | "stay";
  bases: Set<string>;
  /** Fields rewritten in a row that stays (target values), and those that actually differ now. */
  rewrites: Record<string, unknown>;
  changes: Record<string, unknown>;
};

export type ErasurePlan = {
  rows: Map<string, Map<string, RowState>>;
};

/** What happens to a field of a row that stays; undefined: left as it is. */
function rewriteOf(field: FieldDef, current: unknown, hashKey: Buffer): { target: unknown } | undefined {
  if (field.structural) return undefined;
  switch (field.erasure.action) {
    case "keep":
      return undefined;
    case "delete":
    case "null":
      return { target: null };
    case "mask":
      return { target: field.erasure.value };
    case "hash":
      if (current === null || current === undefined || isHashed(current)) return { target: current };
      return { target: hashFieldValue(field, current, hashKey) };
  }
}

export async function planErasure(
  session: SqlSession,
  dialect: SqlDialect,
  plan: Plan,
  subject: SubjectIdentity,
  hashKey: Buffer,
  options: { lock: boolean },
): Promise<ErasurePlan> {
  const rows = new Map<string, Map<string, RowState>>(plan.order.map((c) => [c.name, new Map()]));
  for (const v of await collect(session, dialect, plan, subject, { lock: options.lock })) {
    rows.get(v.collection.name)!.set(v.key, {
      collection: v.collection,
      key: v.key,
      values: v.row,
      identity: v.identity,
      owned: false,
      fate: "stay",
      bases: new Set(),
      rewrites: {},
      changes: {},
    });
  }

  // Rows of a collection by the join value of one field (built on demand).
  const indexes = new Map<string, Map<string, RowState[]>>();
  const byValue = (collection: string, field: string) => {
    const id = `${collection}.${field}`;
    let index = indexes.get(id);
    if (!index) {
      index = new Map();
      for (const r of rows.get(collection)!.values()) {
        const v = r.values[field];
        if (v === null || v === undefined) continue;
        const k = joinKey(v);
        const list = index.get(k);
        if (list) list.push(r);
        else index.set(k, [r]);
      }
      indexes.set(id, index);
    }
    return index;
  };
  const sourcesOf = (r: RowState, ref: ReferenceDef) => {
    const v = r.values[ref.to.field];
    return v === null || v === undefined ? [] : (byValue(ref.from.collection, ref.from.field).get(joinKey(v)) ?? []);
  };

  // 1. Ownership, in reference order (every source is decided before its targets).
  for (const c of plan.order) {
    const mine = rows.get(c.name)!;
    if (mine.size === 0) continue;
    const incoming = plan.incoming.get(c.name)!;
    for (const r of mine.values()) {
      r.owned = r.identity || incoming.some((ref) => sourcesOf(r, ref).some((s) => s.owned));
      // A row holding a foreign key into a collection it is reached from must point at the subject's own row;
      // otherwise it also belongs to whoever that row is (an order of another customer the subject took part in).
      for (const ref of incoming) {
        if (!r.owned || ref.foreignKey !== "to") continue;
        const v = r.values[ref.to.field];
        if (v !== null && v !== undefined && !sourcesOf(r, ref).some((s) => s.owned)) r.owned = false;
      }
    }
    // A parent row is shared when a row outside the subject's own references it.
    for (const ref of plan.parentRefs.get(c.name)!) {
      const wanted = new Map<string, unknown>();
      for (const r of mine.values()) {
        const v = r.values[ref.to.field];
        if (r.owned && v !== null && v !== undefined) wanted.set(joinKey(v), v);
      }
      if (wanted.size === 0) continue;
      const holder = plan.map.collections[ref.from.collection]!;
      const holderRows = rows.get(holder.name)!;
      const cols = [...new Set([...holder.primaryKey, ref.from.field])];
      for (const batch of chunks([...wanted.values()], BATCH)) {
        const params: unknown[] = [];
        const text =
          `select ${cols.map(dialect.ident).join(", ")} from ${dialect.table(holder.table)} ` +
          `where ${dialect.inList(dialect.ident(ref.from.field), batch, params)}${options.lock ? dialect.lockForShare : ""}`;
        for await (const x of session.stream(text, params)) {
          const mineToo = holderRows.get(keyOf(holder.primaryKey.map((k) => x[k])));
          if (mineToo?.owned) continue;
          for (const r of byValue(c.name, ref.to.field).get(joinKey(x[ref.from.field])) ?? []) r.owned = false;
        }
      }
    }
  }

  // 2. Fates: delete when the collection says so and nothing keeps the row.
  for (const c of plan.order) {
    const explicitKeeps = Object.values(c.fields).filter((f) => f.explicitErasure && f.erasure.action === "keep");
    for (const r of rows.get(c.name)!.values()) {
      if (!r.owned) {
        r.bases.add(SHARED_BASIS);
        continue;
      }
      if (c.erasure.action === "keep") r.bases.add(c.erasure.basis);
      for (const f of explicitKeeps) if (f.erasure.action === "keep") r.bases.add(f.erasure.basis);
      r.fate = c.erasure.action === "delete" && explicitKeeps.length === 0 ? "delete" : "stay";
    }
  }
  // Keep beats delete: a row stays while a row that stays holds a foreign key to it.
  const holdersOf = (r: RowState): RowState[] => {
    const out: RowState[] = [];
    for (const ref of plan.map.references) {
      if (ref.foreignKey === "from" && ref.to.collection === r.collection.name) out.push(...sourcesOf(r, ref));
      if (ref.foreignKey === "to" && ref.from.collection === r.collection.name) {
        const v = r.values[ref.from.field];
        if (v !== null && v !== undefined) out.push(...(byValue(ref.to.collection, ref.to.field).get(joinKey(v)) ?? []));
      }
    }
    return out;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const collection of rows.values()) {
      for (const r of collection.values()) {
        if (r.fate !== "delete") continue;
        const keeper = holdersOf(r).find((h) => h.fate === "stay");
        if (keeper) {
          r.fate = "stay";
          r.bases.add(referencedBasis(keeper.collection.name));
          changed = true;
        }
      }
    }
  }

  // 3. Rewrites of the subject's own rows that stay.
  for (const collection of rows.values()) {
    for (const r of collection.values()) {
      if (!r.owned || r.fate !== "stay") continue;
      for (const f of Object.values(r.collection.fields)) {
        const w = rewriteOf(f, r.values[f.name], hashKey);
        if (!w) continue;
        r.rewrites[f.name] = w.target;
        if (!sameValue(r.values[f.name], w.target)) r.changes[f.name] = w.target;
      }
    }
  }
  return { rows };
}

/** One write of an erasure; `expect`: the number of rows a delete must remove (fewer means the store changed under us). */
export type ErasureStatement = { collection: string; text: string; params: unknown[]; expect?: number };

/** The writes that carry out a plan, in order: rewrites first, then deletes, children before parents. */
export function erasureStatements(dialect: SqlDialect, plan: Plan, erasure: ErasurePlan): ErasureStatement[] {
  const out: ErasureStatement[] = [];
  for (const c of plan.order) {
    const groups = new Map<string, { set: Record<string, unknown>; rows: Row[] }>();
    for (const r of erasure.rows.get(c.name)!.values()) {
      if (Object.keys(r.changes).length === 0) continue;
      const id = keyOf(Object.entries(r.changes).sort(([a], [b]) => a.localeCompare(b)));
      const g = groups.get(id);
      if (g) g.rows.push(r.values);
      else groups.set(id, { set: r.changes, rows: [r.values] });
    }
    for (const { set, rows } of groups.values()) {
      for (const batch of chunks(rows, c.primaryKey.length === 1 ? BATCH : 200)) {
        const params: unknown[] = [];
        const assignments = Object.entries(set).map(([k, v]) => `${dialect.ident(k)} = ${dialect.param(params, v)}`);
        out.push({ collection: c.name, text: `update ${dialect.table(c.table)} set ${assignments.join(", ")} where ${keyPredicate(dialect, c, batch, params)}`, params });
      }
    }
  }
  for (const name of plan.deleteOrder) {
    const c = plan.map.collections[name]!;
    const doomed = [...erasure.rows.get(name)!.values()].filter((r) => r.fate === "delete").map((r) => r.values);
    for (const batch of chunks(doomed, c.primaryKey.length === 1 ? BATCH : 200)) {
      const params: unknown[] = [];
      out.push({ collection: name, text: `delete from ${dialect.table(c.table)} where ${keyPredicate(dialect, c, batch, params)}`, params, expect: batch.length });
    }
  }
  return out;
}

/**
 * Carries out a plan inside the caller's transaction. The writes are issued together: the driver sends them down
 * the one connection in order (PostgreSQL pipelines them: one round trip instead of one per statement) and the
 * server runs them in that order, so rewrites still precede deletes and children precede parents. If one fails,
 * the rest fail with it and the caller rolls the transaction back.
 */
export async function applyErasure(session: SqlSession, dialect: SqlDialect, plan: Plan, erasure: ErasurePlan) {
  const statements = erasureStatements(dialect, plan, erasure);
  const counts = await Promise.all(statements.map((s) => session.execute(s.text, s.params)));
  statements.forEach((s, i) => {
    if (s.expect !== undefined && counts[i] !== s.expect) {
      throw new StoreError("concurrent_change", `${s.collection}: expected to delete ${s.expect} rows, deleted ${counts[i]}; nothing was changed`, true);
    }
  });
}

export function erasureReport(store: string, plan: Plan, erasure: ErasurePlan, dryRun: boolean): ErasureReport {
  const collections: Record<string, CollectionErasureCounts> = {};
  const totals = { matched: 0, deleted: 0, masked: 0, kept: 0 };
  for (const c of plan.order) {
    const counts: CollectionErasureCounts = { matched: 0, deleted: 0, masked: 0, kept: 0, bases: [] };
    const bases = new Map<string, number>();
    for (const r of erasure.rows.get(c.name)!.values()) {
      counts.matched += 1;
      if (r.fate === "delete") counts.deleted += 1;
      else {
        if (Object.keys(r.rewrites).length > 0) counts.masked += 1;
        if (r.bases.size > 0) counts.kept += 1;
        for (const b of r.bases) bases.set(b, (bases.get(b) ?? 0) + 1);
      }
    }
    counts.bases = [...bases].map(([basis, rows]) => ({ basis, rows }));
    collections[c.name] = counts;
    totals.matched += counts.matched;
    totals.deleted += counts.deleted;
    totals.masked += counts.masked;
    totals.kept += counts.kept;
  }
  return { store, dryRun, collections, totals };
}
