/**
 * Reading a submitted form safely, before any parser sees it: a body that cannot be read is a 400 (not a 500);
 * only the fields the form has are kept (conform's reserved `__intent__`/`__state__`, `x[99999999]`-style names and
 * unknown fields are dropped), a repeated field keeps its first value, files only where the form takes one, and a
 * form with an absurd number of entries is refused — the parser's cost stays bounded whatever is sent.
 */
import { json } from "@remix-run/node";

// The body limit already bounds the entries (1 MiB → at most ~250k); filtering is linear, so this is a backstop.
export const MAX_FORM_ENTRIES = 100_000;

const refuse = (message: string) => json({ message }, { status: 400 });

export function sanitizeForm(raw: FormData, allowed: Iterable<string>, { maxEntries = MAX_FORM_ENTRIES, files = [] as string[] } = {}) {
  const allow = new Set(allowed);
  const out = new FormData();
  let count = 0;
  for (const [name, value] of raw) {
    if (++count > maxEntries) throw refuse("The form has too many fields.");
    if (!allow.has(name) || out.has(name)) continue;
    if (typeof value !== "string" && !files.includes(name)) continue;
    out.append(name, value);
  }
  return out;
}

export async function readForm(request: Request, allowed: Iterable<string>, options?: { maxEntries?: number; files?: string[] }) {
  let raw: FormData;
  try {
    raw = await request.formData();
  } catch {
    throw refuse("The form could not be read. Please submit it again from the page.");
  }
  return sanitizeForm(raw, allowed, options);
}

/** The field names of a zod object schema (plus extras such as the honeypot). */
export function fieldsOf(schema: { shape: Record<string, unknown> }, ...extra: string[]) {
  return [...Object.keys(schema.shape), ...extra];
}
