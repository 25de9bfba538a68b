/**
 * The `shop` data map the store tests share (a customers table with orders kept for tax law): the head of the map as
 * an object, and the whole map as the YAML text staff type into the console.
 */

/** The head of a shop map: its kind, a connection URL from the env variable `urlEnv` without TLS, and its metadata. */
export function shopMapHead<K extends "postgres" | "mysql">(kind: K, urlEnv: string) {
  return {
    kind,
    connection: { url: `env:${urlEnv}`, tls: { mode: "disable" } },
    metadata: { purposes: ["Orders"], retention: "10 years", source: "You" },
  };
}

export type ShopMapSource = {
  name?: string;
  /** Written as `title:` after the name when given. */
  title?: string;
  url?: string;
  /** The customers' `email:` field line (after `email: `). */
  email?: string;
  /** Lines appended after the email field (each starting with a newline). */
  customerFields?: string;
  basis?: string;
};

/** A valid shop map as YAML text: customers (id, email) and their orders (id, customer_id, total), kept for `basis`. */
export function shopMapSource({ name = "shop", title, url = "env:SHOP_DB_URL", email = "{ identity: email }", customerFields = "", basis = "Tax law" }: ShopMapSource = {}) {
  return `version: 1
name: ${name}
${title === undefined ? "" : `title: ${title}\n`}kind: postgres
connection:
  url: ${url}
  tls: { mode: disable }
metadata:
  purposes: [Orders]
  retention: 10 years
  source: You
collections:
  customers:
    category: contact
    erasure: delete
    fields:
      id: { category: identifiers }
      email: ${email}${customerFields}
  orders:
    category: commercial
    erasure: { action: keep, basis: ${basis} }
    fields:
      id: {}
      customer_id: {}
      total: {}
references:
  - { from: customers.id, to: orders.customer_id }
`;
}

/** The shop's `customers` collection: contact data whose rows are deleted on erasure, with these fields. */
export function customersCollection<F extends Record<string, object>>(fields: F) {
  return { category: "contact", erasure: "delete", fields };
}
