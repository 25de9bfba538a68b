/**
 * The data map of a connected store: what kind of system it is and how to reach it, which collections (tables,
 * resources) hold personal data, which fields identify the data subject, how collections reference each other, the
 * data category of every field, what erasure does to it, and the store's Art. 15 metadata. Format and semantics:
 * docs/data-map.md. Written in YAML or JSON; validated here with zod, and every problem names its path
 * (`collections.orders.fields.total.erasure: …`).
 *
 * Pure module (no DB, no env): routes, jobs, the CLI and the connectors all use it.
 */
import YAML from "yaml";
import { z } from "zod";

export const storeKinds = ["postgres", "mysql", "http", "manual"] as const;
export type StoreKind = (typeof storeKinds)[number];

export const identityKinds = ["email", "phone", "accountId"] as const;
export type IdentityKind = (typeof identityKinds)[number];

export const dataCategories = [
  "identifiers",
  "contact",
  "payment",
  "credentials",
  "commercial",
  "behaviour",
  "location",
  "device",
  "communications",
  "preferences",
  "demographic",
  "sensitive",
  "other",
] as const;
export type DataCategory = (typeof dataCategories)[number];

/**
 * What a field holds about the subject, so a confirmed correction updates it wherever it lives. `name` is a full
 * name in one column; `given_name`/`family_name` its parts. `postal_address` is a whole address in one column (or
 * its first line); `street`, `city`, `postcode`, `country` are the parts of an address kept in separate columns.
 */
export const subjectAttributes = ["name", "given_name", "family_name", "email", "phone", "postal_address", "street", "city", "postcode", "country"] as const;
export type SubjectAttribute = (typeof subjectAttributes)[number];

/**
 * Preferences a request sets: `sale_sharing` (CCPA/CPRA opt-out of sale or sharing), `sensitive_limit` (limit the use
 * of sensitive personal information), `marketing_consent` (consent to direct marketing, withdrawn by an opt-out).
 */
export const optOutKinds = ["sale_sharing", "sensitive_limit", "marketing_consent"] as const;
export type OptOutKind = (typeof optOutKinds)[number];

/** The value an opt-out writes: a fixed value, or `now` (the time of the first opt-out; kept when already set). */
export type OptOutValue = string | number | boolean | null;
export type OptOutMarker = { kind: OptOutKind; set: OptOutValue };
/** `set: now` writes the current time, only into a field that is still empty. */
export const OPT_OUT_NOW = "now";

export const erasureActions = ["delete", "null", "mask", "hash", "keep"] as const;
export type ErasureActionName = (typeof erasureActions)[number];

export type ErasureAction =
  | { action: "delete" }
  | { action: "null" }
  | { action: "hash" }
  | { action: "mask"; value: string | number | boolean | null }
  | { action: "keep"; basis: string };

// ---------------------------------------------------------------------------------------------------------------
// Schema

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
const ENV_REF = /^env:[A-Za-z_][A-Za-z0-9_]*$/;
/** The placeholder a stored map carries where a literal secret was moved into the encrypted column. */
export const STORED_SECRET = "stored";

const text = (max = 500) => z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);
const enumOf = <T extends readonly [string, ...string[]]>(values: T, what: string) =>
  z.enum(values, { error: () => `${what} must be one of: ${values.join(", ")}` });

/** `env:NAME` (read from the environment when connecting), `stored` (kept encrypted by the portal) or a literal. */
const secretRef = z
  .string({ error: () => "must be a string: env:NAME, or the value itself (stored encrypted by `stores:apply`)" })
  .min(1, "must not be empty");
/** A non-secret setting that may also come from the environment (`env:NAME`) or, for certificates, a file. */
const valueRef = z.string().min(1, "must not be empty");

const erasureAction = z.preprocess(
  (v) => (typeof v === "string" ? { action: v } : v),
  z.discriminatedUnion(
    "action",
    [
      z.object({ action: z.literal("delete") }).strict(),
      z.object({ action: z.literal("null") }).strict(),
      z.object({ action: z.literal("hash") }).strict(),
      z
        .object({
          action: z.literal("mask"),
          value: z.union([z.string(), z.number(), z.boolean(), z.null()], {
            error: () => "mask needs a fixed `value` (string, number, boolean or null)",
          }),
        })
        .strict(),
      z.object({ action: z.literal("keep"), basis: text(300).min(3, "keep needs a legal `basis` shown to the customer") }).strict(),
    ],
    {
      error: (iss) =>
        (iss.code as string) === "invalid_type"
          ? "must be an erasure action: delete, null, hash, { action: mask, value } or { action: keep, basis }"
          : `action must be one of: ${erasureActions.join(", ")}`,
    },
  ),
) as z.ZodType<ErasureAction>;

const fieldSchema = z.preprocess(
  (v) => v ?? {},
  z
    .object({
      description: text().optional(),
      category: enumOf(dataCategories, "category").optional(),
      identity: enumOf(identityKinds, "identity").optional(),
      /** How the column stores the identity: `exact` (already normalized) or `lower` (compare lower(column)). */
      match: z.enum(["exact", "lower"], { error: () => "match must be exact or lower" }).optional(),
      subjectAttribute: enumOf(subjectAttributes, "subjectAttribute").optional(),
      erasure: erasureAction.optional(),
      /** Set when a request of this kind is executed: `{ kind: sale_sharing, set: true }`. */
      optOut: z
        .object({
          kind: enumOf(optOutKinds, "optOut.kind"),
          set: z.union([z.string(), z.number(), z.boolean(), z.null()], {
            error: () => "optOut needs the value to `set` (true, false, a number, a string, null or now)",
          }),
        }, { error: () => "optOut must be { kind, set }, e.g. { kind: sale_sharing, set: true }" })
        .strict()
        .optional(),
      /** `omit`: never exported in an access package (e.g. password hashes); its existence is still disclosed. */
      access: z.enum(["include", "omit"], { error: () => "access must be include or omit" }).default("include"),
    })
    .strict(),
);

const collectionSchema = z
  .object({
    description: text().optional(),
    /** Table (optionally `schema.table`) or resource name; defaults to the collection's key. */
    table: z.string().regex(TABLE, "must be a table name, optionally schema-qualified (schema.table)").optional(),
    primaryKey: z
      .union([z.string(), z.array(z.string()).min(1)], { error: () => "primaryKey must be a field name or a list of them" })
      .default("id")
      .transform((v) => (Array.isArray(v) ? v : [v])),
    category: enumOf(dataCategories, "category").optional(),
    erasure: erasureAction.optional(),
    purposes: z.array(text()).optional(),
    retention: text().optional(),
    optOutField: z.string().optional(),
    consentField: z.string().optional(),
    fields: z.record(z.string().regex(IDENT, "field names must be plain column names"), fieldSchema, {
      error: () => "fields must map column names to field settings",
    }),
  })
  .strict();

const referenceSchema = z
  .object({
    from: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_$]*$/, "must be collection.field"),
    to: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_$]*$/, "must be collection.field"),
    /** Which side's column is the foreign key; inferred from the primary keys when omitted. */
    foreignKey: z.enum(["from", "to", "none"], { error: () => "foreignKey must be from, to or none" }).optional(),
  })
  .strict();

const metadataSchema = z
  .object({
    purposes: z.array(text(), { error: () => "purposes must be a list" }).min(1, "name at least one purpose"),
    legalBasis: z.array(text()).optional(),
    recipients: z.array(text()).default([]),
    retention: text(),
    source: text(),
    transfers: text().optional(),
    automatedDecisions: text().optional(),
  })
  .strict();

const dbTls = z
  .object({
    mode: z.enum(["disable", "require", "verify-full"], { error: () => "mode must be disable, require or verify-full" }).default("verify-full"),
    /** CA certificate (PEM): `env:NAME`, `file:/path/ca.pem`, or the PEM itself. */
    ca: valueRef.optional(),
  })
  .strict()
  .default({ mode: "verify-full" });

const dbConnection = z
  .object({
    url: secretRef,
    password: secretRef.optional(),
    tls: dbTls,
    poolSize: z.number().int().min(1).max(20).default(2),
    statementTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  })
  .strict();

const httpConnection = z
  .object({
    baseUrl: valueRef,
    secret: secretRef,
    timeoutMs: z.number().int().min(100).max(300_000).default(15_000),
    maxRetries: z.number().int().min(0).max(10).default(3),
    /** A Retry-After longer than this is not waited for inline: the run is retried later instead. */
    maxRetryWaitMs: z.number().int().min(0).max(600_000).default(30_000),
    /**
     * The service may answer erasure, correction and opt-out with 202 and a reference, and post the result later to
     * the portal's signed callback (`<APP_URL>/api/stores/callback`, docs/connectors.md). Off: answers are synchronous.
     */
    callbacks: z.boolean({ error: () => "callbacks must be true or false" }).default(false),
    tls: z
      .object({ ca: valueRef.optional(), allowHttp: z.boolean().default(false) })
      .strict()
      .default({ allowHttp: false }),
  })
  .strict();

const manualConnection = z
  .object({
    instructions: text(4000),
    team: text(200).optional(),
  })
  .strict();

const common = {
  version: z.literal(1, { error: () => "version must be 1" }).default(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 lower-case letters, digits, - or _"),
  title: text(200).optional(),
  description: text(2000).optional(),
  metadata: metadataSchema,
  normalization: z
    .object({ defaultCallingCode: z.string().regex(/^\+?[1-9]\d{0,3}$/, "must be a calling code like +44").optional() })
    .strict()
    .default({}),
  collections: z.record(z.string().regex(IDENT, "collection names must be plain identifiers"), collectionSchema).default({}),
  references: z.array(referenceSchema).default([]),
};

const rawDataMapSchema = z.discriminatedUnion(
  "kind",
  [
    z.object({ ...common, kind: z.literal("postgres"), connection: dbConnection }).strict(),
    z.object({ ...common, kind: z.literal("mysql"), connection: dbConnection }).strict(),
    z.object({ ...common, kind: z.literal("http"), connection: httpConnection }).strict(),
    z.object({ ...common, kind: z.literal("manual"), connection: manualConnection }).strict(),
  ],
  { error: (iss) => ((iss.code as string) === "invalid_type" ? "a data map must be an object" : `kind must be one of: ${storeKinds.join(", ")}`) },
);

type Raw = z.infer<typeof rawDataMapSchema>;

// ---------------------------------------------------------------------------------------------------------------
// The validated, resolved map

export type FieldDef = {
  name: string;
  description?: string;
  category: DataCategory;
  identity?: IdentityKind;
  match: "exact" | "lower";
  subjectAttribute?: SubjectAttribute;
  /** The preference this field records and the value an opt-out of that kind sets. */
  optOut?: OptOutMarker;
  /** The field's own action, or the collection's, or `delete` (the row goes when nothing keeps it). */
  erasure: ErasureAction;
  /** The action came from the field itself (not inherited from the collection). */
  explicitErasure: boolean;
  access: "include" | "omit";
  /** Part of the primary key or of a reference: never rewritten (null/mask/hash do not apply). */
  structural: boolean;
};

export type CollectionDef = {
  name: string;
  table: string;
  description?: string;
  primaryKey: string[];
  /** The collection's row action: `delete` or `keep` decide the row; null/mask/hash keep it and rewrite fields. */
  erasure: ErasureAction;
  purposes?: string[];
  retention?: string;
  optOutField?: string;
  consentField?: string;
  fields: Record<string, FieldDef>;
};

export type ReferenceDef = {
  from: { collection: string; field: string };
  to: { collection: string; field: string };
  /** Which side holds the foreign key column: `from` (the target is the parent), `to` (target rows are children), `none`. */
  foreignKey: "from" | "to" | "none";
  index: number;
};

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type DataMap = DistributiveOmit<Raw, "collections" | "references"> & {
  collections: Record<string, CollectionDef>;
  references: ReferenceDef[];
};
export type PostgresDataMap = Extract<DataMap, { kind: "postgres" }>;
export type MysqlDataMap = Extract<DataMap, { kind: "mysql" }>;
export type HttpDataMap = Extract<DataMap, { kind: "http" }>;
export type ManualDataMap = Extract<DataMap, { kind: "manual" }>;
export type DatabaseDataMap = PostgresDataMap | MysqlDataMap;

export type DataMapIssue = { path: string; message: string };

export class DataMapError extends Error {
  constructor(public readonly issues: DataMapIssue[]) {
    super(`Invalid data map:\n${issues.map((i) => `  ${i.path || "(root)"}: ${i.message}`).join("\n")}`);
    this.name = "DataMapError";
  }
}

const pathOf = (path: readonly PropertyKey[]) => path.map(String).join(".");

/** Parses YAML or JSON text (JSON is YAML) into a plain object; syntax errors name the line. */
export function parseDataMapText(source: string): unknown {
  const doc = YAML.parseDocument(source, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new DataMapError(
      doc.errors.map((e) => ({ path: "", message: `line ${source.slice(0, e.pos[0]).split("\n").length}: ${e.message.split("\n")[0]}` })),
    );
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/** Validates a parsed map (an object as written by a person, or as stored) and resolves the defaults. */
export function validateDataMap(input: unknown): DataMap {
  const parsed = rawDataMapSchema.safeParse(input);
  if (!parsed.success) {
    throw new DataMapError(parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message })));
  }
  const issues: DataMapIssue[] = [];
  const map = resolve(parsed.data, issues);
  if (issues.length > 0) throw new DataMapError(issues);
  return map;
}

/** parseDataMapText + validateDataMap. */
export function loadDataMap(source: string): DataMap {
  return validateDataMap(parseDataMapText(source));
}

export function isDatabaseMap(map: DataMap): map is DatabaseDataMap {
  return map.kind === "postgres" || map.kind === "mysql";
}

function splitRef(ref: string) {
  const dot = ref.indexOf(".");
  return { collection: ref.slice(0, dot), field: ref.slice(dot + 1) };
}

function resolve(raw: Raw, issues: DataMapIssue[]): DataMap {
  const add = (path: string, message: string) => issues.push({ path, message });
  const isDb = raw.kind === "postgres" || raw.kind === "mysql";

  if (isDb) {
    const url = raw.connection.url;
    if (!ENV_REF.test(url) && url !== STORED_SECRET) {
      const protocols = raw.kind === "postgres" ? ["postgres:", "postgresql:"] : ["mysql:", "mariadb:"];
      let ok = false;
      try {
        ok = protocols.includes(new URL(url).protocol);
      } catch {}
      if (!ok) add("connection.url", `must be env:NAME or a ${protocols.map((p) => p + "//…").join(" / ")} URL`);
    }
  }
  if (raw.kind === "http") {
    const base = raw.connection.baseUrl;
    if (!ENV_REF.test(base)) {
      const problem = httpBaseUrlProblem(base, raw.connection.tls.allowHttp);
      if (problem) add("connection.baseUrl", problem);
    }
    const secret = raw.connection.secret;
    if (!ENV_REF.test(secret) && secret !== STORED_SECRET && secret.length < 32) add("connection.secret", "must be at least 32 characters");
  }

  // References first (fields use them to know which columns are structural).
  const references: ReferenceDef[] = [];
  raw.references.forEach((r, index) => {
    const from = splitRef(r.from);
    const to = splitRef(r.to);
    let ok = true;
    for (const [side, ref] of [["from", from], ["to", to]] as const) {
      const c = raw.collections[ref.collection];
      if (!c) {
        add(`references.${index}.${side}`, `unknown collection "${ref.collection}"`);
        ok = false;
      } else if (!(ref.field in c.fields)) {
        add(`references.${index}.${side}`, `unknown field "${ref.field}" of collection "${ref.collection}" (list it under fields)`);
        ok = false;
      }
    }
    if (!ok) return;
    if (from.collection === to.collection) {
      add(`references.${index}`, "a reference must join two different collections");
      return;
    }
    const pkOf = (name: string) => raw.collections[name]!.primaryKey;
    const isKey = (ref: { collection: string; field: string }) => {
      const pk = pkOf(ref.collection);
      return pk.length === 1 && pk[0] === ref.field;
    };
    const foreignKey = r.foreignKey ?? (isKey(to) ? "from" : isKey(from) ? "to" : "none");
    references.push({ from, to, foreignKey, index });
  });

  const structuralCols = new Set<string>();
  for (const r of references) {
    structuralCols.add(`${r.from.collection}.${r.from.field}`);
    structuralCols.add(`${r.to.collection}.${r.to.field}`);
  }

  const collections: Record<string, CollectionDef> = {};
  let identityFields = 0;
  for (const [cname, c] of Object.entries(raw.collections)) {
    const base = `collections.${cname}`;
    if (Object.keys(c.fields).length === 0) add(`${base}.fields`, "list at least one field");
    for (const [i, pk] of c.primaryKey.entries()) {
      if (!(pk in c.fields)) add(`${base}.primaryKey${c.primaryKey.length > 1 ? `.${i}` : ""}`, `"${pk}" is not listed under fields`);
      structuralCols.add(`${cname}.${pk}`);
    }
    // The older collection-level markers, kept working: optOutField sets `true` on a sale/sharing opt-out,
    // consentField `false` on withdrawing marketing consent.
    const legacyMarkers = new Map<string, OptOutMarker>();
    for (const marker of ["optOutField", "consentField"] as const) {
      const f = c[marker];
      if (f !== undefined && !(f in c.fields)) add(`${base}.${marker}`, `"${f}" is not listed under fields`);
      else if (f !== undefined && c.fields[f]?.optOut) add(`${base}.${marker}`, `"${f}" has its own optOut marker: keep one of the two`);
      else if (f !== undefined) legacyMarkers.set(f, marker === "optOutField" ? { kind: "sale_sharing", set: true } : { kind: "marketing_consent", set: false });
    }
    const rowAction: ErasureAction = c.erasure ?? { action: "delete" };
    if (isDb && c.erasure === undefined) {
      add(`${base}.erasure`, "required: what erasure does to the rows (delete, keep with a basis, or null/mask/hash of fields)");
    }
    const fields: Record<string, FieldDef> = {};
    for (const [fname, f] of Object.entries(c.fields)) {
      const fpath = `${base}.fields.${fname}`;
      const category = f.category ?? c.category;
      if (!category) add(`${fpath}.category`, "required (or set a default category on the collection)");
      const structural = structuralCols.has(`${cname}.${fname}`);
      const explicit = f.erasure !== undefined;
      let erasure: ErasureAction = f.erasure ?? rowAction;
      if (structural) {
        if (explicit && !["delete", "keep"].includes(erasure.action)) {
          add(`${fpath}.erasure`, `${erasure.action} is not allowed on a primary key or reference column (use delete or keep)`);
        }
        if (!explicit && !["delete", "keep"].includes(erasure.action)) erasure = { action: "delete" };
      }
      if (f.identity) identityFields += 1;
      if (f.match === "lower" && f.identity !== "email") add(`${fpath}.match`, "match: lower applies to email identity fields only");
      if (f.match === "lower" && raw.kind === "mysql") {
        add(`${fpath}.match`, "not supported on MySQL/MariaDB: use a case-insensitive collation (the default) and match: exact");
      }
      const optOut = f.optOut ?? legacyMarkers.get(fname);
      if (f.optOut && (structural || f.identity)) {
        add(`${fpath}.optOut`, "not allowed on a primary key, reference or identity column (an opt-out only sets a preference)");
      }
      if (f.subjectAttribute && structural) {
        add(`${fpath}.subjectAttribute`, "not allowed on a primary key or reference column (a correction would break the link between records)");
      }
      if (f.subjectAttribute && optOut) add(`${fpath}.optOut`, "a field holds either a subject attribute or a preference, not both");
      fields[fname] = {
        name: fname,
        ...(f.description ? { description: f.description } : {}),
        category: (category ?? "other") as DataCategory,
        ...(f.identity ? { identity: f.identity } : {}),
        match: f.match ?? "exact",
        ...(f.subjectAttribute ? { subjectAttribute: f.subjectAttribute } : {}),
        ...(optOut ? { optOut } : {}),
        erasure,
        explicitErasure: explicit,
        access: f.access,
        structural,
      };
    }
    collections[cname] = {
      name: cname,
      table: c.table ?? cname,
      ...(c.description ? { description: c.description } : {}),
      primaryKey: c.primaryKey,
      erasure: rowAction,
      ...(c.purposes ? { purposes: c.purposes } : {}),
      ...(c.retention ? { retention: c.retention } : {}),
      ...(c.optOutField ? { optOutField: c.optOutField } : {}),
      ...(c.consentField ? { consentField: c.consentField } : {}),
      fields,
    };
  }

  if (isDb) {
    if (Object.keys(raw.collections).length === 0) add("collections", "a database store needs at least one collection");
    else if (identityFields === 0) add("collections", "no field is marked as an identity (email, phone or accountId): nothing could find the subject");
  }

  if (issues.length === 0 && isDb) checkGraph(collections, references, add);

  return { ...raw, collections, references } as DataMap;
}

/** References must not form a cycle (either way), and every collection must be reachable from an identity field. */
function checkGraph(collections: Record<string, CollectionDef>, references: ReferenceDef[], add: (path: string, message: string) => void) {
  const names = Object.keys(collections);
  const cycle = (edges: [string, string][]) => {
    const out = new Map(names.map((n) => [n, [] as string[]]));
    for (const [a, b] of edges) out.get(a)!.push(b);
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (n: string): string[] | undefined => {
      if (state.get(n) === 2) return undefined;
      if (state.get(n) === 1) return [...stack.slice(stack.indexOf(n)), n];
      state.set(n, 1);
      stack.push(n);
      for (const m of out.get(n)!) {
        const c = visit(m);
        if (c) return c;
      }
      stack.pop();
      state.set(n, 2);
      return undefined;
    };
    for (const n of names) {
      const c = visit(n);
      if (c) return c;
    }
    return undefined;
  };
  const follow = cycle(references.map((r) => [r.from.collection, r.to.collection]));
  if (follow) {
    add("references", `the references form a cycle (${follow.join(" → ")}): the engine follows each reference one way only`);
    return;
  }
  // Deletion order: the foreign-key holder before the referenced row.
  const fk = cycle(
    references
      .filter((r) => r.foreignKey !== "none")
      .map((r) => (r.foreignKey === "from" ? [r.from.collection, r.to.collection] : [r.to.collection, r.from.collection]) as [string, string]),
  );
  if (fk) add("references", `the foreign keys form a cycle (${fk.join(" → ")}): no deletion order is safe`);

  const reached = new Set(names.filter((n) => Object.values(collections[n]!.fields).some((f) => f.identity)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of references) {
      if (reached.has(r.from.collection) && !reached.has(r.to.collection)) {
        reached.add(r.to.collection);
        changed = true;
      }
    }
  }
  for (const n of names) {
    if (!reached.has(n)) add(`collections.${n}`, "is not reachable: give it an identity field or a reference from a reachable collection");
  }
}

export function httpBaseUrlProblem(base: string, allowHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return "must be an https:// URL (or env:NAME)";
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && allowHttp) return undefined;
  if (url.protocol === "http:") return "must use https:// (set tls.allowHttp: true only for a service on a trusted local network)";
  return "must be an https:// URL";
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets inside the map

/** Where each kind keeps secrets in `connection`. */
export const secretKeys: Record<StoreKind, readonly string[]> = {
  postgres: ["url", "password"],
  mysql: ["url", "password"],
  http: ["secret"],
  manual: [],
};

export const isEnvRef = (v: unknown): boolean => typeof v === "string" && ENV_REF.test(v);

/**
 * Splits literal secrets out of a raw map: returns the map with each literal replaced by `stored` and the literals
 * (to be encrypted). `env:` references and `stored` placeholders are left as they are.
 */
export function extractSecrets(raw: Record<string, unknown>): { map: Record<string, unknown>; secrets: Record<string, string> } {
  const kind = raw.kind as StoreKind;
  const connection = { ...((raw.connection as Record<string, unknown> | undefined) ?? {}) };
  const secrets: Record<string, string> = {};
  for (const key of secretKeys[kind] ?? []) {
    const v = connection[key];
    if (typeof v === "string" && v !== STORED_SECRET && !isEnvRef(v)) {
      secrets[key] = v;
      connection[key] = STORED_SECRET;
    }
  }
  return { map: { ...raw, connection }, secrets };
}

// ---------------------------------------------------------------------------------------------------------------
// The subject's identity

export type SubjectIdentity = Partial<Record<IdentityKind, string>>;

/** Lower-case, trimmed, NFKC email (the same form as the portal's blind index). */
export function normalizeIdentityEmail(email: string): string | undefined {
  const v = email.normalize("NFKC").trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+$/.test(v) ? v : undefined;
}

/**
 * E.164 (`+` and 8-15 digits). Spaces, dots, dashes, slashes and brackets are dropped; `00` becomes `+`; a national
 * number (leading 0 trunk prefix) needs `defaultCallingCode`. Anything else: undefined (the kind is not used).
 */
export function normalizePhone(raw: string, defaultCallingCode?: string): string | undefined {
  let v = raw.normalize("NFKC").trim().replace(/[\s.\-/()]/g, "");
  if (v.startsWith("00")) v = `+${v.slice(2)}`;
  if (!v.startsWith("+")) {
    if (!defaultCallingCode || !/^\d+$/.test(v)) return undefined;
    v = `+${defaultCallingCode.replace(/^\+/, "")}${v.replace(/^0/, "")}`;
  }
  return /^\+[1-9]\d{7,14}$/.test(v) ? v : undefined;
}

export function normalizeAccountId(raw: string): string | undefined {
  const v = raw.normalize("NFKC").trim();
  return v.length > 0 && v.length <= 200 ? v : undefined;
}

/** The subject's identity in the normalized forms the stores are queried with; kinds that do not normalize are dropped. */
export function normalizeSubject(subject: SubjectIdentity, map?: Pick<DataMap, "normalization">): SubjectIdentity {
  const out: SubjectIdentity = {};
  if (subject.email) {
    const v = normalizeIdentityEmail(subject.email);
    if (v) out.email = v;
  }
  if (subject.phone) {
    const v = normalizePhone(subject.phone, map?.normalization.defaultCallingCode);
    if (v) out.phone = v;
  }
  if (subject.accountId) {
    const v = normalizeAccountId(subject.accountId);
    if (v) out.accountId = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// What the customer is told about a store (Art. 15(1) GDPR), for the access package's cover sheet

export type StoreDisclosure = {
  store: string;
  title?: string;
  purposes: string[];
  legalBasis: string[];
  recipients: string[];
  retention: string;
  source: string;
  transfers?: string;
  automatedDecisions?: string;
  categories: DataCategory[];
  collections: { name: string; description?: string; categories: DataCategory[]; purposes: string[]; retention: string; omittedFields: string[] }[];
};

export function storeDisclosure(map: DataMap): StoreDisclosure {
  const m = map.metadata;
  const collections = Object.values(map.collections).map((c) => ({
    name: c.name,
    ...(c.description ? { description: c.description } : {}),
    categories: [...new Set(Object.values(c.fields).map((f) => f.category))].sort() as DataCategory[],
    purposes: c.purposes ?? m.purposes,
    retention: c.retention ?? m.retention,
    omittedFields: Object.values(c.fields).filter((f) => f.access === "omit").map((f) => f.name),
  }));
  return {
    store: map.name,
    ...(map.title ? { title: map.title } : {}),
    purposes: m.purposes,
    legalBasis: m.legalBasis ?? [],
    recipients: m.recipients,
    retention: m.retention,
    source: m.source,
    ...(m.transfers ? { transfers: m.transfers } : {}),
    ...(m.automatedDecisions ? { automatedDecisions: m.automatedDecisions } : {}),
    categories: [...new Set(collections.flatMap((c) => c.categories))].sort() as DataCategory[],
    collections,
  };
}
