/**
 * `npx tsx bench/execution-parts-probe.ts [rows]` — where an access export's time goes on the portal's side: the
 * same rows written (1) through `openStoreParts().write` as execute-store does, (2) straight into two sealed files
 * (JSON and CSV) with one write per row each, (3) into the same files in 64 KiB chunks. bench:execution found the
 * export of a heavy subject dominated by (1); this shows how much buffering the part writer's output would save.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
const dir = mkdtempSync(join(os.tmpdir(), "probe-"));
Object.assign(process.env, { NODE_ENV: "test", DATABASE_URL: "postgres://x@127.0.0.1/x", REDIS_URL: "redis://127.0.0.1", SESSION_SECRET: randomBytes(32).toString("hex"), ENCRYPTION_KEYS: `k:${randomBytes(32).toString("base64")}`, BLIND_INDEX_KEY: randomBytes(32).toString("base64"), PACKAGE_DIR: dir, SMTP_URL: "smtp://127.0.0.1:1" });
const { openStoreParts, sealedWriter } = await import("#app/models/packages.server.ts");
const N = Number(process.argv[2] ?? 100000);
if (!Number.isInteger(N) || N < 1) throw new Error("usage: npx tsx bench/execution-parts-probe.ts [rows]");
const row = (i: number) => ({ id: i, contact_id: 2, campaign: "welcome-series", event: "sent", occurred_at: "2025-03-01T00:00:00.000Z" });
// 1. openStoreParts as the worker uses it
let t = performance.now();
const parts = await openStoreParts({ requestId: "r", storeId: "s", storeName: "marketing", format: "access", columns: { campaign_events: ["id", "contact_id", "campaign", "event", "occurred_at"] } });
for (let i = 0; i < N; i++) await parts.write({ type: "row", collection: "campaign_events", row: row(i) });
await parts.abort();
console.log(`openStoreParts.write: ${N} rows ${Math.round(performance.now() - t)} ms`);
// 2. the same bytes, one write per row per file
t = performance.now();
const a = sealedWriter(join(dir, "a"), "a"); const b = sealedWriter(join(dir, "b"), "b");
const put = async (s: NodeJS.WritableStream, c: string) => { if (!s.write(c)) await new Promise((r) => s.once("drain", r)); };
for (let i = 0; i < N; i++) { await put(a.stream, JSON.stringify(row(i)) + ","); await put(b.stream, Object.values(row(i)).join(",") + "\r\n"); }
await a.done(); await b.done();
console.log(`per-row writes: ${Math.round(performance.now() - t)} ms`);
// 3. buffered: 64 KiB chunks
t = performance.now();
const c = sealedWriter(join(dir, "c"), "c"); const d = sealedWriter(join(dir, "d"), "d");
let bc = ""; let bd = "";
for (let i = 0; i < N; i++) { bc += JSON.stringify(row(i)) + ","; bd += Object.values(row(i)).join(",") + "\r\n"; if (bc.length > 65536) { await put(c.stream, bc); bc = ""; } if (bd.length > 65536) { await put(d.stream, bd); bd = ""; } }
await put(c.stream, bc); await put(d.stream, bd); await c.done(); await d.done();
console.log(`buffered 64 KiB writes: ${Math.round(performance.now() - t)} ms`);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
