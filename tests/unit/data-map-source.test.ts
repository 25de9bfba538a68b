/**
 * Map text in the console's editor: every validation and syntax error lands on the line (and column) of the text it
 * is about; secrets are taken out of text that is shown back; a stored map turns into text that validates again.
 */
import { describe, expect, it } from "vitest";
import { validateDataMap } from "#app/models/data-map.ts";
import { checkDataMapSource, dataMapToSource, locateIssues, redactSecretsInSource, MAX_DATA_MAP_SOURCE } from "#app/models/data-map-source.ts";
import { shopMapSource } from "#tests/helpers/shop-map.ts";

/** A valid map: the shop map the store tests share, as the text typed into the console. */
const VALID = shopMapSource();

const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

function errorsOf(text: string, adjust?: Parameters<typeof checkDataMapSource>[1]) {
  const result = checkDataMapSource(text, adjust);
  if (result.ok) throw new Error("expected errors");
  return result.errors;
}

describe("checkDataMapSource", () => {
  it("accepts a valid map and returns the parsed object and the validated map", () => {
    const result = checkDataMapSource(VALID);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.map.name).toBe("shop");
    expect(Object.keys(result.map.collections)).toEqual(["customers", "orders"]);
    expect(result.raw.kind).toBe("postgres");
  });

  it("places a wrong type deep inside a collection on its line and column", () => {
    const text = VALID.replace("      total: {}", "      total: { erasure: { action: mask } }");
    const errors = errorsOf(text);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      path: "collections.orders.fields.total.erasure.value",
      line: lineOf(text, "total:"),
      exact: false, // `value` is missing: placed at its parent, the `erasure` key
      message: "mask needs a fixed `value` (string, number, boolean or null)",
    });
    expect(errors[0]!.column).toBe(text.split("\n")[lineOf(text, "total:") - 1]!.indexOf("erasure") + 1);

    const wrongCategory = VALID.replace("    category: commercial", "    category: 42");
    expect(errorsOf(wrongCategory)[0]).toMatchObject({ path: "collections.orders.category", line: 19, column: 5, exact: true });
  });

  it("points at each unknown key itself, not at the object holding it", () => {
    const text = VALID.replace("      email: { identity: email }", "      email: { identity: email, colour: blue }").replace("  source: You", "  source: You\n  sauce: Tomato");
    const errors = errorsOf(text);
    expect(errors.map((e) => [e.path, e.message, e.line])).toEqual([
      ["metadata.sauce", 'unknown key "sauce"', lineOf(text, "sauce:")],
      ["collections.customers.fields.email.colour", 'unknown key "colour"', lineOf(text, "colour:")],
    ]);
    const email = text.split("\n")[lineOf(text, "colour:") - 1]!;
    expect(errors[1]!.column).toBe(email.indexOf("colour") + 1);
    expect(errors.every((e) => e.exact)).toBe(true);
  });

  it("places a missing required key at its parent and says which key", () => {
    const text = VALID.replace("  retention: 10 years\n", "");
    const errors = errorsOf(text);
    expect(errors).toEqual([{ path: "metadata.retention", message: 'missing required key "retention"', line: lineOf(text, "metadata:"), column: 1, exact: false }]);
    const noName = errorsOf(VALID.replace("name: shop\n", ""));
    expect(noName[0]).toMatchObject({ path: "name", line: 1, column: 1, exact: false, message: 'missing required key "name"' });
  });

  it("reports a YAML syntax error with its line, and nothing else", () => {
    const text = VALID.replace("  source: You", "  source: [You");
    const errors = errorsOf(text);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]!.path).toBe("");
    expect(errors[0]!.line).toBeGreaterThanOrEqual(lineOf(text, "source: [You"));
    expect(errors[0]!.message).not.toMatch(/\n/);

    const duplicate = VALID.replace("name: shop\n", "name: shop\nname: shop2\n");
    const dup = errorsOf(duplicate);
    expect(dup[0]).toMatchObject({ path: "", line: 3 });
    expect(dup[0]!.message).toMatch(/unique/i);
  });

  it("reads JSON and places its errors on the JSON lines", () => {
    const json = JSON.stringify(validateDataMapInput(), null, 2);
    expect(checkDataMapSource(json).ok).toBe(true);
    const bad = json.replace('"retention": "10 years"', '"retention": 7');
    const errors = errorsOf(bad);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: "metadata.retention", line: lineOf(bad, '"retention": 7'), exact: true });
    expect(errors[0]!.column).toBe(bad.split("\n")[lineOf(bad, '"retention": 7') - 1]!.indexOf('"retention"') + 1);
    const broken = errorsOf(json.replace('"kind": "postgres",', '"kind": "postgres"'));
    expect(broken[0]!.path).toBe("");
    expect(broken[0]!.line).toBe(lineOf(json, '"kind"') + 1);
  });

  it("places errors about references and list items on the item's line", () => {
    // The `to` key of the first reference (a flow map on one line): column 27.
    const text = VALID.replace("to: orders.customer_id", "to: orders.buyer_id");
    expect(errorsOf(text)).toEqual([
      { path: "references.0.to", message: 'unknown field "buyer_id" of collection "orders" (list it under fields)', line: lineOf(text, "buyer_id"), column: 27, exact: true },
    ]);
  });

  it("handles a bad key containing a dot, an empty text, a list instead of a map, and text over the limit", () => {
    const dotted = VALID.replace("      total: {}", "      to.tal: {}");
    const e = errorsOf(dotted).find((x) => x.path.includes("to.tal"))!;
    expect(e).toMatchObject({ line: lineOf(dotted, "to.tal"), exact: true });
    expect(errorsOf("")[0]).toMatchObject({ path: "", line: 1, column: 1, message: "a data map must be an object" });
    expect(errorsOf("- a\n- b\n")[0]).toMatchObject({ path: "", line: 1, message: "a data map must be an object" });
    expect(errorsOf("x".repeat(MAX_DATA_MAP_SOURCE + 1))[0]!.message).toMatch(/longer than/);
  });

  it("validates after `adjust`, with paths still placed in the text", () => {
    const text = VALID.replace("  url: env:SHOP_DB_URL\n", "");
    expect(errorsOf(text)[0]).toMatchObject({ path: "connection.url", line: lineOf(text, "connection:"), exact: false });
    const result = checkDataMapSource(text, (raw) => ({ ...raw, connection: { ...(raw.connection as object), url: "postgres://db.internal/shop" } }));
    expect(result.ok).toBe(true);
  });

  it("locateIssues places issues raised later (e.g. when the map is applied)", () => {
    expect(locateIssues(VALID, [{ path: "connection.url", message: "no secret is stored yet" }])).toEqual([
      { path: "connection.url", message: "no secret is stored yet", line: 5, column: 3, exact: true },
    ]);
  });
});

describe("redactSecretsInSource", () => {
  it("replaces literal secrets under connection by `stored`, keeping env: references, quoting and every other line", () => {
    const text = VALID.replace("  url: env:SHOP_DB_URL", '  url: "postgres://app:Hunter2Secret@db/shop"\n  password: Pa55word-Literal');
    const { text: out, removed } = redactSecretsInSource(text);
    expect(removed.sort()).toEqual(["connection.password", "connection.url"]);
    expect(out).not.toContain("Hunter2Secret");
    expect(out).not.toContain("Pa55word-Literal");
    expect(out).toContain('  url: "stored"\n  password: stored\n');
    expect(out.split("\n")).toHaveLength(text.split("\n").length);
    expect(redactSecretsInSource(VALID)).toEqual({ text: VALID, removed: [] });
    const http = "kind: http\nconnection:\n  baseUrl: https://svc.example\n  secret: 'abcdefghijklmnopqrstuvwxyz0123456789'\n";
    expect(redactSecretsInSource(http).text).toBe("kind: http\nconnection:\n  baseUrl: https://svc.example\n  secret: \"stored\"\n");
  });

  it("still removes secrets from text that does not parse", () => {
    const text = VALID.replace("  url: env:SHOP_DB_URL", "  url: postgres://app:Hunter2Secret@db/shop\n  password: Pa55word # note").replace("  source: You", "  source: [You");
    const { text: out, removed } = redactSecretsInSource(text);
    expect(out).not.toContain("Hunter2Secret");
    expect(out).not.toContain("Pa55word");
    expect(removed.length).toBeGreaterThan(0);
    expect(out).toContain("  source: [You");
  });
});

describe("dataMapToSource", () => {
  it("turns a stored map (keys in any order) back into text that validates to the same map, in the documented order", () => {
    const stored = JSON.parse(JSON.stringify(validateDataMapInput())) as Record<string, unknown>;
    const shuffled = Object.fromEntries(Object.entries(stored).reverse());
    const text = dataMapToSource(shuffled);
    const result = checkDataMapSource(text);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.map).toEqual(validateDataMap(stored));
    const keys = text.split("\n").filter((l) => /^[a-z]+:/.test(l)).map((l) => l.split(":")[0]);
    expect(keys).toEqual(["version", "name", "kind", "connection", "metadata", "collections", "references"]);
    expect(text).toContain("      email: { identity: email }");
    expect(text).toContain("  - { from: customers.id, to: orders.customer_id }");
  });
});

function validateDataMapInput() {
  const result = checkDataMapSource(VALID);
  if (!result.ok) throw new Error("VALID is not valid");
  return result.raw;
}
