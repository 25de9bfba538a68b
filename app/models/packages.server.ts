/**
 * Access packages (docs/decisions/013-execution-and-packages.md).
 *
 * - While a request executes, each store's job writes its share as encrypted *parts*: the store's JSON (all its
 *   collections) and, for access requests, one CSV per collection — each streamed row by row through AES-256-GCM
 *   into its own file under PACKAGE_DIR, with a fresh data key wrapped by the master key (`encrypt()`).
 * - The finalizing job assembles the package: parts (decrypted as they stream) and a human-readable cover sheet
 *   (Art. 15(1)(a)-(h), from each store's data map) → zip (yazl, streaming) → AES-256-GCM with a fresh data key →
 *   one file. Nothing holds all rows in memory; nothing lands on disk unencrypted.
 * - The requester downloads it from the status page after re-verifying with an emailed code (ADR 006 again: the
 *   worker makes the code); the route streams the decrypted zip; every download is an audit event.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { PassThrough, Transform, type Readable, type Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { and, asc, eq, gt, isNull, lte, sql } from "drizzle-orm";
import yazl from "yazl";
import type { AccessItem, JsonValue } from "#app/connectors/types.ts";
import type { Executor } from "#db/client.server.ts";
import {
  packageDownloadCodes,
  packageParts,
  packages,
  requests,
  storeRuns,
  stores,
  type PackageFormat,
  type PackageRow,
  type RequestRow,
} from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { decrypt, encrypt, hashSecret, randomCode, randomToken } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { sendEmail } from "#app/utils/mailer.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { csvRecord } from "#app/utils/csv.ts";
import { appendEvent } from "./audit.server.ts";
import { storeDisclosure, validateDataMap, type StoreDisclosure } from "./data-map.ts";
import { formatDueDate } from "./deadlines.ts";
import { assertCooldownPassed, checkTypedCode, insertEmptySecret, mailNewSecret, newestUnusedSecret, rowToSend, type CodeRefusal, type SecretKind } from "./emailed-secret.server.ts";
import { DomainError } from "./errors.ts";
import { requestTypeInfo } from "./request-types.ts";
import { decryptIdentity, getRequestById } from "./requests.server.ts";
import { getRequestByStatusToken } from "./status.server.ts";

export function packageDir(): string {
  return resolve(getEnv().PACKAGE_DIR);
}

// ---------------------------------------------------------------------------------------------------------------
// Sealed files: a stream through AES-256-GCM into a file, the data key wrapped by the master key

export type Seal = { wrappedKey: string; iv: string; tag: string; sizeBytes: number };

const keyContext = (context: string) => `${context}:data-key`;

/**
 * A writable whose bytes are encrypted into `path` (written as `path.tmp`, renamed when done). `done()` ends the
 * stream and resolves with the wrapped key, IV, tag and size once the file is complete.
 */
export function sealedWriter(path: string, context: string) {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context));
  const input = new PassThrough();
  const tmp = `${path}.tmp`;
  let sizeBytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sizeBytes += chunk.length;
      cb(null, chunk);
    },
  });
  const written = (async () => {
    await mkdir(dirname(path), { recursive: true });
    await pipeline(input, cipher, counter, createWriteStream(tmp, { mode: 0o600 }));
  })();
  written.catch(() => {});
  return {
    stream: input as Writable,
    async done(): Promise<Seal> {
      input.end();
      await written;
      await rename(tmp, path);
      const seal = { wrappedKey: encrypt(key.toString("base64"), keyContext(context)), iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), sizeBytes };
      key.fill(0);
      return seal;
    },
    async abort() {
      input.destroy();
      await written.catch(() => {});
      await rm(tmp, { force: true });
    },
  };
}

/** The decrypted bytes of a sealed file, streamed. A tampered file errors at the end (the GCM tag is checked last). */
export function openSealed(path: string, seal: Pick<Seal, "wrappedKey" | "iv" | "tag">, context: string): Readable {
  const key = Buffer.from(decrypt(seal.wrappedKey, keyContext(context)), "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(seal.iv, "base64"), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(seal.tag, "base64"));
  const file = createReadStream(path);
  file.on("error", (err) => decipher.destroy(err));
  return file.pipe(decipher);
}

/** Writes a chunk, waiting for the stream to drain when its buffer is full. */
async function put(stream: Writable, chunk: string) {
  if (!stream.write(chunk)) await new Promise<void>((resolveDrain, reject) => {
    const onError = (err: Error) => reject(err);
    stream.once("error", onError);
    stream.once("drain", () => {
      stream.off("error", onError);
      resolveDrain();
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// CSV: the portal's one writer (app/utils/csv.ts: RFC 4180, formula injection neutralized)

/** One row of a collection's CSV: objects and arrays become their JSON text, the rest is written by csvRecord. */
export const csvLine = (cells: (JsonValue | undefined)[]) =>
  csvRecord(cells.map((value) => (typeof value === "object" && value !== null ? JSON.stringify(value) : value)));

// ---------------------------------------------------------------------------------------------------------------
// Parts: one store's share, written by the store's job

const partContext = (requestId: string, storeId: string, entry: string) => `package-part:${requestId}:${storeId}:${entry}`;

type Sealer = ReturnType<typeof sealedWriter>;

/**
 * Streams one store's access rows into encrypted part files: `<store>/<store>.json` with every collection, and (for
 * access, not portability) `<store>/<collection>.csv`. `finish` records them in package_parts (replacing an earlier
 * attempt's); `abort` removes the files.
 */
export async function openStoreParts(input: { requestId: string; storeId: string; storeName: string; storeTitle?: string | null; format: PackageFormat; columns?: Record<string, string[]> }) {
  const dir = join(packageDir(), "parts", input.requestId, input.storeId);
  const attempt = randomUUID();
  const files: { entry: string; path: string; sealer: Sealer; rows: number; pending: string }[] = [];
  const open = (entry: string) => {
    const path = join(dir, `${attempt}-${files.length}.part`);
    const file = { entry, path, sealer: sealedWriter(path, partContext(input.requestId, input.storeId, entry)), rows: 0, pending: "" };
    files.push(file);
    return file;
  };
  /** Rows are small: a stream write (and an AES-GCM update, a file write) per row costs more than the row; write 64 KiB at a time. */
  const add = async (file: (typeof files)[number], text: string) => {
    file.pending += text;
    if (file.pending.length >= 65_536) {
      const chunk = file.pending;
      file.pending = "";
      await put(file.sealer.stream, chunk);
    }
  };
  const json = open(`${input.storeName}/${input.storeName}.json`);
  const csv = new Map<string, { file: (typeof files)[number]; header: string[] }>();
  const closed = new Set<string>();
  let current: string | undefined;
  let firstRow = true;
  await add(json, `{"store":${JSON.stringify(input.storeName)},"title":${JSON.stringify(input.storeTitle ?? input.storeName)},"collections":{`);

  return {
    async write(item: AccessItem) {
      if (item.type !== "row") return;
      const { collection, row } = item;
      if (collection !== current) {
        if (current !== undefined) {
          await add(json, "]");
          closed.add(current);
        }
        // Connectors stream a collection's rows together; should one come back later, it gets its own key.
        let key = collection;
        for (let n = 2; closed.has(key); n++) key = `${collection} (${n})`;
        await add(json, `${current === undefined ? "" : ","}${JSON.stringify(key)}:[`);
        current = collection;
        firstRow = true;
      }
      await add(json, `${firstRow ? "" : ","}${JSON.stringify(row)}`);
      firstRow = false;
      json.rows += 1;
      if (input.format !== "access") return;
      let sheet = csv.get(collection);
      if (!sheet) {
        const header = input.columns?.[collection] ?? Object.keys(row);
        sheet = { file: open(`${input.storeName}/${collection}.csv`), header };
        csv.set(collection, sheet);
        await add(sheet.file, csvLine(header));
      }
      const extra = Object.keys(row).filter((k) => !sheet.header.includes(k));
      const cells: (JsonValue | undefined)[] = sheet.header.map((h) => row[h]);
      // A record with fields the header does not have (an HTTP service's varying records) keeps them, as JSON.
      if (extra.length > 0) cells.push(Object.fromEntries(extra.map((k) => [k, row[k]!])));
      await add(sheet.file, csvLine(cells));
      sheet.file.rows += 1;
    },

    async finish(db: Executor, clock: Clock = systemClock) {
      await add(json, `${current === undefined ? "" : "]"}}}\n`);
      for (const f of files) if (f.pending) await put(f.sealer.stream, f.pending);
      const sealed = await Promise.all(files.map(async (f) => ({ ...f, seal: await f.sealer.done() })));
      const stale = await db.transaction(async (tx) => {
        const old = await tx
          .delete(packageParts)
          .where(and(eq(packageParts.requestId, input.requestId), eq(packageParts.storeId, input.storeId)))
          .returning({ path: packageParts.path });
        await tx.insert(packageParts).values(
          sealed.map((f) => ({
            requestId: input.requestId,
            storeId: input.storeId,
            entry: f.entry,
            path: f.path,
            rows: f.rows,
            sizeBytes: f.seal.sizeBytes,
            wrappedKey: f.seal.wrappedKey,
            iv: f.seal.iv,
            tag: f.seal.tag,
            createdAt: clock(),
          })),
        );
        return old;
      });
      await Promise.all(stale.map((s) => rm(s.path, { force: true })));
      return { rows: json.rows, entries: sealed.map((f) => ({ entry: f.entry, rows: f.rows })) };
    },

    async abort() {
      await Promise.all(files.map((f) => f.sealer.abort()));
    },
  };
}

export type StoreParts = Awaited<ReturnType<typeof openStoreParts>>;

/** Whether a store's parts are recorded for the request (a completed access run whose parts were lost must rerun). */
export async function hasStoreParts(db: Executor, requestId: string, storeId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: packageParts.id })
    .from(packageParts)
    .where(and(eq(packageParts.requestId, requestId), eq(packageParts.storeId, storeId)))
    .limit(1);
  return row !== undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The cover sheet

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const list = (items: string[]) => (items.length === 0 ? "<p>None.</p>" : `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join("")}</ul>`);
const categoryLabel = (c: string) => c.replace(/_/g, " ");

export type CoverStore = {
  disclosure: StoreDisclosure;
  /** completed: rows per collection; task: handled by our staff (instructions shown to them, not here). */
  outcome: { kind: "exported"; collections: Record<string, number> } | { kind: "manual" } | { kind: "not_available" };
};

export type CoverSheetInput = {
  orgName: string;
  reference: string;
  requestTypeLabel: string;
  format: PackageFormat;
  generatedAt: Date;
  expiresAt: Date;
  stores: CoverStore[];
};

/** A self-contained HTML page (no scripts, no external resources) explaining the package, store by store. */
export function coverSheetHtml(input: CoverSheetInput): string {
  const date = (d: Date) => formatDueDate(d);
  const sections = input.stores.map(({ disclosure: d, outcome }) => {
    const rows =
      outcome.kind === "exported"
        ? Object.entries(outcome.collections)
            .map(([name, n]) => `<li><code>${esc(name)}</code>: ${n} record${n === 1 ? "" : "s"}</li>`)
            .join("")
        : "";
    const files =
      outcome.kind === "exported"
        ? `<p>Files: <code>${esc(d.store)}/${esc(d.store)}.json</code>${input.format === "access" ? ` and one CSV file per kind of record in <code>${esc(d.store)}/</code>` : ""}.</p>${rows ? `<ul>${rows}</ul>` : "<p>We found no records about you in this system.</p>"}`
        : outcome.kind === "manual"
          ? "<p>This system is searched by our staff by hand; anything they found is sent to you separately.</p>"
          : "<p>We could not export this system automatically; our staff will contact you.</p>";
    const collections = d.collections
      .map(
        (c) =>
          `<tr><td><code>${esc(c.name)}</code>${c.description ? `<br><small>${esc(c.description)}</small>` : ""}</td><td>${esc(c.categories.map(categoryLabel).join(", "))}</td><td>${esc(c.purposes.join("; "))}</td><td>${esc(c.retention)}</td><td>${c.omittedFields.length ? `Not included for security: ${esc(c.omittedFields.join(", "))}` : ""}</td></tr>`,
      )
      .join("");
    return `<section>
<h2>${esc(d.title ?? d.store)}</h2>
${files}
<h3>Categories of personal data</h3>${list(d.categories.map(categoryLabel))}
<h3>Why we process it (purposes)</h3>${list(d.purposes)}
<h3>Legal basis</h3>${list(d.legalBasis)}
<h3>Who receives it (recipients)</h3>${list(d.recipients)}
<h3>How long we keep it</h3><p>${esc(d.retention)}</p>
<h3>Where it comes from</h3><p>${esc(d.source)}</p>
${d.transfers ? `<h3>Transfers outside the EEA/UK</h3><p>${esc(d.transfers)}</p>` : ""}
<h3>Automated decision-making</h3><p>${esc(d.automatedDecisions ?? "None.")}</p>
${collections ? `<table><thead><tr><th>Kind of record</th><th>Categories</th><th>Purposes</th><th>Retention</th><th>Notes</th></tr></thead><tbody>${collections}</tbody></table>` : ""}
</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.orgName)} — your data (${esc(input.reference)})</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}section{border-top:2px solid #ddd;margin-top:2rem}</style>
</head><body>
<h1>The personal data ${esc(input.orgName)} holds about you</h1>
<p>Request <strong>${esc(input.reference)}</strong> (${esc(input.requestTypeLabel)}), prepared on ${esc(date(input.generatedAt))}. This file explains what is in this package, system by system: the categories of data, why we process it, who receives it, how long we keep it and where it came from.</p>
<p>${input.format === "access" ? "Each system's data is in a JSON file (machine-readable) and in CSV files, one per kind of record, which open in a spreadsheet." : "Each system's data is in a JSON file, a structured, commonly used and machine-readable format you can give to another organisation."}</p>
<p>Your rights: you may ask us to correct (rectify) or delete (erase) your data, to restrict its processing, or object to it. You may complain to a data protection supervisory authority. Keep this package safe: it contains your personal data.</p>
${sections.join("\n")}
</body></html>
`;
}

// ---------------------------------------------------------------------------------------------------------------
// Assembly (the finalizing job)

const packageContext = (packageId: string) => `package:${packageId}`;

export function packageFormatFor(type: RequestRow["type"]): PackageFormat | undefined {
  return type === "access" ? "access" : type === "portability" ? "portability" : undefined;
}

/** The request's package (not deleted), if any. */
export async function getPackage(db: Executor, requestId: string): Promise<PackageRow | undefined> {
  const [row] = await db.select().from(packages).where(and(eq(packages.requestId, requestId), isNull(packages.deletedAt))).limit(1);
  return row;
}

/**
 * Builds the request's package from its stores' parts and the cover sheet; idempotent (an existing package is
 * returned). The parts are deleted once the package is recorded.
 */
export async function buildPackage(db: Executor, requestId: string, clock: Clock = systemClock): Promise<PackageRow> {
  const existing = await getPackage(db, requestId);
  if (existing) return existing;
  const request = await getRequestById(db, requestId);
  if (!request) throw new DomainError("request_not_found", "No such request.", 404);
  const format = packageFormatFor(request.type);
  if (!format) throw new DomainError("no_package", "This request type has no data package.", 409);

  const runs = await db
    .select({ run: storeRuns, store: stores })
    .from(storeRuns)
    .innerJoin(stores, eq(stores.id, storeRuns.storeId))
    .where(and(eq(storeRuns.requestId, requestId), eq(storeRuns.action, "access")))
    .orderBy(asc(stores.name));
  const parts = await db.select().from(packageParts).where(eq(packageParts.requestId, requestId)).orderBy(asc(packageParts.entry));

  const id = randomUUID();
  const relative = join("packages", `${id}.zip.enc`);
  const path = join(packageDir(), relative);
  const sealer = sealedWriter(path, packageContext(id));
  const zip = new yazl.ZipFile();
  const zipped = pipeline(zip.outputStream as unknown as Readable, sealer.stream);
  zipped.catch(() => {});
  const now = clock();
  const expiresAt = new Date(now.getTime() + getEnv().PACKAGE_DOWNLOAD_DAYS * 86_400_000);
  const contents: { entries: { entry: string; rows: number }[] } = { entries: [] };
  try {
    const cover: CoverStore[] = runs.map(({ run, store }) => {
      const disclosure = storeDisclosure(validateDataMap(store.dataMap));
      if (run.status === "completed" && run.task) return { disclosure, outcome: { kind: "manual" } };
      if (run.status !== "completed") return { disclosure, outcome: { kind: "not_available" } };
      const report = (run.report ?? {}) as { collections?: Record<string, number> };
      return { disclosure, outcome: { kind: "exported", collections: report.collections ?? {} } };
    });
    zip.addBuffer(
      Buffer.from(
        coverSheetHtml({
          orgName: getEnv().ORG_NAME,
          reference: request.reference,
          requestTypeLabel: requestTypeInfo[request.type].label,
          format,
          generatedAt: now,
          expiresAt,
          stores: cover,
        }),
      ),
      "index.html",
      { mtime: now },
    );
    contents.entries.push({ entry: "index.html", rows: 0 });
    for (const part of parts) {
      const stream = openSealed(part.path, part, partContext(requestId, part.storeId, part.entry));
      zip.addReadStream(stream, part.entry, { mtime: now });
      contents.entries.push({ entry: part.entry, rows: part.rows });
      // One part at a time: the next file is opened only when this one has gone into the zip.
      await finished(stream);
    }
    zip.end();
    await zipped;
    const seal = await sealer.done();
    const inserted = await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(packages)
        .values({ id, requestId, format, path: relative, ...seal, contents, createdAt: now, expiresAt })
        .onConflictDoNothing()
        .returning();
      if (row) {
        await appendEvent(tx, { requestId, actorType: "system", action: "package.created", details: { packageId: id, format, sizeBytes: seal.sizeBytes, entries: contents.entries.length } }, clock);
        await tx.delete(packageParts).where(eq(packageParts.requestId, requestId));
      }
      return row;
    });
    if (!inserted) {
      await rm(path, { force: true }); // built concurrently by another run: keep theirs
      return (await getPackage(db, requestId))!;
    }
    await Promise.all(parts.map((p) => rm(p.path, { force: true })));
    await rm(join(packageDir(), "parts", requestId), { recursive: true, force: true });
    return inserted;
  } catch (error) {
    zip.outputStream.unpipe?.();
    await sealer.abort();
    await rm(path, { force: true });
    throw error;
  }
}

/** Deletes the files of packages past their expiry and marks them deleted (for the retention schedule). */
export async function purgeExpiredPackages(db: Executor, clock: Clock = systemClock) {
  const now = clock();
  const expired = await db.select().from(packages).where(and(isNull(packages.deletedAt), lte(packages.expiresAt, now)));
  for (const p of expired) {
    await rm(join(packageDir(), p.path), { force: true });
    await db.transaction(async (tx) => {
      await tx.update(packages).set({ deletedAt: now }).where(eq(packages.id, p.id));
      await appendEvent(tx, { requestId: p.requestId, actorType: "system", action: "package.deleted", details: { packageId: p.id, reason: "expired" } }, clock);
    });
  }
  return { deleted: expired.length };
}

// ---------------------------------------------------------------------------------------------------------------
// Download: re-verification by an emailed code, then a short-lived grant

/** The download code (emailed-secret.server.ts): its hash is stored whether or not the row is already marked sent. */
const CODE: SecretKind = { table: packageDownloadCodes, purpose: "package-download-code", make: () => randomCode(6), sentAction: "package.code_sent", unsentOnly: false };
const GRANT_PURPOSE = "package-download-grant";
export const DOWNLOAD_GRANT_MINUTES = 15;
export const CODE_COOLDOWN_SECONDS = 60;

export type DownloadInfo = { packageId: string; expiresAt: Date; sizeBytes: number; format: PackageFormat; codeSent: boolean };

/** What the status page shows about the package: present and not expired (undefined otherwise). */
export async function downloadInfo(db: Executor, requestId: string, clock: Clock = systemClock): Promise<DownloadInfo | undefined> {
  const pkg = await getPackage(db, requestId);
  if (!pkg || pkg.expiresAt.getTime() <= clock().getTime()) return undefined;
  const [code] = await db
    .select({ id: packageDownloadCodes.id })
    .from(packageDownloadCodes)
    .where(and(eq(packageDownloadCodes.packageId, pkg.id), isNull(packageDownloadCodes.consumedAt), gt(packageDownloadCodes.expiresAt, clock())))
    .limit(1);
  return { packageId: pkg.id, expiresAt: pkg.expiresAt, sizeBytes: pkg.sizeBytes, format: pkg.format, codeSent: code !== undefined };
}

async function liveRequestAndPackage(db: Executor, token: string, clock: Clock) {
  const request = await getRequestByStatusToken(db, token, clock);
  if (!request) throw new DomainError("not_found", "We could not find that request.", 404);
  const pkg = await getPackage(db, request.id);
  if (!pkg || pkg.expiresAt.getTime() <= clock().getTime()) throw new DomainError("no_package", "There is no download available for this request (it may have expired).", 410);
  return { request, pkg };
}

/** The requester asks for a download code: an empty challenge now, the code made and mailed by the worker. */
export async function requestDownloadCode(db: Executor, token: string, clock: Clock = systemClock) {
  const { request, pkg } = await liveRequestAndPackage(db, token, clock);
  const now = clock();
  const codeId = await db.transaction(async (tx) => {
    const cooldown = { seconds: CODE_COOLDOWN_SECONDS, message: "We just sent you a code. Please wait a minute before asking for another one." };
    await assertCooldownPassed(tx, packageDownloadCodes, request.id, cooldown, now);
    const id = await insertEmptySecret(tx, packageDownloadCodes, { requestId: request.id, packageId: pkg.id }, now);
    await appendEvent(tx, { requestId: request.id, actorType: "subject", action: "package.code_requested", details: { packageId: pkg.id } }, clock);
    return id;
  });
  await enqueue("send-package-code", { codeId }).catch((err: unknown) => logger.warn({ err, requestId: request.id }, "could not enqueue the download code email"));
  return codeId;
}

/** Job `send-package-code`: makes the code, stores its keyed hash, emails it. A code already sent is not resent. */
export async function sendDownloadCode(db: Executor, codeId: string, clock: Clock = systemClock) {
  const found = await rowToSend(db, packageDownloadCodes, codeId);
  if (typeof found === "string") return found;
  const { request } = found;
  const ttlMinutes = getEnv().VERIFICATION_CODE_TTL_MINUTES;
  return mailNewSecret(
    db,
    CODE,
    { id: codeId, requestId: request.id, ttlMinutes },
    (code) =>
      sendEmail({
        to: decryptIdentity(request).email,
        template: "download-code",
        props: { code, reference: request.reference, expiresInMinutes: ttlMinutes },
      }),
    clock,
  );
}

export type DownloadCodeResult = { ok: true; grant: string; expiresAt: Date } | CodeRefusal;

/** Checks the typed code; the right one yields a download grant (random, only its hash stored) for 15 minutes. */
export async function verifyDownloadCode(db: Executor, token: string, input: string, clock: Clock = systemClock): Promise<DownloadCodeResult> {
  const { request, pkg } = await liveRequestAndPackage(db, token, clock);
  const now = clock();
  return db.transaction(async (tx): Promise<DownloadCodeResult> => {
    const challenge = await newestUnusedSecret(tx, packageDownloadCodes, [eq(packageDownloadCodes.packageId, pkg.id)], true);
    if (!challenge) return { ok: false, reason: "invalid" };
    const check = { input, requestId: request.id, failedAction: "package.code_failed", now };
    const refusal = await checkTypedCode(tx, CODE, challenge, check, clock);
    if (refusal) return refusal;
    const grant = randomToken(32);
    const expiresAt = new Date(now.getTime() + DOWNLOAD_GRANT_MINUTES * 60_000);
    await tx
      .update(packageDownloadCodes)
      .set({ consumedAt: now, grantHash: hashSecret(GRANT_PURPOSE, grant), grantExpiresAt: expiresAt })
      .where(eq(packageDownloadCodes.id, challenge.id));
    await appendEvent(tx, { requestId: request.id, actorType: "subject", action: "package.code_verified", details: { packageId: pkg.id } }, clock);
    return { ok: true, grant, expiresAt };
  });
}

/**
 * Opens the download for a status token and a grant: the decrypted zip as a stream, counted and audited. Throws
 * DomainError (404/403/410) when the request, grant or package is not (or no longer) valid.
 */
export async function openPackageDownload(db: Executor, token: string, grant: string, clock: Clock = systemClock) {
  const { request, pkg } = await liveRequestAndPackage(db, token, clock);
  if (!/^[A-Za-z0-9_-]{43}$/.test(grant)) throw new DomainError("no_grant", "Please confirm it is you with the code we email you.", 403);
  const [challenge] = await db
    .select()
    .from(packageDownloadCodes)
    .where(and(eq(packageDownloadCodes.grantHash, hashSecret(GRANT_PURPOSE, grant)), eq(packageDownloadCodes.packageId, pkg.id)))
    .limit(1);
  if (!challenge?.grantExpiresAt || challenge.grantExpiresAt.getTime() <= clock().getTime()) {
    throw new DomainError("no_grant", "Your download link has expired. Please ask for a new code.", 403);
  }
  return streamPackage(db, { request, pkg, actor: { actorType: "subject" }, filename: `${request.reference}-your-data.zip` }, clock);
}

/**
 * A request's package for staff (the console's download, behind a step-up): the decrypted zip, counted and audited
 * with the staff member as the actor. Undefined when the request has no live package.
 */
export async function openPackageForStaff(db: Executor, input: { reference: string; staffId: string }, clock: Clock = systemClock) {
  const [request] = await db.select().from(requests).where(eq(requests.reference, input.reference)).limit(1);
  if (!request) return undefined;
  const pkg = await getPackage(db, request.id);
  if (!pkg || pkg.expiresAt.getTime() <= clock().getTime()) return undefined;
  return streamPackage(db, { request, pkg, actor: { actorType: "staff", actorId: input.staffId }, filename: `${request.reference}-package.zip` }, clock);
}

/** The download itself, for the requester and for staff: the file must exist; counted; audited; decrypted as it streams. */
async function streamPackage(
  db: Executor,
  input: { request: RequestRow; pkg: PackageRow; actor: { actorType: "subject" } | { actorType: "staff"; actorId: string }; filename: string },
  clock: Clock,
) {
  const { request, pkg } = input;
  const path = join(packageDir(), pkg.path);
  await stat(path).catch(() => {
    throw new DomainError("no_package", "The download is no longer available.", 410);
  });
  await db.transaction(async (tx) => {
    await tx
      .update(packages)
      .set({ downloadCount: sql`${packages.downloadCount} + 1`, lastDownloadedAt: clock() })
      .where(eq(packages.id, pkg.id));
    await appendEvent(tx, { requestId: request.id, ...input.actor, action: "package.downloaded", details: { packageId: pkg.id, download: pkg.downloadCount + 1 } }, clock);
  });
  return { stream: openSealed(path, pkg, packageContext(pkg.id)), sizeBytes: pkg.sizeBytes, filename: input.filename };
}

/** For tests and operators: the decrypted package of a request as a stream. */
export function openPackageFile(pkg: PackageRow): Readable {
  return openSealed(join(packageDir(), pkg.path), pkg, packageContext(pkg.id));
}

/** Removes a request's leftover part files (e.g. after the request ended without a package). */
export async function removeParts(db: Executor, requestId: string) {
  const parts = await db.delete(packageParts).where(eq(packageParts.requestId, requestId)).returning({ path: packageParts.path });
  await Promise.all(parts.map((p) => unlink(p.path).catch(() => {})));
  await rm(join(packageDir(), "parts", requestId), { recursive: true, force: true });
}
