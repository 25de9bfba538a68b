/**
 * The traversal plan of a database map: collections in reference order (every reference's source before its
 * target), the references into and out of each collection, the deletion order (foreign-key holders first) and the
 * columns the engine queries (which must be indexed).
 */
import type { CollectionDef, DatabaseDataMap, ReferenceDef, SubjectIdentity } from "#app/models/data-map.ts";

export type Plan = {
  map: DatabaseDataMap;
  /** Collections, each after every collection that references into it. */
  order: CollectionDef[];
  incoming: Map<string, ReferenceDef[]>;
  outgoing: Map<string, ReferenceDef[]>;
  /** References into a collection whose `from` side holds the foreign key: the target is a parent, maybe shared. */
  parentRefs: Map<string, ReferenceDef[]>;
  /** Collections in deletion order: a collection holding a foreign key before the one it references. */
  deleteOrder: string[];
  /**
   * `order` in levels: a collection's level is one more than the highest level among the collections referencing
   * into it (0 when none do), so the rows a level needs are all known once the levels before it were read.
   */
  levels: CollectionDef[][];
};

export type QueriedColumn = { collection: string; column: string; lower: boolean; why: string };

function topo(names: string[], edges: [string, string][]): string[] {
  const indegree = new Map(names.map((n) => [n, 0]));
  const out = new Map(names.map((n) => [n, [] as string[]]));
  for (const [a, b] of edges) {
    out.get(a)!.push(b);
    indegree.set(b, indegree.get(b)! + 1);
  }
  const ready = names.filter((n) => indegree.get(n) === 0);
  const result: string[] = [];
  while (ready.length > 0) {
    const n = ready.shift()!;
    result.push(n);
    for (const m of out.get(n)!) {
      indegree.set(m, indegree.get(m)! - 1);
      if (indegree.get(m) === 0) ready.push(m);
    }
  }
  if (result.length !== names.length) throw new Error("references form a cycle (the data map validator should have refused it)");
  return result;
}

export function buildPlan(map: DatabaseDataMap): Plan {
  const names = Object.keys(map.collections);
  const incoming = new Map(names.map((n) => [n, [] as ReferenceDef[]]));
  const outgoing = new Map(names.map((n) => [n, [] as ReferenceDef[]]));
  const parentRefs = new Map(names.map((n) => [n, [] as ReferenceDef[]]));
  for (const r of map.references) {
    incoming.get(r.to.collection)!.push(r);
    outgoing.get(r.from.collection)!.push(r);
    if (r.foreignKey === "from") parentRefs.get(r.to.collection)!.push(r);
  }
  const order = topo(names, map.references.map((r) => [r.from.collection, r.to.collection])).map((n) => map.collections[n]!);
  const fkEdges = map.references
    .filter((r) => r.foreignKey !== "none")
    .map((r) => (r.foreignKey === "from" ? [r.from.collection, r.to.collection] : [r.to.collection, r.from.collection]) as [string, string]);
  const levelOf = new Map<string, number>();
  const levels: CollectionDef[][] = [];
  for (const c of order) {
    const level = Math.max(-1, ...incoming.get(c.name)!.map((r) => levelOf.get(r.from.collection)!)) + 1;
    levelOf.set(c.name, level);
    (levels[level] ??= []).push(c);
  }
  return { map, order, incoming, outgoing, parentRefs, deleteOrder: topo(names, fkEdges), levels };
}

/** Identity fields of a collection usable for this subject. */
export function identityPredicates(c: CollectionDef, subject: SubjectIdentity) {
  return Object.values(c.fields)
    .filter((f) => f.identity && subject[f.identity])
    .map((f) => ({ field: f, value: subject[f.identity!]! }));
}

/** Every column the engine filters on: identity fields, reference targets, and the foreign-key side of parents. */
export function queriedColumns(plan: Plan): QueriedColumn[] {
  const seen = new Map<string, QueriedColumn>();
  const add = (q: QueriedColumn) => {
    const k = `${q.collection}.${q.column}.${q.lower}`;
    if (!seen.has(k)) seen.set(k, q);
  };
  for (const c of plan.order) {
    for (const f of Object.values(c.fields)) {
      if (f.identity) add({ collection: c.name, column: f.name, lower: f.match === "lower", why: `identity (${f.identity})` });
    }
    for (const r of plan.incoming.get(c.name)!) {
      add({ collection: c.name, column: r.to.field, lower: false, why: `reference from ${r.from.collection}.${r.from.field}` });
    }
    for (const r of plan.parentRefs.get(c.name)!) {
      add({ collection: r.from.collection, column: r.from.field, lower: false, why: `checking who else references ${c.name}` });
    }
  }
  return [...seen.values()];
}
