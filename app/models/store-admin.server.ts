/**
 * The stores pages of the staff console (docs/decisions/018-stores-console.md), on top of stores.server.ts:
 * - the list (kind, enabled, map version, the last connection test from the audit trail);
 * - one store as editor text (`stored` where a secret is kept; never a secret) and saving text from the editor, with
 *   new secrets from write-only fields — errors placed at their line, nothing saved, and no secret in what is shown back;
 * - enabling and disabling a store, testing its connection, and a dry run of access and erasure for an identity
 *   (counts per collection and action and which fields, never values).
 * Every change and test is an audit event naming the staff member; secrets and identities never enter it.
 */
import { eq, sql } from "drizzle-orm";
import { json } from "@remix-run/node";
import type { SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { z } from "zod";
import type { Executor } from "#db/client.server.ts";
import { requestEvents, stores } from "#db/schema/index.ts";
import { StoreError, type StoreTestResult, type StoreWarning } from "#app/connectors/types.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent, canonicalJson } from "./audit.server.ts";
import {
  DataMapError,
  extractSecrets,
  identityKinds,
  isEnvRef,
  normalizeAccountId,
  normalizeIdentityEmail,
  normalizePhone,
  secretKeys,
  STORED_SECRET,
  validateDataMap,
  type DataMap,
  type IdentityKind,
  type StoreKind,
  type SubjectIdentity,
} from "./data-map.ts";
import { checkDataMapSource, dataMapToSource, locateIssues, MAX_DATA_MAP_SOURCE, redactSecretsInSource, type DataMapSourceError } from "./data-map-source.ts";
import { DomainError } from "./errors.ts";
import { listStaff } from "./staff.server.ts";
import { applyStoreMap, dryRunStore, getStore, listStores, testStore, type DryRunResult, type StoreView } from "./stores.server.ts";

export const SECRET_FIELDS = ["url", "password", "secret"] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];
export const secretFieldLabels: Record<SecretField, string> = {
  url: "New connection URL (PostgreSQL, MySQL)",
  password: "New database password (PostgreSQL, MySQL)",
  secret: "New signing secret (HTTP service)",
};
export const storeKindLabels: Record<StoreKind, string> = { postgres: "PostgreSQL", mysql: "MySQL / MariaDB", http: "HTTP service", manual: "Manual (a person)" };
/** Longest value of a write-only secret field. */
export const MAX_SECRET_LENGTH = 4096;

const storeNotFound = (name: string) => new DomainError("store_not_found", `No store named "${name.slice(0, 80)}".`, 404);

// ---------------------------------------------------------------------------------------------------------------
// The last connection test (from the audit trail)

export type StoreTestSummary = {
  at: Date;
  by: string | null;
  connected: boolean;
  ok: boolean;
  errors: number;
  latencyMs: number | null;
  warningCount: number;
  warnings: { code: string; collection?: string; column?: string }[];
};

/** Warnings kept in a `store.tested` event (codes and names; the full messages and fixes come with each test). */
const MAX_WARNINGS_KEPT = 20;

async function lastTests(db: Executor): Promise<Map<string, StoreTestSummary>> {
  type Row = { store_id: string; details: Record<string, unknown>; actor_id: string | null; created_at: Date | string };
  const result = await db.execute<Row>(sql`
    select distinct on (${requestEvents.details}->>'storeId') ${requestEvents.details}->>'storeId' as store_id,
      ${requestEvents.details} as details, ${requestEvents.actorId} as actor_id, ${requestEvents.createdAt} as created_at
    from ${requestEvents}
    where ${requestEvents.action} = 'store.tested'
    order by ${requestEvents.details}->>'storeId', ${requestEvents.id} desc`);
  const rows = (result as unknown as Row[]).map((r) => ({ storeId: r.store_id, details: r.details, actorId: r.actor_id, at: new Date(r.created_at) }));
  const names = new Map((await listStaff(db)).map((s) => [s.id, s.name]));
  return new Map(
    rows.map((r) => {
      const d = r.details as Partial<StoreTestSummary>;
      return [
        r.storeId,
        {
          at: r.at,
          by: r.actorId ? (names.get(r.actorId) ?? "a former staff member") : null,
          connected: d.connected === true,
          ok: d.ok === true,
          errors: Number(d.errors ?? 0),
          latencyMs: typeof d.latencyMs === "number" ? d.latencyMs : null,
          warningCount: Number(d.warningCount ?? 0),
          warnings: Array.isArray(d.warnings) ? d.warnings : [],
        },
      ];
    }),
  );
}

/** One line about a test's outcome, for the list and the store page. */
export function describeTest(t: Pick<StoreTestSummary, "connected" | "ok" | "errors" | "latencyMs">): string {
  if (!t.connected) return "could not connect";
  if (!t.ok) return `connected; the map does not fit the store (${t.errors} ${t.errors === 1 ? "problem" : "problems"})`;
  return `connected${t.latencyMs !== null ? ` in ${t.latencyMs} ms` : ""}; the map fits`;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

export type StoreListItem = {
  id: string;
  name: string;
  title: string | null;
  kind: StoreKind;
  enabled: boolean;
  mapVersion: number;
  updatedAt: Date;
  lastTest: StoreTestSummary | null;
};

export async function listStoresForStaff(db: Executor): Promise<StoreListItem[]> {
  const [all, tests] = await Promise.all([listStores(db), lastTests(db)]);
  return all.map((s) => ({
    id: s.id,
    name: s.name,
    title: s.title,
    kind: s.kind,
    enabled: s.disabledAt === null,
    mapVersion: s.mapVersion,
    updatedAt: s.updatedAt,
    lastTest: tests.get(s.id) ?? null,
  }));
}

/** How a secret of the store's connection is set: kept encrypted by the portal, read from the environment, or not. */
export type SecretState = { field: SecretField; state: "stored" | "env" | "none"; env?: string };

export type StoreForEditor = {
  store: StoreView;
  /** The stored map as YAML, `stored` where a secret is kept (there is no secret in it). */
  text: string;
  secrets: SecretState[];
  identityKinds: IdentityKind[];
  lastTest: StoreTestSummary | null;
};

function secretStates(store: StoreView): SecretState[] {
  const connection = (store.dataMap.connection ?? {}) as Record<string, unknown>;
  return secretKeys[store.kind].map((key) => {
    const v = connection[key];
    const field = key as SecretField;
    if (v === STORED_SECRET) return { field, state: "stored" as const };
    if (isEnvRef(v)) return { field, state: "env" as const, env: String(v).slice(4) };
    return { field, state: "none" as const };
  });
}

/** The identity kinds a dry run can use: those the map's identity fields take (a database), all for a service. */
export function storeIdentityKinds(map: DataMap): IdentityKind[] {
  if (map.kind === "manual") return ["email"];
  const used = new Set(Object.values(map.collections).flatMap((c) => Object.values(c.fields).flatMap((f) => (f.identity ? [f.identity] : []))));
  const kinds = identityKinds.filter((k) => used.has(k));
  return kinds.length > 0 ? kinds : [...identityKinds];
}

export async function getStoreForEditor(db: Executor, name: string): Promise<StoreForEditor> {
  const store = await getStore(db, name);
  if (!store) throw storeNotFound(name);
  const tests = await lastTests(db);
  let kinds: IdentityKind[] = ["email"];
  try {
    kinds = storeIdentityKinds(validateDataMap(store.dataMap));
  } catch (error) {
    if (!(error instanceof DataMapError)) throw error;
  }
  return { store, text: dataMapToSource(store.dataMap), secrets: secretStates(store), identityKinds: kinds, lastTest: tests.get(store.id) ?? null };
}

// ---------------------------------------------------------------------------------------------------------------
// Saving map text from the editor


/** `getStoreForEditor` for a page's loader or action: an unknown store is a 404 with its message (no error page). */
export async function requireStoreForEditor(db: Executor, name: string): Promise<StoreForEditor> {
  try {
    return await getStoreForEditor(db, name);
  } catch (error) {
    if (error instanceof DomainError && error.status === 404) throw json({ message: error.userMessage }, { status: 404 });
    throw error;
  }
}
export type SaveStoreInput = {
  text: string;
  /** Write-only fields: a non-empty value replaces that secret (and the map's value for it); empty keeps it. */
  newSecrets: Partial<Record<SecretField, string>>;
  /** Create a new store, or save the store of this name (the text must keep the name). */
  target: { create: true } | { name: string };
  staffId: string;
};

export type SaveStoreOutcome =
  | { ok: true; store: StoreView; created: boolean; changed: boolean; secretsChanged: SecretField[] }
  | {
      ok: false;
      status: 400 | 404 | 409;
      errors: DataMapSourceError[];
      secretErrors: Partial<Record<SecretField, string>>;
      /** The submitted text with any literal secret replaced by `stored`: what the page may show back. */
      text: string;
      /** Paths of the secrets taken out of the text (the person must type them again, in the write-only fields). */
      removedSecrets: string[];
    };

class NameTaken extends Error {}

/**
 * The text says what is stored already (no literal secret, same map). Compared key-order-blind: the stored jsonb does
 * not keep the order the text has, and `applyStoreMap` compares in order (it would bump the version for nothing).
 */
function sameStoredMap(raw: Record<string, unknown>, stored: Record<string, unknown>): boolean {
  const { map, secrets } = extractSecrets(raw);
  if (Object.keys(secrets).length > 0) return false;
  try {
    return canonicalJson(map) === canonicalJson(stored);
  } catch {
    return false;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const uniqueViolation = (e: unknown) => {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.code === "23505" || err?.cause?.code === "23505";
};

/**
 * Validates editor text (with new secrets merged in) and creates or updates the store through `applyStoreMap` (which
 * encrypts literal secrets and appends `store.created` / `store.updated` naming the staff member). On any problem
 * nothing is saved and the outcome carries the errors placed in the text, and the text without its secrets.
 */
export async function saveStoreMap(db: Executor, input: SaveStoreInput, clock: Clock = systemClock): Promise<SaveStoreOutcome> {
  const secretErrors: Partial<Record<SecretField, string>> = {};
  const fail = (errors: DataMapSourceError[], status: 400 | 404 | 409 = 400): SaveStoreOutcome => {
    const redacted = redactSecretsInSource(input.text);
    return { ok: false, status, errors, secretErrors, text: redacted.text, removedSecrets: redacted.removed };
  };
  const given = SECRET_FIELDS.filter((f) => (input.newSecrets[f] ?? "") !== "");
  for (const f of given) if (input.newSecrets[f]!.length > MAX_SECRET_LENGTH) secretErrors[f] = `At most ${MAX_SECRET_LENGTH} characters.`;

  const existing = "name" in input.target ? await getStore(db, input.target.name) : undefined;
  if ("name" in input.target && !existing) return fail([], 404);

  const check = checkDataMapSource(input.text, (raw) => {
    const kind = raw.kind as StoreKind;
    const allowed: readonly string[] = secretKeys[kind] ?? [];
    const connection = isObject(raw.connection) ? { ...raw.connection } : {};
    for (const f of given) {
      if (!allowed.includes(f)) {
        secretErrors[f] ??= typeof raw.kind === "string" && raw.kind in secretKeys ? `A ${raw.kind} store has no such secret: leave this empty.` : "Set the store's kind first.";
        continue;
      }
      connection[f] = input.newSecrets[f]!;
    }
    return given.length > 0 ? { ...raw, connection } : raw;
  });
  const nameErrors: DataMapSourceError[] = [];
  const rawName = check.ok ? check.map.name : isObject(check.raw) ? check.raw.name : undefined;
  if (existing && typeof rawName === "string" && rawName !== existing.name) {
    nameErrors.push(
      ...locateIssues(input.text, [{ path: "name", message: `the name of this store is "${existing.name}" and cannot change here (create a new store for another name)` }]),
    );
  }
  if (!existing && rawName === "new") {
    nameErrors.push(...locateIssues(input.text, [{ path: "name", message: `"new" is the address of the console's new-store page: choose another name` }]));
  } else if (!existing && typeof rawName === "string" && (await getStore(db, rawName))) {
    nameErrors.push(...locateIssues(input.text, [{ path: "name", message: `a store named "${rawName}" exists already: edit it instead` }]));
  }
  if (!check.ok || nameErrors.length > 0 || Object.keys(secretErrors).length > 0) {
    const errors = [...nameErrors, ...(check.ok ? [] : check.errors)].sort((a, b) => a.line - b.line || a.column - b.column);
    return fail(errors, nameErrors.some((e) => e.message.includes("exists already")) ? 409 : 400);
  }

  if (existing && given.length === 0 && sameStoredMap(check.raw, existing.dataMap)) {
    return { ok: true, store: existing, created: false, changed: false, secretsChanged: [] };
  }
  try {
    const result = await db.transaction(async (tx) => {
      const applied = await applyStoreMap(tx, check.raw, { actorType: "staff", actorId: input.staffId, clock });
      if (!existing && !applied.created) throw new NameTaken();
      return applied;
    });
    const secretsChanged = given.filter((f) => secretKeys[result.store.kind].includes(f));
    return { ok: true, store: result.store, created: result.created, changed: result.changed, secretsChanged };
  } catch (error) {
    if (error instanceof NameTaken || uniqueViolation(error)) {
      return fail(locateIssues(input.text, [{ path: "name", message: `a store named "${check.map.name}" exists already: edit it instead` }]), 409);
    }
    if (error instanceof DataMapError) return fail(locateIssues(input.text, error.issues));
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Enable / disable

/** Disabled stores take part in no new execution (nor in data-point matching). Audited when it changes. */
export async function setStoreEnabled(db: Executor, input: { name: string; enabled: boolean; staffId: string }, clock: Clock = systemClock): Promise<{ changed: boolean }> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select({ id: stores.id, name: stores.name, disabledAt: stores.disabledAt }).from(stores).where(eq(stores.name, input.name)).for("update").limit(1);
    if (!row) throw storeNotFound(input.name);
    if ((row.disabledAt === null) === input.enabled) return { changed: false };
    const now = clock();
    await tx.update(stores).set({ disabledAt: input.enabled ? null : now, updatedAt: now }).where(eq(stores.id, row.id));
    await appendEvent(tx, { actorType: "staff", actorId: input.staffId, action: input.enabled ? "store.enabled" : "store.disabled", details: { storeId: row.id, store: row.name } }, clock);
    return { changed: true };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Test connection

/** What the page shows of a test: the connector's result, or why it could not start (a code and a safe message). */
export type StoreTestOutcome = StoreTestResult & { store: string };

function failure(error: unknown): { path: string; message: string } {
  if (error instanceof StoreError) return { path: "connection", message: `${error.code}: ${error.message}` };
  if (error instanceof DataMapError) return { path: "", message: "the stored map is no longer valid: save it again from the editor" };
  return { path: "connection", message: "the connection could not be opened with these settings" };
}

/** Connects, checks the map against the store (tables, columns, indexes with their CREATE INDEX) and records the outcome. */
export async function testStoreForStaff(db: Executor, input: { name: string; staffId: string }, clock: Clock = systemClock): Promise<StoreTestOutcome> {
  const store = await getStore(db, input.name);
  if (!store) throw storeNotFound(input.name);
  let result: StoreTestOutcome;
  try {
    result = { ...(await testStore(db, store.id)), store: store.name };
  } catch (error) {
    if (error instanceof DomainError) throw error;
    result = { store: store.name, connected: false, ok: false, errors: [failure(error)], warnings: [], collections: [] };
  }
  const warnings = result.warnings.slice(0, MAX_WARNINGS_KEPT).map((w: StoreWarning) => ({
    code: w.code,
    ...(w.collection ? { collection: w.collection.slice(0, 100) } : {}),
    ...(w.column ? { column: w.column.slice(0, 100) } : {}),
  }));
  await appendEvent(
    db,
    {
      actorType: "staff",
      actorId: input.staffId,
      action: "store.tested",
      details: {
        storeId: store.id,
        store: store.name,
        connected: result.connected,
        ok: result.ok,
        errors: result.errors.length,
        latencyMs: result.latencyMs ?? null,
        warningCount: result.warnings.length,
        warnings,
      },
    },
    clock,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Dry run

export type IdentityInput = Partial<Record<IdentityKind, string>>;

export type AccessPreview =
  | { kind: "counts"; found: boolean | "unknown"; collections: { name: string; rows: number; fields: string[]; omitted: string[] }[] }
  | { kind: "task"; instructions: string; team?: string }
  | { kind: "error"; message: string };

export type ErasurePreview =
  | {
      kind: "report";
      collections: { name: string; matched: number; deleted: number; masked: number; kept: number; bases: { basis: string; rows: number }[]; rewrites: { field: string; action: string }[] }[];
      totals: { matched: number; deleted: number; masked: number; kept: number };
    }
  | { kind: "task"; instructions: string; team?: string }
  | { kind: "error"; message: string };

export type DryRunOutcome =
  | { ok: true; store: string; identityKinds: IdentityKind[]; access: AccessPreview; erasure: ErasurePreview }
  | { ok: false; fieldErrors: Partial<Record<IdentityKind | "form", string>> };

const identityMessages: Record<IdentityKind, string> = {
  email: "Enter an email address like name@example.com.",
  phone: "Enter a phone number with its country code, like +44 20 7946 0958.",
  accountId: "Enter an account id of at most 200 characters.",
};

/** The identity typed into the form, normalized as the stores are queried; errors per field. */
export function parseIdentity(input: IdentityInput, map: DataMap): { subject: SubjectIdentity; fieldErrors: Partial<Record<IdentityKind | "form", string>> } {
  const kinds = storeIdentityKinds(map);
  const subject: SubjectIdentity = {};
  const fieldErrors: Partial<Record<IdentityKind | "form", string>> = {};
  const normalize: Record<IdentityKind, (v: string) => string | undefined> = {
    email: normalizeIdentityEmail,
    phone: (v) => normalizePhone(v, map.normalization.defaultCallingCode),
    accountId: normalizeAccountId,
  };
  for (const kind of kinds) {
    const raw = (input[kind] ?? "").trim();
    if (!raw) continue;
    const value = raw.length <= 320 ? normalize[kind](raw) : undefined;
    if (value) subject[kind] = value;
    else fieldErrors[kind] = identityMessages[kind];
  }
  if (Object.keys(subject).length === 0 && Object.keys(fieldErrors).length === 0) {
    fieldErrors.form = kinds.length > 1 ? "Enter at least one of the identities." : "Enter the identity to look for.";
  }
  return { subject, fieldErrors };
}

const message = (error: unknown) => (error instanceof StoreError ? `${error.code}: ${error.message}` : failure(error).message);

function accessPreview(result: DryRunResult, map: DataMap): AccessPreview {
  if ("task" in result) return { kind: "task", instructions: result.task.instructions, ...(result.task.team ? { team: result.task.team } : {}) };
  if (result.action !== "access") throw new Error("unexpected dry-run result");
  const names = [...new Set([...Object.keys(map.collections), ...Object.keys(result.collections)])];
  return {
    kind: "counts",
    found: result.found,
    collections: names.map((name) => {
      const fields = Object.values(map.collections[name]?.fields ?? {});
      return {
        name,
        rows: result.collections[name] ?? 0,
        fields: fields.filter((f) => f.access === "include").map((f) => f.name),
        omitted: fields.filter((f) => f.access === "omit").map((f) => f.name),
      };
    }),
  };
}

function erasurePreview(result: DryRunResult, map: DataMap): ErasurePreview {
  if ("task" in result) return { kind: "task", instructions: result.task.instructions, ...(result.task.team ? { team: result.task.team } : {}) };
  if (result.action !== "erase") throw new Error("unexpected dry-run result");
  const { report } = result;
  return {
    kind: "report",
    totals: report.totals,
    collections: Object.entries(report.collections).map(([name, c]) => ({
      name,
      ...c,
      rewrites: Object.values(map.collections[name]?.fields ?? {})
        .filter((f) => !f.structural && ["null", "mask", "hash"].includes(f.erasure.action))
        .map((f) => ({ field: f.name, action: f.erasure.action })),
    })),
  };
}

/**
 * What access would return and erasure would do in one store for an identity — counts per collection and action, the
 * fields access would export; never a value. Changes nothing in the store. Audited with the kinds of identity used
 * (never the identity itself).
 */
export async function dryRunForStaff(db: Executor, input: { name: string; staffId: string; identity: IdentityInput }, clock: Clock = systemClock): Promise<DryRunOutcome> {
  const store = await getStore(db, input.name);
  if (!store) throw storeNotFound(input.name);
  let map: DataMap;
  try {
    map = validateDataMap(store.dataMap);
  } catch (error) {
    if (error instanceof DataMapError) return { ok: false, fieldErrors: { form: "The stored map is no longer valid: save it again from the editor." } };
    throw error;
  }
  const { subject, fieldErrors } = parseIdentity(input.identity, map);
  if (Object.keys(fieldErrors).length > 0) return { ok: false, fieldErrors };
  const run = async <T>(action: "access" | "erase", shape: (r: DryRunResult) => T): Promise<T | { kind: "error"; message: string }> => {
    try {
      return shape(await dryRunStore(db, store.id, { subject, action }));
    } catch (error) {
      if (error instanceof DomainError) throw error;
      return { kind: "error", message: message(error) };
    }
  };
  const access = await run("access", (r) => accessPreview(r, map));
  const erasure = await run("erase", (r) => erasurePreview(r, map));
  const kinds = identityKinds.filter((k) => subject[k] !== undefined);
  await appendEvent(
    db,
    {
      actorType: "staff",
      actorId: input.staffId,
      action: "store.dry_run",
      details: { storeId: store.id, store: store.name, identityKinds: kinds, access: access.kind, erasure: erasure.kind },
    },
    clock,
  );
  return { ok: true, store: store.name, identityKinds: kinds, access, erasure };
}

// ---------------------------------------------------------------------------------------------------------------
// The editor form (shared by the new-store and edit pages)

/** Form field of each write-only secret. */
export const secretFormFields: Record<SecretField, string> = { url: "newUrl", password: "newPassword", secret: "newSecret" };
export const STORE_MAP_FORM_FIELDS = ["intent", "text", ...Object.values(secretFormFields)];

const optionalSecret = z.string().max(MAX_SECRET_LENGTH, { error: `At most ${MAX_SECRET_LENGTH} characters.` }).optional();
export const storeMapFormSchema = z.object({
  text: z
    .string({ error: "Write the data map." })
    .max(MAX_DATA_MAP_SOURCE, { error: `At most ${MAX_DATA_MAP_SOURCE.toLocaleString("en")} characters.` })
    .refine((t) => t.trim().length > 0, { error: "Write the data map." }),
  newUrl: optionalSecret,
  newPassword: optionalSecret,
  newSecret: optionalSecret,
});

/** What a failed save sends back to the page: conform's reply (no field values), the errors by line, the text without secrets. */
export type StoreMapFormReply = {
  result: SubmissionResult<string[]>;
  text: string;
  errors: DataMapSourceError[];
  removedSecrets: string[];
  stepUp?: string;
};

const HIDDEN = ["text", ...Object.values(secretFormFields)];

/** The text of a submitted form that may be shown back (secrets replaced by `stored`). */
export function shownText(form: FormData): { text: string; removedSecrets: string[] } {
  const r = redactSecretsInSource(String(form.get("text") ?? "").slice(0, MAX_DATA_MAP_SOURCE));
  return { text: r.text, removedSecrets: r.removed };
}

/** The reply when the session's step-up expired while editing: the text is kept on the page (without secrets). */
export function stepUpExpiredReply(form: FormData): StoreMapFormReply {
  const submission = parseWithZod(form, { schema: storeMapFormSchema });
  return {
    result: submission.reply({ hideFields: HIDDEN }),
    ...shownText(form),
    errors: [],
    stepUp: "Saving a store needs an authenticator code from the last 10 minutes, and yours is older: nothing was saved.",
  };
}

/** Reads the editor form and saves it; a failure is a reply for the page with its HTTP status. */
export async function saveStoreMapForm(
  db: Executor,
  form: FormData,
  target: SaveStoreInput["target"],
  staffId: string,
): Promise<{ ok: true; store: StoreView; created: boolean; changed: boolean } | { ok: false; status: number; reply: StoreMapFormReply }> {
  const submission = parseWithZod(form, { schema: storeMapFormSchema });
  if (submission.status !== "success") {
    return { ok: false, status: 400, reply: { result: submission.reply({ hideFields: HIDDEN }), ...shownText(form), errors: [] } };
  }
  const v = submission.value;
  const newSecrets: Partial<Record<SecretField, string>> = {};
  for (const f of SECRET_FIELDS) {
    const value = v[secretFormFields[f] as "newUrl" | "newPassword" | "newSecret"];
    if (value) newSecrets[f] = value;
  }
  const outcome = await saveStoreMap(db, { text: v.text, newSecrets, target, staffId });
  if (outcome.ok) return outcome;
  const fieldErrors = Object.fromEntries(Object.entries(outcome.secretErrors).map(([f, m]) => [secretFormFields[f as SecretField], [m]]));
  return {
    ok: false,
    status: outcome.status,
    reply: {
      result: submission.reply({ hideFields: HIDDEN, fieldErrors, ...(outcome.status === 404 ? { formErrors: ["This store no longer exists."] } : {}) }),
      text: outcome.text,
      errors: outcome.errors,
      removedSecrets: outcome.removedSecrets,
    },
  };
}

/** The map a new store starts from. */
export const NEW_STORE_TEMPLATE = `version: 1
name: my-store
title: My store
kind: postgres
connection:
  url: env:MY_STORE_DB_URL
  tls: { mode: verify-full }
metadata:
  purposes: [Customer accounts]
  retention: Until the account is closed
  source: Provided by you when you registered
collections:
  customers:
    category: contact
    erasure: delete
    fields:
      id: { category: identifiers }
      email: { identity: email, subjectAttribute: email }
references: []
`;
