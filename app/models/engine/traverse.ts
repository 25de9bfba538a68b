/**
 * Walks a database map from the subject's identity outward. Collections are visited in reference order; each is
 * queried by its identity fields (with the subject's normalized values) and by the target column of every reference
 * into it (with the values the source rows held), in batches, on indexed columns only. Rows are deduplicated by
 * primary key and yielded as they stream in; only the values later references need are kept.
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

export async function* traverse(
  session: SqlSession,
  dialect: SqlDialect,
  plan: Plan,
  subject: SubjectIdentity,
  options: { lock?: boolean } = {},
): AsyncGenerator<Visited> {
  /** Per reference (by index): the distinct values of its `from` field among the rows visited so far. */
  const values = new Map<number, Map<string, unknown>>();
  const lock = options.lock ? dialect.lockForUpdate : "";

  for (const c of plan.order) {
    const seen = new Set<string>();
    const cols = selectColumns(c);
    const select = `select ${cols.map(dialect.ident).join(", ")} from ${dialect.table(c.table)}`;
    const outgoing = plan.outgoing.get(c.name)!;

    const identities = identityPredicates(c, subject);
    const sources = plan.incoming.get(c.name)!.filter((r) => (values.get(r.index)?.size ?? 0) > 0);
    // One statement returns each row once: deduplication (a set of every key, the memory a subject with millions of
    // rows would need) is only for a collection reached by more than one query.
    const dedupe = identities.length + sources.reduce((n, r) => n + Math.ceil(values.get(r.index)!.size / BATCH), 0) > 1;

    const visit = (row: Row, identity: boolean): Visited | undefined => {
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

    for (const { field, value } of identities) {
      const params: unknown[] = [];
      const col = field.match === "lower" ? dialect.lower(dialect.ident(field.name)) : dialect.ident(field.name);
      const text = `${select} where ${col} = ${dialect.param(params, value)}${lock}`;
      for await (const row of session.stream(text, params)) {
        const v = visit(row, true);
        if (v) yield v;
      }
    }
    for (const r of sources) {
      for (const batch of chunks([...values.get(r.index)!.values()], BATCH)) {
        const params: unknown[] = [];
        const text = `${select} where ${dialect.inList(dialect.ident(r.to.field), batch, params)}${lock}`;
        for await (const row of session.stream(text, params)) {
          const v = visit(row, false);
          if (v) yield v;
        }
      }
    }
  }
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
