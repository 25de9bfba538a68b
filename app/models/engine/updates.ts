/**
 * Corrections and opt-outs in a SQL store, inside the caller's (read-write) transaction. Which rows are the
 * subject's own is decided exactly as for an erasure (`planErasure`, ADR 009: reached from the identity through the
 * declared references and not shared with anyone else), with the rows locked; only those rows are written, only the
 * target fields, and only where the value differs. Shared rows are counted and left alone.
 *
 * A correction that changes an identity (email, phone) is looked up twice: by the subject's current identity (the
 * rows to write) and by the corrected one (rows a previous run already corrected — the store committed, the portal
 * did not record it). A row found only the second way is never written; it is counted when it already holds every
 * corrected value, so running the same correction again reports the same counts.
 */
import type { CollectionUpdateCounts, UpdateReport } from "#app/connectors/types.ts";
import type { SubjectIdentity } from "#app/models/data-map.ts";
import { planErasure } from "./erasure.ts";
import type { Plan } from "./plan.ts";
import type { Row, SqlDialect, SqlSession } from "./sql.ts";
import type { FieldTarget, UpdateTargets } from "./targets.ts";
import { BATCH, chunks, keyPredicate } from "./traverse.ts";
import { keyOf, sameValue } from "./values.ts";

const holds = (row: Row, t: FieldTarget) => (t.onlyIfEmpty ? row[t.field] !== null && row[t.field] !== undefined : sameValue(row[t.field], t.value));

export async function applyUpdates(
  session: SqlSession,
  dialect: SqlDialect,
  plan: Plan,
  input: { store: string; action: UpdateReport["action"]; subject: SubjectIdentity; corrected?: SubjectIdentity; targets: UpdateTargets; hashKey: Buffer },
): Promise<UpdateReport> {
  const { targets } = input;
  const collections: Record<string, CollectionUpdateCounts> = {};
  const seen = new Set<string>();
  const writes = new Map<string, Map<string, { set: Record<string, unknown>; rows: Row[] }>>();

  const current = await planErasure(session, dialect, plan, input.subject, input.hashKey, { lock: true });
  for (const c of plan.order) {
    const fields = targets.collections.get(c.name);
    if (!fields) continue;
    const counts = (collections[c.name] = { matched: 0, applied: 0, shared: 0 });
    const groups = new Map<string, { set: Record<string, unknown>; rows: Row[] }>();
    writes.set(c.name, groups);
    for (const r of current.rows.get(c.name)!.values()) {
      seen.add(`${c.name}\u0000${r.key}`);
      counts.matched += 1;
      if (!r.owned) {
        counts.shared += 1;
        continue;
      }
      counts.applied += 1;
      const set: Record<string, unknown> = {};
      for (const t of fields) if (!holds(r.values, t)) set[t.field] = t.value;
      if (Object.keys(set).length === 0) continue;
      const id = keyOf(Object.keys(set).sort());
      const g = groups.get(id);
      if (g) g.rows.push(r.values);
      else groups.set(id, { set, rows: [r.values] });
    }
  }

  if (input.corrected && Object.keys(input.corrected).length > 0) {
    const already = await planErasure(session, dialect, plan, input.corrected, input.hashKey, { lock: true });
    for (const c of plan.order) {
      const fields = targets.collections.get(c.name);
      if (!fields) continue;
      const counts = collections[c.name]!;
      for (const r of already.rows.get(c.name)!.values()) {
        if (seen.has(`${c.name}\u0000${r.key}`)) continue;
        if (!r.owned) {
          counts.matched += 1;
          counts.shared += 1;
        } else if (fields.every((t) => holds(r.values, t))) {
          counts.matched += 1;
          counts.applied += 1;
        }
      }
    }
  }

  for (const c of plan.order) {
    for (const { set, rows } of writes.get(c.name)?.values() ?? []) {
      for (const batch of chunks(rows, c.primaryKey.length === 1 ? BATCH : 200)) {
        const params: unknown[] = [];
        const assignments = Object.entries(set).map(([k, v]) => `${dialect.ident(k)} = ${dialect.param(params, v)}`);
        await session.execute(`update ${dialect.table(c.table)} set ${assignments.join(", ")} where ${keyPredicate(dialect, c, batch, params)}`, params);
      }
    }
  }

  const totals: CollectionUpdateCounts = { matched: 0, applied: 0, shared: 0 };
  for (const counts of Object.values(collections)) {
    totals.matched += counts.matched;
    totals.applied += counts.applied;
    totals.shared += counts.shared;
  }
  return { store: input.store, action: input.action, targets: targets.names, collections, totals };
}
