/**
 * Internal notes on a request, written by staff. A note may hold personal data, so its body is encrypted at rest
 * (AES-256-GCM, bound to the note and its request) and stays out of the audit trail, which records only that a note
 * was added, by whom, and the note's id.
 */
import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requestNotes, requests, staffUsers } from "#db/schema/index.ts";
import { decrypt, encrypt } from "#app/utils/crypto.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { appendEvent } from "./audit.server.ts";
import { assertCanAct, RequestActionError, type Actor } from "./request-actions.server.ts";

export const MAX_NOTE_LENGTH = 5000;

const noteContext = (requestId: string, noteId: string) => `request-note:${requestId}:${noteId}`;

export type RequestNote = { id: string; body: string; authorId: string | null; authorName: string | null; createdAt: Date };

/** Adds a note (any state of the request, closed ones included); audit event `request.note_added`. */
export async function addNote(db: Executor, input: { requestId: string; actor: Actor; body: string }, clock: Clock = systemClock): Promise<string> {
  assertCanAct(input.actor);
  const body = input.body.replace(/\r\n?/g, "\n").trim();
  if (!body) throw new RequestActionError("invalid_input", "Write the note before adding it.", 400);
  if (body.length > MAX_NOTE_LENGTH) throw new RequestActionError("invalid_input", `A note can be at most ${MAX_NOTE_LENGTH.toLocaleString("en")} characters.`, 400);
  return db.transaction(async (tx) => {
    // KEY SHARE (what the notes' foreign key takes anyway): the request must exist; actions on it may go on.
    const [row] = await tx.select({ id: requests.id }).from(requests).where(eq(requests.id, input.requestId)).for("key share");
    if (!row) throw new RequestActionError("not_found", "We could not find that request.", 404);
    const id = randomUUID();
    await tx.insert(requestNotes).values({
      id,
      requestId: row.id,
      authorId: input.actor.id,
      bodyCiphertext: encrypt(body, noteContext(row.id, id)),
      createdAt: clock(),
    });
    await appendEvent(tx, { requestId: row.id, actorType: "staff", actorId: input.actor.id, action: "request.note_added", details: { noteId: id } }, clock);
    return id;
  });
}

/** The request's notes, oldest first, decrypted, with their authors' names. */
export async function listNotes(db: Executor, requestId: string): Promise<RequestNote[]> {
  const rows = await db
    .select({ note: requestNotes, authorName: staffUsers.name })
    .from(requestNotes)
    .leftJoin(staffUsers, eq(staffUsers.id, requestNotes.authorId))
    .where(eq(requestNotes.requestId, requestId))
    .orderBy(asc(requestNotes.createdAt), asc(requestNotes.id));
  return rows.map(({ note, authorName }) => ({
    id: note.id,
    body: decrypt(note.bodyCiphertext, noteContext(note.requestId, note.id)),
    authorId: note.authorId,
    authorName,
    createdAt: note.createdAt,
  }));
}
