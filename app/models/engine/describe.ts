/**
 * Checks a database map against the store's catalog: tables and columns exist (errors), every queried column leads
 * an index (a warning with the exact CREATE INDEX), columns the map does not list, and foreign keys from unmapped
 * tables that would make a deletion cascade or fail.
 */
import type { StoreDescription, StoreProblem, StoreWarning } from "#app/connectors/types.ts";
import { queriedColumns, type Plan } from "./plan.ts";
import type { SqlDriver } from "./sql.ts";

export async function describeSql(driver: SqlDriver, plan: Plan): Promise<StoreDescription> {
  const errors: StoreProblem[] = [];
  const warnings: StoreWarning[] = [];
  const catalog = await driver.catalog(plan.order.map((c) => c.table));
  const collections: StoreDescription["collections"] = [];
  const mappedTables = new Set<string>();

  for (const c of plan.order) {
    const cat = catalog.get(c.table);
    if (!cat?.exists) {
      errors.push({ path: `collections.${c.name}`, message: `table "${c.table}" not found (or the portal's account cannot see it)` });
      collections.push({ name: c.name, table: c.table });
      continue;
    }
    mappedTables.add(cat.canonical ?? c.table);
    collections.push({ name: c.name, table: cat.canonical ?? c.table, columns: cat.columns });
    for (const f of Object.keys(c.fields)) {
      if (!cat.columns.includes(f)) errors.push({ path: `collections.${c.name}.fields.${f}`, message: `column "${f}" not found in table "${c.table}"` });
    }
    const unmapped = cat.columns.filter((col) => !(col in c.fields));
    if (unmapped.length > 0) {
      warnings.push({
        code: "unmapped_columns",
        collection: c.name,
        message: `${c.name}: columns not in the map (never exported or erased): ${unmapped.join(", ")} — list any that hold personal data`,
      });
    }
    const lead = c.primaryKey[0]!;
    if (cat.columns.includes(lead) && !cat.indexed.has(lead)) {
      warnings.push({
        code: "missing_index",
        collection: c.name,
        column: lead,
        message: `${c.name}.${lead} (primary key) is used to update and delete rows but leads no index`,
        fix: driver.dialect.createIndex(cat.canonical ?? c.table, lead, false),
      });
    }
  }

  for (const q of queriedColumns(plan)) {
    const c = plan.map.collections[q.collection]!;
    const cat = catalog.get(c.table);
    if (!cat?.exists || !cat.columns.includes(q.column)) continue;
    const ok = q.lower ? cat.lowerIndexed.has(q.column) : cat.indexed.has(q.column);
    if (ok) continue;
    warnings.push({
      code: "missing_index",
      collection: q.collection,
      column: q.column,
      message: `${q.collection}.${q.column} is queried for every request (${q.why}) but has no index${q.lower ? " on lower()" : ""}`,
      fix: driver.dialect.createIndex(cat.canonical ?? c.table, q.column, q.lower),
    });
  }

  for (const c of plan.order) {
    const cat = catalog.get(c.table);
    if (!cat?.exists) continue;
    for (const fk of cat.referencedBy) {
      if (mappedTables.has(fk.table)) continue;
      const changes = fk.onDelete === "cascade" ? "delete" : fk.onDelete === "set null" || fk.onDelete === "set default" ? "change" : undefined;
      warnings.push({
        code: changes ? "undeclared_cascade" : "undeclared_reference",
        collection: c.name,
        message: changes
          ? `deleting rows of ${c.name} would also ${changes} rows of ${fk.table} (${fk.columns.join(", ")}), which the map does not list: map that table or change the foreign key`
          : `${fk.table} (${fk.columns.join(", ")}) references ${c.name} but is not in the map: deleting a referenced row fails and the store's erasure is rolled back`,
      });
    }
  }
  return { ok: errors.length === 0, errors, warnings, collections };
}
