/**
 * A data map as text in the staff console's editor: parsed with the `yaml` package's document API (JSON is YAML),
 * validated with the data-map validator (app/models/data-map.ts), and every problem — syntax errors included —
 * placed at the line and column of the text it is about. A problem whose path has no node in the text (a missing
 * key) is placed at the nearest parent that is there (`exact: false`).
 *
 * Also: the text a stored map is shown as (`dataMapToSource`: YAML, keys in the documented order, literal secrets
 * already replaced by `stored`), and `redactSecretsInSource`, which takes any literal secret out of text that is
 * about to be shown back (the console never displays a secret, not even one just typed).
 *
 * Pure module (no DB, no env).
 */
import YAML, { isAlias, isMap, isScalar, isSeq, LineCounter, type Document, type Node as YamlNode } from "yaml";
import { DataMapError, STORED_SECRET, secretKeys, validateDataMap, type DataMap, type DataMapIssue } from "./data-map.ts";

/** Longest map text the console accepts (characters). */
export const MAX_DATA_MAP_SOURCE = 200_000;

export type DataMapSourceError = {
  /** The map path (`collections.orders.fields.total.erasure`), "" for the whole map or a syntax error. */
  path: string;
  message: string;
  /** 1-based line and column in the text. */
  line: number;
  column: number;
  /** False when the path has no node in the text and the position is its nearest parent's. */
  exact: boolean;
};

export type DataMapSourceCheck =
  | { ok: true; raw: Record<string, unknown>; map: DataMap }
  | { ok: false; errors: DataMapSourceError[]; raw?: unknown };

/** Every key under `connection` that holds a secret, for any kind. */
export const SECRET_KEYS: readonly string[] = [...new Set(Object.values(secretKeys).flat())];

const ENV_REF = /^env:[A-Za-z_][A-Za-z0-9_]*$/;

type Parsed = { text: string; doc: Document.Parsed; lines: LineCounter };

function parse(text: string): Parsed {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  return { text, doc, lines };
}

function position(p: Parsed, offset: number): { line: number; column: number } {
  const { line, col } = p.lines.linePos(Math.max(0, Math.min(offset, p.text.length)));
  return { line, column: col };
}

const keyOf = (key: unknown): string | undefined => {
  if (isScalar(key)) return String(key.value);
  return typeof key === "string" || typeof key === "number" ? String(key) : undefined;
};

const startOf = (node: unknown): number | undefined => (node as { range?: [number, number, number] } | null)?.range?.[0];

/**
 * Where a path is in the text: the key of the pair it names (a map entry), the item (a list entry), or — when a
 * segment is not there — the deepest ancestor that is. Segments joined by "." may themselves contain dots (a bad key
 * such as `a.b`): longer keys are tried too.
 */
function locate(p: Parsed, path: string): { offset: number; exact: boolean } {
  const segments = path === "" ? [] : path.split(".");
  let node: unknown = p.doc.contents;
  let offset = startOf(node) ?? 0;
  let i = 0;
  while (i < segments.length) {
    if (isAlias(node)) node = node.resolve(p.doc);
    if (isMap(node)) {
      const map = node;
      let next: number | undefined;
      for (let j = i + 1; j <= segments.length && next === undefined; j++) {
        const want = segments.slice(i, j).join(".");
        const pair = map.items.find((item) => keyOf(item.key) === want);
        if (pair) {
          offset = startOf(pair.key) ?? startOf(pair.value) ?? offset;
          node = pair.value;
          next = j;
        }
      }
      if (next === undefined) return { offset, exact: false };
      i = next;
    } else if (isSeq(node)) {
      const index = Number(segments[i]);
      const item = Number.isInteger(index) && index >= 0 ? node.items[index] : undefined;
      if (item === undefined) return { offset, exact: false };
      offset = startOf(item) ?? offset;
      node = item;
      i += 1;
    } else {
      return { offset, exact: false };
    }
  }
  return { offset, exact: true };
}

const UNRECOGNIZED = /^Unrecognized keys?: (.*)$/;
const MISSING = /received undefined$/;

/** The issues of a DataMapError placed in the text, sorted by line; unknown keys point at each key itself. */
function place(p: Parsed, issues: readonly DataMapIssue[]): DataMapSourceError[] {
  const out: DataMapSourceError[] = [];
  for (const issue of issues) {
    const unknown = UNRECOGNIZED.exec(issue.message);
    if (unknown) {
      const names = [...unknown[1]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
      for (const name of names.length > 0 ? names : [""]) {
        const path = [issue.path, name].filter(Boolean).join(".");
        const where = locate(p, path);
        out.push({ path, message: `unknown key "${name}"`, ...position(p, where.offset), exact: where.exact });
      }
      continue;
    }
    const where = locate(p, issue.path);
    const last = issue.path.split(".").at(-1) ?? "";
    const message = !where.exact && MISSING.test(issue.message) && last ? `missing required key "${last}"` : issue.message;
    out.push({ path: issue.path, message, ...position(p, where.offset), exact: where.exact });
  }
  const seen = new Set<string>();
  return out
    .filter((e) => {
      const k = `${e.line}:${e.column}:${e.path}:${e.message}`;
      return seen.has(k) ? false : (seen.add(k), true);
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

function syntaxErrors(p: Parsed): DataMapSourceError[] {
  return p.doc.errors.map((e) => ({ path: "", message: e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, ""), ...position(p, e.pos[0]), exact: true }));
}

/** Places issues (e.g. from `applyStoreMap`'s DataMapError) in `text`. */
export function locateIssues(text: string, issues: readonly DataMapIssue[]): DataMapSourceError[] {
  return place(parse(text), issues);
}

/**
 * Parses and validates map text. `adjust` may change the parsed object before validation (the console puts a new
 * secret typed in its write-only field into `connection`); paths still refer to the text.
 */
export function checkDataMapSource(text: string, adjust?: (raw: Record<string, unknown>) => Record<string, unknown>): DataMapSourceCheck {
  if (text.length > MAX_DATA_MAP_SOURCE) {
    return { ok: false, errors: [{ path: "", message: `the map is longer than ${MAX_DATA_MAP_SOURCE.toLocaleString("en")} characters`, line: 1, column: 1, exact: false }] };
  }
  const p = parse(text);
  if (p.doc.errors.length > 0) return { ok: false, errors: syntaxErrors(p) };
  let raw: unknown;
  try {
    raw = p.doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, errors: [{ path: "", message: `the map cannot be read: ${(error as Error).message.split("\n")[0]}`, line: 1, column: 1, exact: false }] };
  }
  const isObject = raw !== null && typeof raw === "object" && !Array.isArray(raw);
  const adjusted = isObject && adjust ? adjust(raw as Record<string, unknown>) : raw;
  try {
    const map = validateDataMap(adjusted);
    return { ok: true, raw: adjusted as Record<string, unknown>, map };
  } catch (error) {
    if (error instanceof DataMapError) return { ok: false, errors: place(p, error.issues), raw: adjusted };
    throw error;
  }
}

const isLiteralSecret = (v: unknown) => typeof v === "string" && v !== STORED_SECRET && !ENV_REF.test(v);

/** A `key: value` line that could carry a secret, for text the parser could not read. */
const SECRET_LINE = new RegExp(`^(\\s*(?:-\\s+)?["']?(?:${SECRET_KEYS.join("|")})["']?\\s*:[ \\t]*)(\\S.*)$`);

/**
 * `text` with every literal secret under `connection` replaced by `stored`, and the paths replaced. When the text does
 * not parse, any `url:`/`password:`/`secret:` line with a plain value is replaced too (the parser cannot say where
 * `connection` is). `env:NAME` references and `stored` are left alone.
 */
export function redactSecretsInSource(text: string): { text: string; removed: string[] } {
  const p = parse(text);
  const cuts: { start: number; end: number; quoted: boolean; path: string }[] = [];
  const root = p.doc.contents;
  const connection = isMap(root) ? root.items.find((i) => keyOf(i.key) === "connection")?.value : undefined;
  if (isMap(connection)) {
    for (const pair of connection.items) {
      const key = keyOf(pair.key);
      const value = pair.value as YamlNode | null;
      if (!key || !SECRET_KEYS.includes(key) || !value) continue;
      if (isScalar(value) && value.value === null) continue;
      const literal = isScalar(value) ? isLiteralSecret(value.value) || typeof value.value !== "string" : true;
      if (!literal || !value.range) continue;
      const quoted = isScalar(value) && (value.type === "QUOTE_DOUBLE" || value.type === "QUOTE_SINGLE");
      cuts.push({ start: value.range[0], end: value.range[1], quoted, path: `connection.${key}` });
    }
  }
  let out = text;
  for (const cut of cuts.sort((a, b) => b.start - a.start)) {
    out = out.slice(0, cut.start) + (cut.quoted ? `"${STORED_SECRET}"` : STORED_SECRET) + out.slice(cut.end);
  }
  const removed = cuts.map((c) => c.path).reverse();
  if (p.doc.errors.length > 0) {
    out = out
      .split("\n")
      .map((line) => {
        const m = SECRET_LINE.exec(line);
        if (!m) return line;
        const value = m[2]!.replace(/\s+#.*$/, "").replace(/^["']|["'],?$/g, "");
        if (/^[{[|>&*]/.test(m[2]!) || !isLiteralSecret(value)) return line;
        if (!removed.includes("unparsed")) removed.push("unparsed");
        return `${m[1]}${STORED_SECRET}`;
      })
      .join("\n");
  }
  return { text: out, removed };
}

// ---------------------------------------------------------------------------------------------------------------
// A stored map as editor text

const ORDER: Record<string, readonly string[]> = {
  root: ["version", "name", "title", "description", "kind", "connection", "normalization", "metadata", "collections", "references"],
  connection: ["url", "password", "baseUrl", "secret", "instructions", "team", "tls", "poolSize", "statementTimeoutMs", "timeoutMs", "maxRetries", "maxRetryWaitMs"],
  metadata: ["purposes", "legalBasis", "recipients", "retention", "source", "transfers", "automatedDecisions"],
  collection: ["description", "table", "primaryKey", "category", "erasure", "purposes", "retention", "optOutField", "consentField", "fields"],
  field: ["description", "category", "identity", "match", "subjectAttribute", "erasure", "access"],
  reference: ["from", "to", "foreignKey"],
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function ordered(value: unknown, order: readonly string[]): unknown {
  if (!isPlainObject(value)) return value;
  const keys = Object.keys(value);
  const known = order.filter((k) => keys.includes(k));
  return Object.fromEntries([...known, ...keys.filter((k) => !order.includes(k))].map((k) => [k, value[k]]));
}

const mapValues = (v: unknown, fn: (x: unknown) => unknown) => (isPlainObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fn(x)])) : v);

/**
 * The text a stored map is edited as: YAML with the keys in the order docs/data-map.md uses (the stored JSON does not
 * keep the order or comments of the file it came from), each field and reference on one line. Secrets in a stored
 * map are already `stored` placeholders.
 */
export function dataMapToSource(stored: Record<string, unknown>): string {
  const top = ordered(stored, ORDER.root!) as Record<string, unknown>;
  const value = {
    ...top,
    ...(isPlainObject(top.connection) ? { connection: ordered(top.connection, ORDER.connection!) } : {}),
    ...(isPlainObject(top.metadata) ? { metadata: ordered(top.metadata, ORDER.metadata!) } : {}),
    ...(isPlainObject(top.collections)
      ? {
          collections: mapValues(top.collections, (c) => {
            const col = ordered(c, ORDER.collection!);
            return isPlainObject(col) ? { ...col, ...(isPlainObject(col.fields) ? { fields: mapValues(col.fields, (f) => ordered(f, ORDER.field!)) } : {}) } : col;
          }),
        }
      : {}),
    ...(Array.isArray(top.references) ? { references: top.references.map((r) => ordered(r, ORDER.reference!)) } : {}),
  };
  const doc = new YAML.Document(value);
  // One line per field, per erasure action and per reference, as in the documentation.
  YAML.visit(doc, {
    Pair(_, pair, path) {
      const key = keyOf(pair.key);
      const parentPair = [...path].reverse().find((n): n is YAML.Pair => YAML.isPair(n));
      const parentKey = parentPair ? keyOf(parentPair.key) : undefined;
      if (isMap(pair.value) && (parentKey === "fields" || key === "erasure" || key === "tls")) pair.value.flow = true;
      if (isSeq(pair.value) && key === "references") for (const item of pair.value.items) if (isMap(item)) item.flow = true;
      if (isSeq(pair.value) && key !== "references" && pair.value.items.every((i) => isScalar(i))) pair.value.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
