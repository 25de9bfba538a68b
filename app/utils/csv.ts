/**
 * CSV for downloads (RFC 4180), safe to open in a spreadsheet — one module for every export of the portal.
 *
 * - Every field is quoted, `"` doubled inside; records end with CRLF (RFC 4180 §2). Newlines and commas inside a
 *   value stay inside its quotes.
 * - Formula injection (OWASP "CSV Injection"): a text cell that a spreadsheet could read as a formula — one starting
 *   with `=`, `+`, `-`, `@`, TAB, CR or LF, or their full-width forms `＝ ＋ － ＠` (which some spreadsheets fold to
 *   the ASCII ones), also after leading spaces — is prefixed with a single quote `'`, so it is shown as text.
 *   The value read back is the original with a leading `'`: that is the price of the defence.
 * - Numbers are written as numbers (a JavaScript number can only print digits, `.`, `-`, `e`, `Infinity`/`NaN`,
 *   none of them a formula), so a negative count is still a number in the spreadsheet; non-finite numbers, `null`
 *   and `undefined` are empty cells.
 */

export type CsvValue = string | number | boolean | null | undefined;

/** Characters that make a spreadsheet read a cell as a formula (or as a command in older DDE setups). */
const FORMULA_TRIGGERS = new Set(["=", "+", "-", "@", "\t", "\r", "\n", "\uFF1D", "\uFF0B", "\uFF0D", "\uFF20"]);

/** True when a spreadsheet could take this text as a formula. */
export function looksLikeFormula(text: string): boolean {
  const first = text.replace(/^ +/, "")[0];
  return first !== undefined && FORMULA_TRIGGERS.has(first);
}

/** The text a cell holds, neutralized against formula injection (not yet quoted). */
export function neutralizeFormula(text: string): string {
  return looksLikeFormula(text) ? `'${text}` : text;
}

/** One field: quoted, with its quotes doubled; text neutralized, numbers as numbers. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '""';
  if (typeof value === "number") return Number.isFinite(value) ? `"${String(value)}"` : '""';
  if (typeof value === "boolean") return value ? '"true"' : '"false"';
  return `"${neutralizeFormula(value).replaceAll('"', '""')}"`;
}

/** One record, CRLF-terminated. */
export function csvRecord(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

/** A whole file: a header record, then the rows. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return csvRecord(header) + rows.map(csvRecord).join("");
}

/**
 * A `Content-Disposition: attachment` value for a file name: the ASCII fallback (`filename="…"`, quotes and
 * backslashes dropped) and the exact name (RFC 6266 / RFC 8187 `filename*=UTF-8''…`).
 */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7E]/g, "_").replace(/["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/** The media type of a CSV download (RFC 4180 §3, with its optional header parameter). */
export const CSV_CONTENT_TYPE = "text/csv; charset=utf-8; header=present";
