/**
 * Access packages: CSV cells neutralize formulas; sealed files (AES-256-GCM, wrapped data key) round-trip and
 * refuse tampering; a package assembled from a store's streamed parts holds its JSON, CSVs and an escaped cover
 * sheet; the download needs an emailed code, counts and audits every download, and ends when the package expires.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import {
  buildPackage,
  coverSheetHtml,
  csvLine,
  downloadInfo,
  openPackageDownload,
  openSealed,
  openStoreParts,
  packageDir,
  purgeExpiredPackages,
  requestDownloadCode,
  sealedWriter,
  sendDownloadCode,
  verifyDownloadCode,
} from "#app/models/packages.server.ts";
import { insertRequest } from "#app/models/requests.server.ts";
import { issueStatusToken } from "#app/models/status.server.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getDb } from "#db/client.server.ts";
import { packageDownloadCodes, packages, requests, storeRuns } from "#db/schema/index.ts";
import { startWeb } from "#tests/helpers/web.ts";
import { closeConnections } from "#tests/helpers/worker.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";
import { addStaff, sessionCookie } from "./console-fixtures.ts";
import { parseCsv, streamToBuffer, unzip } from "./execution-fixtures.ts";

vi.hoisted(() => {
  process.env.PACKAGE_DIR = `${process.env.TMPDIR ?? "/tmp"}/portal-packages-${process.pid}-${Math.random().toString(36).slice(2)}`;
});

const db = () => getDb();
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "portal-sealed-"));
});
afterAll(async () => {
  await closeConnections();
  await rm(scratch, { recursive: true, force: true });
  await rm(packageDir(), { recursive: true, force: true });
});

describe("csv", () => {
  it("writes a collection row with the shared CSV writer: JSON for objects, formulas neutralized, numbers kept", () => {
    expect(csvLine(["=SUM(A1)", -5, true, null, { a: "=1" }, 'a "b", c', "line\nbreak"])).toBe(
      '"\'=SUM(A1)","-5","true","","{""a"":""=1""}","a ""b"", c","line\nbreak"\r\n',
    );
  });
});

describe("sealed files", () => {
  it("round-trip through AES-256-GCM with a wrapped per-file key; the ciphertext has the plaintext's size; tampering fails", async () => {
    const path = join(scratch, "a.enc");
    const w = sealedWriter(path, "test:a");
    const text = "secret row ".repeat(10_000);
    w.stream.write(text);
    const seal = await w.done();
    const raw = await readFile(path);
    expect(raw.length).toBe(Buffer.byteLength(text));
    expect(seal.sizeBytes).toBe(raw.length);
    expect(raw.includes(Buffer.from("secret row"))).toBe(false);
    expect((await streamToBuffer(openSealed(path, seal, "test:a"))).toString()).toBe(text);
    // The wrong context (another file's key slot) does not open it.
    expect(() => openSealed(path, seal, "test:b")).toThrow(/decrypt/i);
    // A flipped byte is detected when the stream ends.
    raw[100] = raw[100]! ^ 1;
    await writeFile(path, raw);
    await expect(streamToBuffer(openSealed(path, seal, "test:a"))).rejects.toThrow();
  });
});

describe("cover sheet", () => {
  it("escapes every value taken from a data map", () => {
    const html = coverSheetHtml({
      orgName: "Shop <b>",
      reference: "PR-AAAA-BBBB",
      requestTypeLabel: "Access my data",
      format: "access",
      generatedAt: new Date("2026-01-05T10:00:00Z"),
      expiresAt: new Date("2026-01-12T10:00:00Z"),
      stores: [
        {
          disclosure: {
            store: "crm",
            title: "<script>alert(1)</script>",
            purposes: ["Sales & marketing"],
            legalBasis: [],
            recipients: ["\"Partners\""],
            retention: "2 years",
            source: "You",
            categories: ["contact"],
            collections: [{ name: "people", categories: ["contact"], purposes: ["Sales"], retention: "2 years", omittedFields: ["secret"] }],
          },
          outcome: { kind: "exported", collections: { people: 1 } },
        },
      ],
    });
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("Shop &lt;b&gt;");
    expect(html).toContain("Sales &amp; marketing");
    expect(html).toContain("&quot;Partners&quot;");
    expect(html).toContain("Not included for security: secret");
    expect(html).not.toMatch(/<script|src=|href=/);
  });
});

async function packagedRequest() {
  const email = `pkg-${Math.random().toString(36).slice(2)}@example.com`;
  const created = await insertRequest(db(), { type: "access", email, region: "EU", receivedAt: new Date() });
  await db().update(requests).set({ status: "processing" }).where(eq(requests.id, created.id));
  const { store } = await applyStoreMap(db(), {
    name: `crm-${created.id.slice(0, 8)}`,
    title: "CRM",
    kind: "manual",
    connection: { instructions: "Look it up." },
    metadata: { purposes: ["Sales"], retention: "2 years", source: "You" },
    collections: { people: { category: "contact", fields: { id: {}, email: { identity: "email" }, note: {}, secret: { access: "omit" } } } },
  });
  await db().insert(storeRuns).values({ requestId: created.id, storeId: store.id, action: "access", status: "completed", report: { rows: 3, collections: { people: 2, notes: 1 } } });
  const parts = await openStoreParts({ requestId: created.id, storeId: store.id, storeName: store.name, storeTitle: "CRM", format: "access", columns: { people: ["id", "email", "note"] } });
  await parts.write({ type: "row", collection: "people", row: { id: 1, email, note: "=cmd|' /C calc'!A0" } });
  await parts.write({ type: "row", collection: "people", row: { id: 2, email, note: "hello, \"world\"" } });
  await parts.write({ type: "row", collection: "notes", row: { id: 9, text: "n" } });
  await parts.finish(db());
  const pkg = await buildPackage(db(), created.id);
  const token = await issueStatusToken(db(), created.id);
  return { ...created, email, store, pkg, token };
}

describe("packages", () => {
  it("assembles a store's streamed parts and the cover sheet into one zip; building again returns the same package", async () => {
    const { id, store, pkg, token, email } = await packagedRequest();
    expect(await buildPackage(db(), id)).toMatchObject({ id: pkg.id });
    // Download without a grant is refused.
    await expect(openPackageDownload(db(), token, "x".repeat(43))).rejects.toMatchObject({ code: "no_grant" });

    expect(await downloadInfo(db(), id)).toMatchObject({ packageId: pkg.id, codeSent: false, format: "access" });
    await requestDownloadCode(db(), token);
    await expect(requestDownloadCode(db(), token)).rejects.toMatchObject({ code: "cooldown" });
    const [challenge] = await db().select().from(packageDownloadCodes).where(eq(packageDownloadCodes.requestId, id));
    expect(challenge!.codeHash).toBeNull(); // the web process never sees the code
    expect(await sendDownloadCode(db(), challenge!.id)).toBe("sent");
    expect(await sendDownloadCode(db(), challenge!.id)).toBe("skipped");
    expect(await downloadInfo(db(), id)).toMatchObject({ codeSent: true });
    const mail = await testMailbox().waitFor((m) => m.to.includes(email) && m.text.includes("Download of your data"));
    expect(mail.subject).toMatch(/^Your code to download your data \(PR-[A-Z0-9-]+\)$/);
    expect(mail.text).not.toContain("Confirm your privacy request");
    const code = /\b(\d{3}) ?(\d{3})\b/.exec(mail.text)!.slice(1).join("");

    const wrong = code === "000000" ? "111111" : "000000";
    expect(await verifyDownloadCode(db(), token, wrong)).toMatchObject({ ok: false, reason: "invalid", attemptsLeft: 4 });
    const ok = await verifyDownloadCode(db(), token, code);
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(await verifyDownloadCode(db(), token, code)).toMatchObject({ ok: false, reason: "invalid" }); // single use

    const download = await openPackageDownload(db(), token, ok.grant);
    expect(download.filename).toMatch(/^PR-[A-Z0-9-]+-your-data\.zip$/);
    const zip = await unzip(await streamToBuffer(download.stream));
    expect([...zip.keys()].sort()).toEqual(["index.html", `${store.name}/${store.name}.json`, `${store.name}/notes.csv`, `${store.name}/people.csv`].sort());
    const json = JSON.parse(zip.get(`${store.name}/${store.name}.json`)!.toString()) as { collections: Record<string, unknown[]> };
    expect(json.collections.people).toHaveLength(2);
    expect(json.collections.notes).toEqual([{ id: 9, text: "n" }]);
    const people = parseCsv(zip.get(`${store.name}/people.csv`)!.toString());
    expect(people).toEqual([["id", "email", "note"], ["1", email, "'=cmd|' /C calc'!A0"], ["2", email, 'hello, "world"']]);
    expect(zip.get("index.html")!.toString()).toContain("CRM");

    await streamToBuffer((await openPackageDownload(db(), token, ok.grant)).stream);
    const [row] = await db().select().from(packages).where(eq(packages.id, pkg.id));
    expect(row!.downloadCount).toBe(2);
    const events = (await listEvents(db(), id)).map((e) => e.action);
    expect(events.filter((a) => a === "package.downloaded")).toHaveLength(2);
    expect(events).toEqual(expect.arrayContaining(["package.created", "package.code_requested", "package.code_sent", "package.code_failed", "package.code_verified"]));

    // The grant expires; so does the package, whose file is then deleted.
    await db().update(packageDownloadCodes).set({ grantExpiresAt: new Date(Date.now() - 1000) }).where(eq(packageDownloadCodes.requestId, id));
    await expect(openPackageDownload(db(), token, ok.grant)).rejects.toMatchObject({ code: "no_grant" });
    await db().update(packages).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(packages.id, pkg.id));
    await expect(openPackageDownload(db(), token, ok.grant)).rejects.toMatchObject({ status: 410 });
    expect(await downloadInfo(db(), id)).toBeUndefined();
    expect(await purgeExpiredPackages(db())).toMatchObject({ deleted: 1 });
    await expect(stat(join(packageDir(), pkg.path))).rejects.toThrow();
    expect((await db().select().from(packages).where(eq(packages.id, pkg.id)))[0]!.deletedAt).toBeInstanceOf(Date);
  });

  it("staff download it from the request page after a step-up (workers only), each download audited with their name", async () => {
    const { id, reference, pkg, store } = await packagedRequest();
    const web = await startWeb();
    try {
      const processor = await addStaff(db(), "processor");
      const auditor = await addStaff(db(), "auditor");
      const get = async (path: string, cookie: string) => fetch(web.url + path, { redirect: "manual", headers: { Cookie: cookie } });
      const path = `/admin/requests/${reference}/package`;

      const page = await (await get(`/admin/requests/${reference}`, await sessionCookie(db(), processor.id))).text();
      expect(page).toContain(`href="${path}"`);
      const noStepUp = await get(path, await sessionCookie(db(), processor.id));
      expect(noStepUp.status).toBe(302);
      expect(noStepUp.headers.get("location")).toContain("/admin/step-up");
      const refused = await get(path, await sessionCookie(db(), auditor.id, { stepUp: true }));
      expect(refused.status).toBe(403);
      expect(await refused.text()).not.toContain(store.name);
      expect((await get(`/admin/requests/PR-2222-2222/package`, await sessionCookie(db(), processor.id, { stepUp: true }))).status).toBe(404);

      const ok = await get(path, await sessionCookie(db(), processor.id, { stepUp: true }));
      expect(ok.status).toBe(200);
      expect(ok.headers.get("content-type")).toBe("application/zip");
      expect(ok.headers.get("content-disposition")).toBe(`attachment; filename="${reference}-package.zip"`);
      expect(ok.headers.get("cache-control")).toBe("no-store");
      const zip = await unzip(Buffer.from(await ok.arrayBuffer()));
      expect([...zip.keys()]).toContain(`${store.name}/people.csv`);
      const downloads = (await listEvents(db(), id)).filter((e) => e.action === "package.downloaded");
      expect(downloads).toEqual([expect.objectContaining({ actorType: "staff", actorId: processor.id, details: { packageId: pkg.id, download: 1 } })]);
    } finally {
      await web.close();
    }
  });

  it("too many wrong codes end the code", async () => {
    const { token, id } = await packagedRequest();
    await requestDownloadCode(db(), token);
    const [challenge] = await db().select().from(packageDownloadCodes).where(eq(packageDownloadCodes.requestId, id));
    await sendDownloadCode(db(), challenge!.id);
    for (let i = 0; i < 4; i++) expect((await verifyDownloadCode(db(), token, "12345x")).ok).toBe(false);
    expect(await verifyDownloadCode(db(), token, "123456")).toMatchObject({ ok: false });
    expect(await verifyDownloadCode(db(), token, "123456")).toMatchObject({ ok: false, reason: "too_many_attempts" });
  });
});
