/**
 * The demo's connected stores in scratch databases for tests: the `shop` PostgreSQL database, the `marketing`
 * MariaDB database and the `support` HTTP service, filled with a few demo customers and applied with their maps
 * (scripts/demo-stores). Requests put straight into the state verification leaves them in. Plus reading a zip
 * (yauzl) for the package checks.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll } from "vitest";
import yauzl from "yauzl";
import { packageDir } from "#app/models/packages.server.ts";
import { insertRequest } from "#app/models/requests.server.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getDb, type Executor } from "#db/client.server.ts";
import { requests } from "#db/schema/index.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { demoCustomers, type DemoCustomer } from "#scripts/demo-stores/customers.ts";
import { demoStoreMaps } from "#scripts/demo-stores/index.ts";
import { setUpMarketing } from "#scripts/demo-stores/marketing.ts";
import { setUpShop } from "#scripts/demo-stores/shop.ts";
import { startSupportService, type SupportService } from "#scripts/demo-stores/support-service.ts";
import { createScratchMysql, createScratchPostgres, type ScratchMysql, type ScratchPostgres } from "#tests/helpers/scratch-db.ts";
import { setUpInBeforeAll } from "#tests/helpers/set-up.ts";
import { stopWorkerAndConnections } from "#tests/helpers/worker.ts";

export type DemoStores = {
  customers: DemoCustomer[];
  shop: ScratchPostgres;
  marketing: ScratchMysql;
  support: SupportService;
  storeIds: Record<"shop" | "marketing" | "support", string>;
  close: () => Promise<void>;
};

export async function createDemoStores(db: Executor, count = 20): Promise<DemoStores> {
  const customers = demoCustomers(count);
  const shop = await createScratchPostgres("shop");
  await setUpShop(shop.sql, customers);
  const marketing = await createScratchMysql("mkt");
  await setUpMarketing(marketing.pool, customers);
  const secret = randomBytes(32).toString("base64url");
  const support = await startSupportService({ secret, customers });
  const storeIds = {} as DemoStores["storeIds"];
  for (const map of demoStoreMaps({ shopUrl: shop.url, marketingUrl: marketing.url, supportUrl: support.url, supportSecret: secret })) {
    const { store } = await applyStoreMap(db, map);
    storeIds[store.name as keyof DemoStores["storeIds"]] = store.id;
  }
  return {
    customers,
    shop,
    marketing,
    support,
    storeIds,
    async close() {
      await support.close();
      await shop.drop();
      await marketing.drop();
    },
  };
}

/**
 * The demo stores (20 customers) and a real worker (concurrency 3) for the execution tests of one file: created before
 * them (this `beforeAll` is registered first); after them the worker and the connections are stopped, the stores
 * dropped and the package directory (PACKAGE_DIR, set by the file in `vi.hoisted`) removed.
 */
export function demoStoresAndWorkerForTests(): Omit<DemoStores, "close"> {
  const demo = setUpInBeforeAll<DemoStores>("the demo stores");
  let worker: RunningWorker | undefined;
  beforeAll(async () => {
    demo.set(await createDemoStores(getDb(), 20));
    worker = await startWorker({ concurrency: 3, schedules: false });
  }, 60_000);
  afterAll(async () => {
    await stopWorkerAndConnections(worker);
    await demo.peek()?.close();
    await rm(packageDir(), { recursive: true, force: true });
  });
  return {
    get customers() {
      return demo.get().customers;
    },
    get shop() {
      return demo.get().shop;
    },
    get marketing() {
      return demo.get().marketing;
    },
    get support() {
      return demo.get().support;
    },
    get storeIds() {
      return demo.get().storeIds;
    },
  };
}

/**
 * A request inserted (received now) and put in `status` (default `approved`) as a verified email leaves it
 * (verification level 1), ready for the worker's execution or matching.
 */
export async function verifiedRequest(db: Executor, input: Omit<Parameters<typeof insertRequest>[1], "receivedAt">, status: "approved" | "verified" = "approved") {
  const created = await insertRequest(db, { ...input, receivedAt: new Date() });
  await db.update(requests).set({ status, verifiedAt: new Date(), verificationLevel: 1 }).where(eq(requests.id, created.id));
  return created;
}

/** Every entry of a zip (in memory; test packages are small). */
export function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error("no zip"));
      const out = new Map<string, Buffer>();
      zip.on("entry", (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error("no stream"));
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
          stream.on("error", reject);
        });
      });
      zip.on("end", () => resolve(out));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

export async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Parses CSV text (RFC 4180 quoting) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
