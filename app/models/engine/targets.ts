/**
 * What a correction or an opt-out writes in a store, from its data map alone (no database): per collection, the
 * fields marked with a corrected subject attribute (`subjectAttribute`) or with a preference of the requested kinds
 * (`optOut`), and the normalized value each gets. Shared by the SQL engine, the HTTP connector (which sends only what
 * the map says the service holds) and the manual connector (which turns it into a task). docs/data-map.md,
 * "Corrections and opt-outs".
 */
import type { CorrectionValues, ManualTask } from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import {
  OPT_OUT_NOW,
  normalizeIdentityEmail,
  normalizePhone,
  subjectAttributes,
  type DataMap,
  type OptOutKind,
  type SubjectAttribute,
  type SubjectIdentity,
} from "#app/models/data-map.ts";

/** One field to set: its value, or `now` semantics (`onlyIfEmpty`: the first opt-out's time stays). */
export type FieldTarget = { field: string; value: unknown; onlyIfEmpty: boolean };

export type UpdateTargets = {
  /** Attributes or preference kinds the store holds among those requested (names only). */
  names: string[];
  /** Collections with at least one field to set. */
  collections: Map<string, FieldTarget[]>;
};

/**
 * A corrected value in the form the stores keep it: emails trimmed and lower-cased (NFKC), phone numbers E.164 (the
 * map's default calling code for national numbers), anything else trimmed (NFC). Undefined: not a valid value.
 */
export function normalizeCorrectionValue(attribute: SubjectAttribute, value: string, defaultCallingCode?: string): string | undefined {
  if (attribute === "email") return normalizeIdentityEmail(value);
  if (attribute === "phone") return normalizePhone(value, defaultCallingCode);
  const v = value.normalize("NFC").trim();
  return v.length > 0 && v.length <= 500 ? v : undefined;
}

/** Only the attributes that are subject attributes and non-empty; normalized for this map. Throws for a bad value. */
export function normalizeCorrectionValues(values: CorrectionValues, map?: Pick<DataMap, "normalization">): CorrectionValues {
  const out: CorrectionValues = {};
  for (const attribute of subjectAttributes) {
    const raw = values[attribute];
    if (raw === undefined || raw === "") continue;
    const v = normalizeCorrectionValue(attribute, raw, map?.normalization.defaultCallingCode);
    if (v === undefined) throw new StoreError("invalid_value", `the confirmed ${attribute.replace("_", " ")} is not a valid value for this store`);
    out[attribute] = v;
  }
  return out;
}

export function correctionTargets(map: DataMap, values: CorrectionValues): UpdateTargets {
  const normalized = normalizeCorrectionValues(values, map);
  const names = new Set<string>();
  const collections = new Map<string, FieldTarget[]>();
  for (const c of Object.values(map.collections)) {
    const fields: FieldTarget[] = [];
    for (const f of Object.values(c.fields)) {
      const value = f.subjectAttribute ? normalized[f.subjectAttribute] : undefined;
      if (value === undefined || f.structural) continue;
      fields.push({ field: f.name, value, onlyIfEmpty: false });
      names.add(f.subjectAttribute!);
    }
    if (fields.length > 0) collections.set(c.name, fields);
  }
  return { names: subjectAttributes.filter((a) => names.has(a)), collections };
}

export function optOutTargets(map: DataMap, kinds: readonly OptOutKind[], now: Date): UpdateTargets {
  const names = new Set<string>();
  const collections = new Map<string, FieldTarget[]>();
  for (const c of Object.values(map.collections)) {
    const fields: FieldTarget[] = [];
    for (const f of Object.values(c.fields)) {
      if (!f.optOut || !kinds.includes(f.optOut.kind) || f.structural) continue;
      const isNow = f.optOut.set === OPT_OUT_NOW;
      fields.push({ field: f.name, value: isNow ? now : f.optOut.set, onlyIfEmpty: isNow });
      names.add(f.optOut.kind);
    }
    if (fields.length > 0) collections.set(c.name, fields);
  }
  return { names: kinds.filter((k) => names.has(k)), collections };
}

/** The new identity values a correction gives (normalized), where they differ from the subject's: to find rows already corrected. */
export function correctedIdentity(subject: SubjectIdentity, values: CorrectionValues): SubjectIdentity {
  const out: SubjectIdentity = {};
  if (values.email && values.email !== subject.email) out.email = values.email;
  if (values.phone && values.phone !== subject.phone) out.phone = values.phone;
  return out;
}

const attributeLabel = (name: string) => name.replaceAll("_", " ");

/**
 * The task for a person when the portal cannot do it: a manual store (its own instructions first), or a map that
 * marks no field for what was asked. Names attributes and kinds only: the values are on the request's correction page.
 */
export function updateTask(store: string, map: DataMap, action: "correction" | "opt_out", asked: readonly string[]): ManualTask {
  const what =
    action === "correction"
      ? `Correct the subject's ${asked.map(attributeLabel).join(", ")} to the values confirmed on the request's correction page`
      : `Apply the subject's ${asked.map((k) => (k === "sale_sharing" ? "opt-out of sale and sharing" : k === "sensitive_limit" ? "limit on the use of sensitive data" : "withdrawal of marketing consent")).join(", ")}`;
  const manual = map.kind === "manual" ? map.connection : undefined;
  const instructions = manual
    ? `${manual.instructions}\n\n${what}, then record how many records you changed.`
    : `The data map of "${store}" marks no field for this (${asked.map(attributeLabel).join(", ")}). Check whether the store holds it; if it does, ${what.charAt(0).toLowerCase()}${what.slice(1)} by hand, record how many records you changed, and add the marker to the map.`;
  return { store, action, instructions, ...(manual?.team ? { team: manual.team } : {}) };
}
