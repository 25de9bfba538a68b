/**
 * Open store connectors kept by a long-running worker (ADR 021), against a real PostgreSQL store: without keeping,
 * every piece of work connects and disconnects; with `keepStoreConnectors`, the same backend connection serves the
 * next piece of work, a changed store (map, secret, or the value of an `env:NAME` it names) gets a new connector and
 * the old one is closed, an idle connector is closed, a failed piece of work leaves it usable, and
 * `closeStoreConnectors` closes everything. Also the erasure's `beforeCommit`: called with the report while the
 * store has not committed yet; a throw there rolls the erasure back and reaches the caller as it was thrown.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  applyStoreMap,
  closeStoreConnectors,
  dryRunStore,
  keepStoreConnectors,
  keptStoreConnectors,
  withStoreConnector,
} from "#app/models/stores.server.ts";
import type { ErasureReport } from "#app/connectors/types.ts";
import { getDb } from "#db/client.server.ts";
import { eventually } from "#tests/helpers/flow.ts";
import { createScratchPostgres, type ScratchPostgres } from "#tests/helpers/scratch-db.ts";

const SUBJECT = { email: "kept.connector@example.com" };
const ENV_URL = "PORTAL_TEST_KEPT_CONNECTOR_URL";
let store: ScratchPostgres;

/** The backend pids connected to the store's database right now, other than the test's own admin connection. */
async function storeBackends() {
  const rows = await store.sql<{ pid: number }[]>`
    select pid from pg_stat_activity where datname = ${store.name} and pid <> pg_backend_pid() order by pid`;
  return rows.map((r) => r.pid);
}

/** Waits until the store is served only by new backends: those in `before` closed, at least one other open. */
async function replacedBackends(before: number[]) {
  await eventually(async () => {
    const now = await storeBackends();
    return now.length > 0 && now.every((pid) => !before.includes(pid));
  });
}

function mapWith(url: string, purpose = "Orders") {
  return {
    name: "kept",
    title: "Kept connector store",
    kind: "postgres",
    connection: { url, tls: { mode: "disable" } },
    metadata: { purposes: [purpose], retention: "1 year", source: "You" },
    collections: {
      customers: { category: "contact", erasure: "delete", fields: { id: { category: "identifiers" }, email: { identity: "email" } } },
    },
  };
}

const dryRun = async () => {
  const result = await dryRunStore(getDb(), "kept", { subject: SUBJECT, action: "erase" });
  expect(result).toMatchObject({ action: "erase", report: { totals: { matched: 1, deleted: 1 } } });
};

beforeAll(async () => {
  store = await createScratchPostgres("kept");
  await store.sql.unsafe(`create table customers (id int primary key, email text not null);
    create index on customers (email);
    insert into customers values (1, '${SUBJECT.email}'), (2, 'someone.else@example.com');`);
  await applyStoreMap(getDb(), mapWith(store.url));
}, 60_000);

afterEach(async () => {
  await closeStoreConnectors();
});

afterAll(async () => {
  delete process.env[ENV_URL];
  await store?.drop();
});

describe("store connectors", () => {
  it("without keeping, each piece of work connects and closes its connection", async () => {
    await dryRun();
    await eventually(async () => (await storeBackends()).length === 0);
    expect(keptStoreConnectors()).toBe(0);
  });

  it("kept: the next piece of work reuses the open connection; closeStoreConnectors closes it", async () => {
    keepStoreConnectors();
    await dryRun();
    const first = await storeBackends();
    expect(first.length).toBeGreaterThan(0);
    await dryRun();
    await dryRun();
    expect(await storeBackends()).toEqual(first);
    expect(keptStoreConnectors()).toBe(1);
    await closeStoreConnectors();
    await eventually(async () => (await storeBackends()).length === 0);
    expect(keptStoreConnectors()).toBe(0);
  });

  it("kept: a changed map gets a new connector and the old one is closed", async () => {
    keepStoreConnectors();
    await dryRun();
    const before = await storeBackends();
    const applied = await applyStoreMap(getDb(), mapWith(store.url, "Orders and returns"));
    expect(applied.changed).toBe(true);
    await dryRun();
    await replacedBackends(before);
    expect(keptStoreConnectors()).toBe(1);
  });

  it("kept: a new value of the env:NAME the connection names gets a new connector", async () => {
    process.env[ENV_URL] = store.url;
    await applyStoreMap(getDb(), mapWith(`env:${ENV_URL}`));
    keepStoreConnectors();
    await dryRun();
    const before = await storeBackends();
    expect(before.length).toBeGreaterThan(0);
    process.env[ENV_URL] = store.url.replace("127.0.0.1", "localhost");
    expect(process.env[ENV_URL]).not.toBe(store.url);
    await dryRun();
    await replacedBackends(before);
  });

  it("kept: an idle connector is closed after the idle time", async () => {
    keepStoreConnectors({ idleMs: 200 });
    await dryRun();
    expect((await storeBackends()).length).toBeGreaterThan(0);
    await eventually(async () => (await storeBackends()).length === 0 && keptStoreConnectors() === 0);
  });

  it("kept: a piece of work that fails in the store (a table gone) leaves the connector usable for the next", async () => {
    keepStoreConnectors();
    await dryRun();
    const before = await storeBackends();
    await store.sql.unsafe(`alter table customers rename to customers_gone`);
    try {
      await expect(dryRunStore(getDb(), "kept", { subject: SUBJECT, action: "erase" })).rejects.toThrow();
    } finally {
      await store.sql.unsafe(`alter table customers_gone rename to customers`);
    }
    await dryRun();
    expect(await storeBackends()).toEqual(before);
    expect(keptStoreConnectors()).toBe(1);
  });

  it("erase calls beforeCommit with its report before the store commits; a throw there rolls back and comes out as thrown", async () => {
    const subjectRows = async () => (await store.sql`select count(*)::int as n from customers where email = ${SUBJECT.email}`)[0]!.n as number;
    const portalDown = new Error("the portal's database is down");
    const refused = withStoreConnector(getDb(), "kept", (c) =>
      c.erase(SUBJECT, {
        beforeCommit: async () => {
          throw portalDown;
        },
      }),
    );
    await expect(refused).rejects.toBe(portalDown);
    expect(await subjectRows()).toBe(1);

    let seen: { report: ErasureReport; rowsThen: number } | undefined;
    const result = await withStoreConnector(getDb(), "kept", (c) =>
      c.erase(SUBJECT, {
        beforeCommit: async (report) => {
          seen = { report, rowsThen: await subjectRows() };
        },
      }),
    );
    expect(result.status).toBe("done");
    expect(seen?.rowsThen).toBe(1); // not committed yet: another connection still sees the row
    expect(seen?.report).toEqual((result as { report: ErasureReport }).report);
    expect(seen?.report.totals).toMatchObject({ matched: 1, deleted: 1 });
    expect(await subjectRows()).toBe(0);
    await store.sql`insert into customers values (1, ${SUBJECT.email})`;
  });
});
