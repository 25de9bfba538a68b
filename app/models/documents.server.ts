/**
 * Files attached to a request (an authorized agent's signed permission): reading an upload without trusting it,
 * storing it encrypted, and handing it to staff with every view audited.
 *
 * - The type is sniffed from the first bytes (PDF, PNG, JPEG); the claimed Content-Type and file name are ignored.
 * - The bytes are encrypted with AES-256-GCM (`encryptBytes`, key id inside) bound to the request and the document
 *   (`request-document:<request id>:<document id>`), so a ciphertext copied to another row does not decrypt.
 * - `sha256` and `size_bytes` describe the plaintext; a decrypted file is checked against them before it is served.
 */
import { createHash, randomUUID } from "node:crypto";
import { unstable_parseMultipartFormData } from "@remix-run/node";
import { and, asc, eq } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requestDocuments, requests } from "#db/schema/index.ts";
import { decryptBytes, encryptBytes } from "#app/utils/crypto.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { referencePattern } from "./requests.server.ts";

export type DocumentKind = (typeof requestDocuments.$inferInsert)["kind"];

/** The file types a document may have, by their magic bytes. */
export const documentTypes = [
  { contentType: "application/pdf", extension: "pdf", magic: Buffer.from("%PDF-", "ascii") },
  { contentType: "image/png", extension: "png", magic: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { contentType: "image/jpeg", extension: "jpg", magic: Buffer.from([0xff, 0xd8, 0xff]) },
] as const;
export type DocumentContentType = (typeof documentTypes)[number]["contentType"];

/** The type of a file from its content alone, or null when it is none of the accepted types. */
export function sniffDocumentType(bytes: Uint8Array): DocumentContentType | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return documentTypes.find((t) => buf.length > t.magic.length && buf.subarray(0, t.magic.length).equals(t.magic))?.contentType ?? null;
}

export function extensionOf(contentType: string): string {
  return documentTypes.find((t) => t.contentType === contentType)?.extension ?? "bin";
}

const documentContext = (requestId: string, documentId: string) => `request-document:${requestId}:${documentId}`;

// ---------------------------------------------------------------------------------------------------------------
// Reading an upload

export type UploadedFile = { bytes: Buffer; contentType: DocumentContentType | null };

export type UploadForm = {
  /** The text fields, and the file (as a File named "upload", when one was sent and is within the size limit). */
  formData: FormData;
  /** The file field's content, when a non-empty file within the limit was sent. */
  file: UploadedFile | null;
  fileTooLarge: boolean;
  /** A text field over `maxFieldBytes`, or a body that is not a readable form. */
  malformed: boolean;
};

/** Reads a part fully, keeping at most `max` bytes; the rest is read and dropped so the upload always completes. */
async function readPart(data: AsyncIterable<Uint8Array>, max: number) {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of data) {
    size += chunk.byteLength;
    if (size <= max) chunks.push(chunk);
  }
  return size <= max ? { size, bytes: Buffer.concat(chunks) } : { size, bytes: null };
}

/**
 * Reads a form that carries one file field (multipart, or an urlencoded form without the file). The body as a whole is
 * bounded before this runs (server/security.ts `bodyLimit`); here a file over `maxFileBytes` or a text field over
 * `maxFieldBytes` is read to its end and dropped (answering while the browser is still sending would stall it), and
 * only the first part of the file field is kept.
 */
export async function readUploadForm(
  request: Request,
  { fileField, maxFileBytes, maxFieldBytes = 16 * 1024 }: { fileField: string; maxFileBytes: number; maxFieldBytes?: number },
): Promise<UploadForm> {
  const result: UploadForm = { formData: new FormData(), file: null, fileTooLarge: false, malformed: false };
  const type = (request.headers.get("content-type") ?? "").toLowerCase();
  if (!type.startsWith("multipart/form-data")) {
    try {
      const form = await request.formData();
      for (const [name, value] of form) if (typeof value === "string") result.formData.append(name, value);
    } catch {
      result.malformed = true;
    }
    return result;
  }
  let fileSeen = false;
  try {
    result.formData = await unstable_parseMultipartFormData(request, async ({ name, filename, data }) => {
      if (typeof filename === "string") {
        const part = await readPart(data, name === fileField && !fileSeen ? maxFileBytes : 0);
        if (name !== fileField || fileSeen || part.size === 0) return undefined; // other files, repeats, "no file chosen"
        fileSeen = true;
        if (!part.bytes) {
          result.fileTooLarge = true;
          return undefined;
        }
        result.file = { bytes: part.bytes, contentType: sniffDocumentType(part.bytes) };
        return new File([part.bytes], "upload", { type: "application/octet-stream" });
      }
      const part = await readPart(data, maxFieldBytes);
      if (!part.bytes) {
        result.malformed = true;
        return undefined;
      }
      return part.bytes.toString("utf8");
    });
  } catch {
    result.malformed = true;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Storing and reading

/** Encrypts and stores a document inside the caller's transaction; returns its id and what describes it. */
export async function storeDocument(tx: Executor, input: { requestId: string; kind: DocumentKind; bytes: Buffer; contentType: DocumentContentType }) {
  const id = randomUUID();
  const sha256 = createHash("sha256").update(input.bytes).digest("hex");
  await tx.insert(requestDocuments).values({
    id,
    requestId: input.requestId,
    kind: input.kind,
    contentType: input.contentType,
    sizeBytes: input.bytes.length,
    sha256,
    ciphertext: encryptBytes(input.bytes, documentContext(input.requestId, id)),
  });
  return { id, sha256, sizeBytes: input.bytes.length, contentType: input.contentType };
}

export type DocumentSummary = { id: string; kind: DocumentKind; contentType: string; sizeBytes: number; createdAt: Date };

/** The documents of a request, oldest first, without their content. */
export async function listDocuments(db: Executor, requestId: string): Promise<DocumentSummary[]> {
  return db
    .select({
      id: requestDocuments.id,
      kind: requestDocuments.kind,
      contentType: requestDocuments.contentType,
      sizeBytes: requestDocuments.sizeBytes,
      createdAt: requestDocuments.createdAt,
    })
    .from(requestDocuments)
    .where(eq(requestDocuments.requestId, requestId))
    .orderBy(asc(requestDocuments.createdAt), asc(requestDocuments.id));
}

export class DocumentIntegrityError extends Error {
  constructor(documentId: string) {
    super(`Document ${documentId} does not match its recorded size and SHA-256`);
    this.name = "DocumentIntegrityError";
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A staff member opens a document of a request: decrypted, checked against its SHA-256, and recorded as a
 * `document.viewed` audit event (ids only) before anything is returned. Undefined when the reference and document
 * id do not belong together.
 */
export async function viewDocument(
  db: Executor,
  { reference, documentId, staffId }: { reference: string; documentId: string; staffId: string },
  clock: Clock = systemClock,
) {
  if (!referencePattern.test(reference) || !UUID_RE.test(documentId)) return undefined;
  const [row] = await db
    .select({ document: requestDocuments, reference: requests.reference })
    .from(requestDocuments)
    .innerJoin(requests, eq(requests.id, requestDocuments.requestId))
    .where(and(eq(requestDocuments.id, documentId), eq(requests.reference, reference)))
    .limit(1);
  if (!row) return undefined;
  const { document } = row;
  const bytes = decryptBytes(document.ciphertext, documentContext(document.requestId, document.id));
  if (bytes.length !== document.sizeBytes || createHash("sha256").update(bytes).digest("hex") !== document.sha256) {
    throw new DocumentIntegrityError(document.id);
  }
  await db.transaction(async (tx) => {
    await appendEvent(
      tx,
      { requestId: document.requestId, actorType: "staff", actorId: staffId, action: "document.viewed", details: { documentId: document.id, kind: document.kind } },
      clock,
    );
  });
  return {
    bytes,
    contentType: document.contentType,
    filename: `${row.reference}-${document.kind.replaceAll("_", "-")}.${extensionOf(document.contentType)}`,
  };
}
