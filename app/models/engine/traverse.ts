/**
 * Walks a database map from the subject's identity outward. Collections are visited in reference order; each is
 * queried by its identity fields (with the subject's normalized values) and by the target column of every reference
 * into it (with the values the source rows held), in batches, on indexed columns only. Rows are deduplicated by
 * primary key and yielded as they stream in (`traverse`, for access); only the values later references need are
 * kept. An erasure, which plans over all of the subject's rows, fetches them level by level (`collect`).
 */
import type { CollectionDef, SubjectIdentity } from "#app/models/data-map.ts";
import { identityPredicates, type Plan } from "./plan.ts";
import type { Row, SqlDialect, SqlSession } from "./sql.ts";
import { keyOf } from "./values.ts";

export const BATCH = 1000;

/** Comparable form of a join value across collections (an integer id may come back as a number in one table and a string in another). */
export function joinKey(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `b:${value.toString("hex")}`;
  return String(value);
}

export type Visited = { collection: CollectionDef; row: Row; key: string; identity: boolean };

export function selectColumns(c: CollectionDef) {
  return [...new Set([...c.primaryKey, ...Object.keys(c.fields)])];
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

type Query = { text: string; params: unknown[]; identity: boolean };
/** Per reference (by index): the distinct values of its `from` field among the rows visited so far. */
type RefValues = Map<number, Map<string, unknown>>;

/** The statements that find a collection's rows: by each identity field, then by each reference into it, in batches. */
function collectionQueries(c: CollectionDef, plan: Plan, dialect: SqlDialect, subject: SubjectIdentity, values: RefValues, lock: string): Query[] {
  const select = `select ${selectColumns(c).map(dialect.ident).join(", ")} from ${dialect.table(c.table)}`;
  const out: Query[] = [];
  for (const { field, value } of identityPredicates(c, subject)) {
    const params: unknown[] = [];
    const col = field.match === "lower" ? dialect.lower(dialect.ident(field.name)) : dialect.ident(field.name);
    out.push({ text: `${select} where ${col} = ${dialect.param(params, value)}${lock}`, params, identity: true });
  }
  for (const r of plan.incoming.get(c.name)!) {
    const set = values.get(r.index);
    if (!set || set.size === 0) continue;
    for (const batch of chunks([...set.values()], BATCH)) {
      const params: unknown[] = [];
      out.push({ text: `${select} where ${dialect.inList(dialect.ident(r.to.field), batch, params)}${lock}`, params, identity: false });
    }
  }
  return out;
}

/**
 * Visits a collection's rows: records the values its outgoing references need and returns the row unless it was
 * seen already. One statement returns each row once, so the set of seen keys (the memory a subject with millions of
 * rows would need) is kept only for a collection reached by more than one statement.
 */
function visitor(c: CollectionDef, plan: Plan, values: RefValues, dedupe: boolean) {
  const seen = new Set<string>();
  const outgoing = plan.outgoing.get(c.name)!;
  return (row: Row, identity: boolean): Visited | undefined => {
    const key = keyOf(c.primaryKey.map((k) => row[k]));
    if (dedupe) {
      if (seen.has(key)) return undefined;
      seen.add(key);
    }
    for (const r of outgoing) {
      const v = row[r.from.field];
      if (v === null || v === undefined) continue;
      let set = values.get(r.index);
      if (!set) values.set(r.index, (set = new Map()));
      set.set(joinKey(v), v);
    }
    return { collection: c, row, key, identity };
  };
}

/** The subject's rows, streamed collection by collection (access: nothing but the join values is held). */
export async function* traverse(
  session: SqlSession,
  dialect: SqlDialect,
  plan: Plan,
  subject: SubjectIdentity,
  options: { lock?: boolean } = {},
): AsyncGenerator<Visited> {
  const values: RefValues = new Map();
  const lock = options.lock ? dialect.lockForUpdate : "";
  for (const c of plan.order) {
    const queries = collectionQueries(c, plan, dialect, subject, values, lock);
    const visit = visitor(c, plan, values, queries.length > 1);
    for (const q of queries) {
      for await (const row of session.stream(q.text, q.params)) {
        const v = visit(row, q.identity);
        if (v) yield v;
      }
    }
  }
}

/**
 * The subject's rows, all at once (an erasure plans over all of them anyway): the same statements as `traverse`,
 * but every statement of one level of the reference order (collections whose sources are all in earlier levels) is
 * issued together, so the driver can pipeline them — a round trip per level instead of one per statement. Rows come
 * back grouped by collection, in `plan.order`, each collection's in the order `traverse` gives.
 */
export async function collect(
  session: SqlSession,
  dialect: SqlDialect,
  plan: Plan,
  subject: SubjectIdentity,
  options: { lock?: boolean } = {},
): Promise<Visited[]> {
  const values: RefValues = new Map();
  const lock = options.lock ? dialect.lockForUpdate : "";
  const out: Visited[] = [];
  for (const level of plan.levels) {
    const queries = level.map((c) => collectionQueries(c, plan, dialect, subject, values, lock));
    const results = await Promise.all(queries.map((qs) => Promise.all(qs.map((q) => session.query(q.text, q.params)))));
    level.forEach((c, i) => {
      const visit = visitor(c, plan, values, queries[i]!.length > 1);
      queries[i]!.forEach((q, j) => {
        for (const row of results[i]![j]!) {
          const v = visit(row, q.identity);
          if (v) out.push(v);
        }
      });
    });
  }
  const rank = new Map(plan.order.map((c, i) => [c.name, i]));
  // Stable: within a collection the order of the statements and their rows is kept.
  return out.sort((a, b) => rank.get(a.collection.name)! - rank.get(b.collection.name)!);
}

/** `pk IN (…)` for a batch of rows, single or composite key, appending to params. */
export function keyPredicate(dialect: SqlDialect, c: CollectionDef, rows: Row[], params: unknown[]): string {
  if (c.primaryKey.length === 1) {
    const k = c.primaryKey[0]!;
    return dialect.inList(dialect.ident(k), rows.map((r) => r[k]), params);
  }
  const tuple = `(${c.primaryKey.map(dialect.ident).join(", ")})`;
  const list = rows.map((r) => `(${c.primaryKey.map((k) => dialect.param(params, r[k])).join(", ")})`);
  return `${tuple} in (${list.join(", ")})`;
}
