import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DataMapError,
  extractSecrets,
  loadDataMap,
  normalizePhone,
  normalizeSubject,
  parseDataMapText,
  storeDisclosure,
  validateDataMap,
  type DataMapIssue,
} from "#app/models/data-map.ts";
import { correctionTargets, normalizeCorrectionValues, optOutTargets, updateTask } from "#app/models/engine/targets.ts";
import { customersCollection, shopMapHead } from "#tests/helpers/shop-map.ts";

/** The full example of docs/data-map.md: the documentation must stay a valid map. */
function docExample(): string {
  const doc = readFileSync(new URL("../../docs/data-map.md", import.meta.url), "utf8");
  const m = /## Full example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error("no yaml block under 'Full example' in docs/data-map.md");
  return m[1]!;
}

function issuesOf(fn: () => unknown): DataMapIssue[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof DataMapError) return e.issues;
    throw e;
  }
  throw new Error("expected a DataMapError");
}

const minimal = () => ({
  name: "shop",
  ...shopMapHead("postgres", "SHOP_DB_URL"),
  collections: {
    customers: customersCollection({ id: { category: "identifiers" }, email: { identity: "email" } }),
    orders: {
      category: "commercial",
      erasure: { action: "keep", basis: "Tax law" },
      fields: { id: {}, customer_id: {}, total: {} },
    },
  },
  references: [{ from: "customers.id", to: "orders.customer_id" }],
});

describe("data map", () => {
  it("loads the documented full example and resolves its defaults", () => {
    const map = loadDataMap(docExample());
    expect(map.kind).toBe("postgres");
    expect(map.name).toBe("shop-db");
    const customers = map.collections.customers!;
    expect(customers.table).toBe("customers");
    expect(customers.primaryKey).toEqual(["id"]);
    expect(customers.fields.email).toMatchObject({ identity: "email", match: "lower", category: "contact", erasure: { action: "mask", value: "erased@invalid" } });
    // inherited category and action; structural columns are marked
    expect(customers.fields.full_name).toMatchObject({ category: "contact", explicitErasure: true });
    expect(customers.fields.id).toMatchObject({ structural: true, erasure: { action: "delete" }, explicitErasure: false });
    expect(map.collections.orders!.fields.total!.erasure).toEqual({ action: "keep", basis: "Invoices are kept for 10 years (§147 AO, tax law)" });
    expect(map.collections.order_items!.primaryKey).toEqual(["order_id", "line"]);
    expect(map.collections.newsletter!.table).toBe("marketing.newsletter_subscribers");
    expect(customers.fields.sale_opt_out!.optOut).toEqual({ kind: "sale_sharing", set: true });
    // customers.id is the primary key, so orders.customer_id holds the foreign key
    expect(map.references[1]).toMatchObject({ from: { collection: "customers", field: "id" }, to: { collection: "orders", field: "customer_id" }, foreignKey: "to" });
    if (map.kind === "postgres") expect(map.connection.tls).toEqual({ mode: "verify-full", ca: "file:/etc/ssl/shop-db-ca.pem" });
  });

  it("accepts JSON as well", () => {
    const map = loadDataMap(JSON.stringify(minimal()));
    expect(Object.keys(map.collections)).toEqual(["customers", "orders"]);
    if (map.kind === "postgres") expect(map.connection.poolSize).toBe(2);
  });

  it("names the path of a bad erasure action", () => {
    const m = minimal();
    (m.collections.orders.fields as Record<string, unknown>).total = { erasure: "shred" };
    expect(issuesOf(() => validateDataMap(m))).toEqual([
      { path: "collections.orders.fields.total.erasure.action", message: "action must be one of: delete, null, mask, hash, keep" },
    ]);
    (m.collections.orders.fields as Record<string, unknown>).total = { erasure: { action: "mask" } };
    expect(issuesOf(() => validateDataMap(m))[0]).toMatchObject({ path: "collections.orders.fields.total.erasure.value", message: expect.stringMatching(/fixed `value`/) });
    (m.collections.orders.fields as Record<string, unknown>).total = { erasure: { action: "keep" } };
    expect(issuesOf(() => validateDataMap(m))[0]?.path).toBe("collections.orders.fields.total.erasure.basis");
    (m.collections.orders.fields as Record<string, unknown>).total = { erasure: 7 };
    expect(issuesOf(() => validateDataMap(m))[0]).toMatchObject({ path: "collections.orders.fields.total.erasure", message: expect.stringMatching(/must be an erasure action/) });
  });

  it("names typos, missing categories, unknown references and markers", () => {
    const m = minimal() as ReturnType<typeof minimal> & Record<string, unknown>;
    (m.collections.orders as Record<string, unknown>).feilds = {};
    expect(issuesOf(() => validateDataMap(m))).toEqual([{ path: "collections.orders", message: 'Unrecognized key: "feilds"' }]);

    const n = minimal();
    delete (n.collections.customers as Partial<typeof n.collections.customers>).category;
    n.references.push({ from: "orders.id", to: "items.order_id" });
    (n.collections.customers as Record<string, unknown>).optOutField = "opt_out";
    const issues = issuesOf(() => validateDataMap(n));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: "references.1.to", message: 'unknown collection "items"' },
        { path: "collections.customers.fields.email.category", message: "required (or set a default category on the collection)" },
        { path: "collections.customers.optOutField", message: '"opt_out" is not listed under fields' },
      ]),
    );
  });

  it("refuses rewriting key columns, cycles, unreachable collections and missing identity", () => {
    const m = minimal();
    (m.collections.orders.fields as Record<string, unknown>).customer_id = { erasure: "null" };
    expect(issuesOf(() => validateDataMap(m))[0]).toEqual({
      path: "collections.orders.fields.customer_id.erasure",
      message: "null is not allowed on a primary key or reference column (use delete or keep)",
    });

    const c = minimal();
    c.references.push({ from: "orders.customer_id", to: "customers.id" });
    expect(issuesOf(() => validateDataMap(c))[0]).toMatchObject({ path: "references", message: expect.stringMatching(/cycle \(customers → orders → customers\)/) });

    const u = minimal();
    u.references = [];
    expect(issuesOf(() => validateDataMap(u))).toEqual([{ path: "collections.orders", message: expect.stringMatching(/not reachable/) }]);

    const i = minimal();
    (i.collections.customers.fields as Record<string, unknown>).email = {};
    expect(issuesOf(() => validateDataMap(i))[0]).toMatchObject({ path: "collections", message: expect.stringMatching(/no field is marked as an identity/) });

    const e = minimal();
    delete (e.collections.orders as Partial<typeof e.collections.orders>).erasure;
    expect(issuesOf(() => validateDataMap(e))[0]?.path).toBe("collections.orders.erasure");
  });

  it("checks connections per kind", () => {
    expect(issuesOf(() => validateDataMap({ ...minimal(), kind: "oracle" }))).toEqual([
      { path: "kind", message: "kind must be one of: postgres, mysql, http, manual" },
    ]);
    expect(issuesOf(() => validateDataMap({ ...minimal(), connection: { url: "mysql://x@h/db" } }))[0]).toMatchObject({ path: "connection.url" });
    const http = {
      name: "crm",
      kind: "http",
      metadata: { purposes: ["Support"], retention: "2 years", source: "You" },
      connection: { baseUrl: "http://crm.internal/privacy", secret: "env:CRM_SECRET" },
    };
    expect(issuesOf(() => validateDataMap(http))).toEqual([{ path: "connection.baseUrl", message: expect.stringMatching(/must use https/) }]);
    expect(validateDataMap({ ...http, connection: { ...http.connection, tls: { allowHttp: true } } }).kind).toBe("http");
    expect(issuesOf(() => validateDataMap({ ...http, connection: { baseUrl: "https://crm/x", secret: "short" } }))).toEqual([
      { path: "connection.secret", message: "must be at least 32 characters" },
    ]);
    expect(
      validateDataMap({
        name: "zendesk",
        kind: "manual",
        metadata: { purposes: ["Support"], retention: "2 years", source: "You" },
        connection: { instructions: "Search the user in Zendesk and delete them." },
      }).kind,
    ).toBe("manual");
  });

  it("reports YAML syntax errors with the line", () => {
    expect(issuesOf(() => parseDataMapText("name: shop\nkind: [postgres\n"))[0]?.message).toMatch(/^line \d+:/);
    expect(issuesOf(() => parseDataMapText("name: a\nname: b\n"))[0]?.message).toMatch(/unique|duplicate/i);
  });

  it("splits literal secrets out of a map and leaves env references", () => {
    const { map, secrets } = extractSecrets({ ...minimal(), connection: { url: "postgres://u:pw@db/shop", password: "env:PW" } });
    expect(secrets).toEqual({ url: "postgres://u:pw@db/shop" });
    expect(map.connection).toEqual({ url: "stored", password: "env:PW" });
    expect(validateDataMap(map).kind).toBe("postgres");
  });

  it("normalizes identities", () => {
    expect(normalizeSubject({ email: "  Alice@Example.COM ", phone: "+44 (20) 7946-0958", accountId: " 42 " })).toEqual({
      email: "alice@example.com",
      phone: "+442079460958",
      accountId: "42",
    });
    expect(normalizePhone("0044 20 7946 0958")).toBe("+442079460958");
    expect(normalizePhone("020 7946 0958")).toBeUndefined();
    expect(normalizePhone("020 7946 0958", "+44")).toBe("+442079460958");
    expect(normalizePhone("12")).toBeUndefined();
    expect(normalizeSubject({ email: "not an email", phone: "abc" })).toEqual({});
  });

  it("summarizes what the customer is told about a store (Art. 15)", () => {
    const d = storeDisclosure(loadDataMap(docExample()));
    expect(d).toMatchObject({
      store: "shop-db",
      title: "Web shop database",
      purposes: ["Order fulfilment", "Customer service", "Fraud prevention"],
      recipients: ["Parcel carriers", "Payment processor (Stripe)"],
      source: "Provided by you when you registered and ordered",
      transfers: "None outside the EEA",
    });
    expect(d.categories).toEqual(["behaviour", "commercial", "communications", "contact", "credentials", "identifiers", "location", "payment", "preferences"]);
    expect(d.collections.find((c) => c.name === "orders")).toMatchObject({ retention: "10 years after the order", categories: ["commercial", "contact", "identifiers"] });
    expect(d.collections.find((c) => c.name === "customers")!.omittedFields).toEqual(["password_hash"]);
  });
});

describe("correction and opt-out markers", () => {
  it("resolves subjectAttribute parts and optOut markers (and the older collection-level markers)", () => {
    const map = loadDataMap(docExample());
    const customers = map.collections.customers!;
    expect(customers.fields.full_name!.subjectAttribute).toBe("name");
    expect(customers.fields.sale_opt_out!.optOut).toEqual({ kind: "sale_sharing", set: true });
    expect(customers.fields.marketing_opt_in!.optOut).toEqual({ kind: "marketing_consent", set: false });
    expect(map.collections.addresses!.fields.postcode!.subjectAttribute).toBe("postcode");

    const legacy = minimal();
    Object.assign(legacy.collections.customers.fields, { sale: {}, consent: {} });
    Object.assign(legacy.collections.customers, { optOutField: "sale", consentField: "consent" });
    const fields = validateDataMap(legacy).collections.customers!.fields;
    expect([fields.sale!.optOut, fields.consent!.optOut]).toEqual([
      { kind: "sale_sharing", set: true },
      { kind: "marketing_consent", set: false },
    ]);
  });

  it("refuses bad markers with their path", () => {
    const m = minimal();
    Object.assign(m.collections.customers.fields, {
      nick: { subjectAttribute: "nickname" },
      flag: { optOut: { kind: "sale", set: true } },
      other: { optOut: { kind: "sale_sharing" } },
      both: { subjectAttribute: "name", optOut: { kind: "sale_sharing", set: true } },
    });
    (m.collections.orders.fields as Record<string, unknown>).customer_id = { optOut: { kind: "sensitive_limit", set: true } };
    const issues = issuesOf(() => validateDataMap(m));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: "collections.customers.fields.nick.subjectAttribute", message: expect.stringContaining("subjectAttribute must be one of: name, given_name, family_name") },
        { path: "collections.customers.fields.flag.optOut.kind", message: "optOut.kind must be one of: sale_sharing, sensitive_limit, marketing_consent" },
        { path: "collections.customers.fields.other.optOut.set", message: expect.stringContaining("optOut needs the value to `set`") },
      ]),
    );
    const n = minimal();
    Object.assign(n.collections.customers.fields, { both: { subjectAttribute: "name", optOut: { kind: "sale_sharing", set: true } } });
    (n.collections.orders.fields as Record<string, unknown>).customer_id = { optOut: { kind: "sensitive_limit", set: true } };
    expect(issuesOf(() => validateDataMap(n))).toEqual([
      { path: "collections.customers.fields.both.optOut", message: "a field holds either a subject attribute or a preference, not both" },
      { path: "collections.orders.fields.customer_id.optOut", message: "not allowed on a primary key, reference or identity column (an opt-out only sets a preference)" },
    ]);
  });

  it("the demo maps carry the markers the demo shows", () => {
    for (const name of ["shop", "marketing", "support"]) {
      const map = loadDataMap(readFileSync(new URL(`../../scripts/demo-stores/${name}.yaml`, import.meta.url), "utf8"));
      const fields = Object.values(map.collections).flatMap((c) => Object.values(c.fields));
      expect(fields.some((f) => f.subjectAttribute), name).toBe(true);
      expect(fields.some((f) => f.optOut), name).toBe(true);
    }
  });
});

describe("what a correction or an opt-out writes", () => {
  it("targets the marked fields with values normalized like identities; refuses values that do not normalize", () => {
    const map = loadDataMap(docExample());
    const t = correctionTargets(map, { name: " Ada  King ", email: " Ada.King@Example.COM", phone: "020 7946 0000", country: "" });
    expect(t.names).toEqual(["name", "email", "phone"]);
    expect(Object.fromEntries(t.collections)).toEqual({
      customers: [
        { field: "email", value: "ada.king@example.com", onlyIfEmpty: false },
        { field: "phone", value: "+442079460000", onlyIfEmpty: false },
        { field: "full_name", value: "Ada  King", onlyIfEmpty: false },
      ],
    });
    expect(() => normalizeCorrectionValues({ phone: "0123" })).toThrow(/phone is not a valid value/);
    expect(correctionTargets(map, { postal_address: "1 Road, Town" }).collections.size).toBe(0);

    const now = new Date("2026-11-25T12:00:00Z");
    const o = optOutTargets(map, ["sale_sharing", "sensitive_limit"], now);
    expect(o.names).toEqual(["sale_sharing"]);
    expect(Object.fromEntries(o.collections)).toEqual({ customers: [{ field: "sale_opt_out", value: true, onlyIfEmpty: false }] });
    const task = updateTask("shop-db", map, "opt_out", ["sensitive_limit"]);
    expect(task).toMatchObject({ store: "shop-db", action: "opt_out" });
    expect(task.instructions).toContain("marks no field for this (sensitive limit)");
  });
});
