/**
 * Staff actions on a request (app/models/request-actions.server.ts, notes.server.ts) against the real PostgreSQL,
 * Redis, a real worker and the file's SMTP listener: allowed transitions, refused ones (typed errors with clear
 * messages), audit events naming the staff member, requester emails sent by the worker with a fresh status link,
 * roles (auditors read only; only admins lift a legal hold), encryption at rest of what staff write.
 */
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.EU_LEAD_AUTHORITY_NAME = "the Data Protection Commission (Ireland)";
  process.env.EU_LEAD_AUTHORITY_URL = "https://forms.dataprotection.ie/contact";
});

import { appendEvent, listEvents, verifyAuditChain } from "#app/models/audit.server.ts";
import { computeDeadlines, formatDueDate } from "#app/models/deadlines.ts";
import { addNote, listNotes } from "#app/models/notes.server.ts";
import {
  approveRequest,
  assignRequest,
  closeRequest,
  complaintInfoFor,
  denialReasons,
  denyRequest,
  extendDeadline,
  isUnderLegalHold,
  legalHoldReason,
  liftLegalHold,
  placeLegalHold,
  requestMoreInformation,
  RequestActionError,
  requeueUnsentRequestEmails,
  revealIdentity,
  sendRequestEmail,
  type Actor,
} from "#app/models/request-actions.server.ts";
import { getRequestByStatusToken, publicTimeline } from "#app/models/status.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestEmails, requests } from "#db/schema/index.ts";
import { getQueue } from "#jobs/queues.ts";
import { eventually, statusLinkFromMail } from "#tests/helpers/flow.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";
import { addRequest, addStaff } from "./console-fixtures.ts";

const web = webAppForTests({ worker: true });
let admin: Actor;
let processor: Actor;
let otherProcessor: Actor;
let auditor: Actor;

beforeAll(async () => {
  const db = getDb();
  admin = (await addStaff(db, "admin")) as Actor;
  processor = (await addStaff(db, "processor")) as Actor;
  otherProcessor = (await addStaff(db, "processor", "other")) as Actor;
  auditor = (await addStaff(db, "auditor")) as Actor;
});

const row = async (id: string) => (await getDb().select().from(requests).where(eq(requests.id, id)))[0]!;
const lastEvent = async (id: string) => (await listEvents(getDb(), id)).at(-1)!;
const mailFor = (reference: string, subjectStart: string) =>
  testMailbox().waitFor((m) => m.subject.includes(reference) && m.subject.startsWith(subjectStart), 15_000);

async function refused(p: Promise<unknown>, code: string, message?: RegExp | string) {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected a ${code} refusal`).toBeInstanceOf(RequestActionError);
  expect((error as RequestActionError).code).toBe(code);
  if (message) expect((error as RequestActionError).userMessage).toMatch(message);
  return error as RequestActionError;
}

async function rawJson(table: string, id: string) {
  const raw = postgres(getEnv().DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    const [r] = await raw.unsafe(`select row_to_json(t)::text as json from ${table} t where id = $1`, [id]);
    return String(r?.json);
  } finally {
    await raw.end();
  }
}

describe("roles", () => {
  it("refuses every action to an auditor, with no change", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const requestId = r.id;
    const actor = auditor;
    for (const attempt of [
      assignRequest(db, { requestId, actor, assigneeId: processor.id }),
      approveRequest(db, { requestId, actor }),
      denyRequest(db, { requestId, actor, reasonCode: "legal_exemption" }),
      requestMoreInformation(db, { requestId, actor, message: "Which account?" }),
      extendDeadline(db, { requestId, actor, reason: "Complex" }),
      placeLegalHold(db, { requestId, actor, reason: "Litigation" }),
      liftLegalHold(db, { requestId, actor }),
      closeRequest(db, { requestId, actor, reasonCode: "duplicate" }),
      addNote(db, { requestId, actor, body: "A note" }),
      revealIdentity(db, { requestId, actor }),
    ]) {
      const e = await refused(attempt, "forbidden", "Auditors can read requests but not act on them.");
      expect(e.status).toBe(403);
    }
    const after = await row(requestId);
    expect(after.status).toBe("verified");
    expect(after.assigneeId).toBeNull();
    expect((await listEvents(db, requestId)).map((e) => e.action)).toEqual(["request.submitted"]);
  });
});

describe("assign", () => {
  it("assigns to me (verified → in review), to a colleague, and unassigns; each an audit event naming who did it", async () => {
    const db = getDb();
    const r = await addRequest(db);
    expect(await assignRequest(db, { requestId: r.id, actor: processor, assigneeId: processor.id })).toEqual({ status: "in_review", changed: true });
    expect(await row(r.id)).toMatchObject({ status: "in_review", assigneeId: processor.id });
    expect(await lastEvent(r.id)).toMatchObject({
      actorType: "staff",
      actorId: processor.id,
      action: "request.assigned",
      details: { assigneeId: processor.id, previousAssigneeId: null, status: "in_review" },
    });

    await assignRequest(db, { requestId: r.id, actor: processor, assigneeId: otherProcessor.id });
    expect(await row(r.id)).toMatchObject({ status: "in_review", assigneeId: otherProcessor.id });
    expect((await lastEvent(r.id)).details).toEqual({ assigneeId: otherProcessor.id, previousAssigneeId: processor.id });

    // The same assignment again changes nothing and records nothing.
    const before = (await listEvents(db, r.id)).length;
    expect(await assignRequest(db, { requestId: r.id, actor: admin, assigneeId: otherProcessor.id })).toMatchObject({ changed: false });
    expect((await listEvents(db, r.id)).length).toBe(before);

    await assignRequest(db, { requestId: r.id, actor: admin, assigneeId: null });
    expect((await row(r.id)).assigneeId).toBeNull();
    expect(await lastEvent(r.id)).toMatchObject({ actorId: admin.id, details: { assigneeId: null, previousAssigneeId: otherProcessor.id } });
  });

  it("refuses auditors and unknown people as assignees, and ended requests", async () => {
    const db = getDb();
    const r = await addRequest(db);
    await refused(assignRequest(db, { requestId: r.id, actor: admin, assigneeId: auditor.id }), "unknown_assignee", /active admin or processor/);
    await refused(assignRequest(db, { requestId: r.id, actor: admin, assigneeId: "00000000-0000-4000-8000-000000000000" }), "unknown_assignee");
    const denied = await addRequest(db, { status: "denied" });
    await refused(assignRequest(db, { requestId: denied.id, actor: admin, assigneeId: admin.id }), "illegal_transition", "A request that is denied cannot be assigned.");
    await refused(assignRequest(db, { requestId: "00000000-0000-4000-8000-000000000000", actor: admin, assigneeId: null }), "not_found");
  });
});

describe("approve", () => {
  it("approves a verified request; the audit names the staff member; execution starts when the engine's job exists", async () => {
    const db = getDb();
    const r = await addRequest(db, { status: "in_review" });
    const result = await approveRequest(db, { requestId: r.id, actor: processor });
    expect(result.status).toBe("approved");
    expect(result.execution).toBe("enqueued");
    const approved = (await listEvents(db, r.id)).find((e) => e.action === "request.approved");
    expect(approved).toMatchObject({ actorType: "staff", actorId: processor.id, details: { from: "in_review" } });
    // The execution engine's job picks it up: approved → processing (and on, with no stores connected here).
    await eventually(async () => (await listEvents(db, r.id)).some((e) => e.action === "request.processing_started"));
    expect(["processing", "action_required", "completed"]).toContain((await row(r.id)).status);
    expect((await publicTimeline(db, r.id)).map((t) => t.text)).toContain("Your request was approved and is being processed.");
  });

  it("refuses illegal transitions and insufficient verification, with messages that say why", async () => {
    const db = getDb();
    const pending = await addRequest(db, { status: "pending_verification" });
    await refused(approveRequest(db, { requestId: pending.id, actor: admin }), "illegal_transition", "A request that is pending verification cannot be approved.");
    const denied = await addRequest(db, { status: "denied" });
    await refused(approveRequest(db, { requestId: denied.id, actor: admin }), "illegal_transition", "A request that is denied cannot be approved.");
    const approved = await addRequest(db, { status: "approved" });
    await refused(approveRequest(db, { requestId: approved.id, actor: admin }), "illegal_transition", "A request that is approved cannot be approved.");
    // CCPA deletion needs level 2; an email alone is level 1.
    const weak = await addRequest(db, { type: "deletion", region: "US-CA", verificationLevel: 1 });
    await refused(approveRequest(db, { requestId: weak.id, actor: admin }), "verification_insufficient", "The requester is verified to level 1 of the 2 this request needs. Ask for more information, or deny it.");
    expect((await row(weak.id)).status).toBe("verified");
  });

  it("lets only one of two concurrent decisions through", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const outcomes = await Promise.allSettled([
      approveRequest(db, { requestId: r.id, actor: processor }),
      denyRequest(db, { requestId: r.id, actor: admin, reasonCode: "legal_exemption" }),
      closeRequest(db, { requestId: r.id, actor: otherProcessor, reasonCode: "duplicate" }),
    ]);
    const fulfilled = outcomes.filter((o) => o.status === "fulfilled");
    // Approve then deny is a legal sequence; close after either is not. At least one wins and the state is coherent.
    expect(fulfilled.length).toBeGreaterThanOrEqual(1);
    for (const o of outcomes) if (o.status === "rejected") expect((o.reason as RequestActionError).code).toBe("illegal_transition");
    const decisions = (await listEvents(db, r.id)).map((e) => e.action).filter((a) => a !== "request.submitted");
    expect(decisions.length).toBe(fulfilled.length);
    expect(["approved", "denied", "closed"]).toContain((await row(r.id)).status);
    // Let the denial email (if any) go before the file ends.
    if (decisions.includes("request.denied")) await mailFor(r.reference, "Our decision");
  });
});

describe("deny", () => {
  it("denies with a reason template and staff's words; the requester gets the denial with the ICO (UK GDPR)", async () => {
    const db = getDb();
    const r = await addRequest(db, { type: "deletion", region: "UK" });
    const explanation = "Your order 4411 is still being delivered; ask again after 30 June.";
    const { emailId } = await denyRequest(db, { requestId: r.id, actor: processor, reasonCode: "legal_obligation_to_keep", explanation });
    const after = await row(r.id);
    expect(after).toMatchObject({ status: "denied", outcomeReason: "legal_obligation_to_keep" });
    const event = (await listEvents(db, r.id)).find((e) => e.action === "request.denied")!;
    expect(event).toMatchObject({ actorType: "staff", actorId: processor.id, details: { reason: "legal_obligation_to_keep", from: "verified", emailId } });
    expect(JSON.stringify(event.details)).not.toContain("4411"); // staff's words stay out of the trail
    // What staff wrote is encrypted in the outbox; the job carries the row's id only.
    expect(await rawJson("request_emails", emailId)).not.toContain("4411");
    const job = await getQueue("email").getJob(`send-request-email-${emailId}`);
    if (job) expect(job.data).toEqual({ emailId });

    const mail = await mailFor(r.reference, "Our decision on your request");
    expect(mail.to).toContain(r.email);
    expect(mail.text).toContain(denialReasons.legal_obligation_to_keep.text);
    expect(mail.text).toContain(explanation);
    expect(mail.text).toContain("Information Commissioner's Office (ICO)");
    expect(mail.text).toContain("https://ico.org.uk/make-a-complaint/");
    expect(mail.subject).not.toContain(r.email);

    // A fresh status link: it works and shows the decision; the send is recorded once.
    const token = statusLinkFromMail(mail).split("/status/")[1]!;
    expect((await getRequestByStatusToken(db, token))?.id).toBe(r.id);
    const page = await (await fetch(`${web.url}/status/${token}`)).text();
    expect(page).toContain("Not carried out");
    expect(page).toContain("We could not carry out your request.");
    await eventually(async () => (await db.select().from(requestEmails).where(eq(requestEmails.id, emailId)))[0]?.sentAt);
    expect(await sendRequestEmail(db, emailId)).toBe("skipped");
    expect((await listEvents(db, r.id)).filter((e) => e.action === "request.email_sent")).toHaveLength(1);
  });

  it("names the configured EU lead authority for GDPR, and appeal instructions for US states", async () => {
    const db = getDb();
    const eu = await addRequest(db, { region: "EU" });
    await denyRequest(db, { requestId: eu.id, actor: admin, reasonCode: "manifestly_unfounded_or_excessive" });
    const euMail = await mailFor(eu.reference, "Our decision");
    expect(euMail.text).toContain("the Data Protection Commission (Ireland)");
    expect(euMail.text).toContain("https://forms.dataprotection.ie/contact");

    const va = await addRequest(db, { region: "US-VA" });
    await denyRequest(db, { requestId: va.id, actor: admin, reasonCode: "identity_not_verified" });
    const vaMail = await mailFor(va.reference, "Our decision");
    expect(vaMail.text).toContain("right to appeal");
    expect(vaMail.text).toContain("within 45 days");
    expect(vaMail.text).toContain("the Virginia Attorney General");

    expect(complaintInfoFor("ccpa", "US-CA")).toMatchObject({ kind: "appeal", regulator: { name: "the California Privacy Protection Agency" } });
    expect(complaintInfoFor("gdpr", "EU", { EU_LEAD_AUTHORITY_NAME: "X authority", EU_LEAD_AUTHORITY_URL: "https://x.example/", MAIL_FROM: "a@b.example" })).toEqual({
      kind: "authority",
      authorityName: "X authority",
      authorityUrl: "https://x.example/",
    });
  });

  it("needs an explanation for “other”, and refuses ended or unverified requests", async () => {
    const db = getDb();
    const r = await addRequest(db);
    await refused(denyRequest(db, { requestId: r.id, actor: admin, reasonCode: "other", explanation: "  " }), "invalid_input", "Please write the explanation for the requester.");
    await refused(denyRequest(db, { requestId: r.id, actor: admin, reasonCode: "made_up" as never }), "invalid_input", "Choose a reason from the list.");
    expect((await row(r.id)).status).toBe("verified");
    const completed = await addRequest(db, { status: "completed" });
    await refused(denyRequest(db, { requestId: completed.id, actor: admin, reasonCode: "legal_exemption" }), "illegal_transition", "A request that is completed cannot be denied.");
    const pending = await addRequest(db, { status: "pending_verification" });
    await refused(denyRequest(db, { requestId: pending.id, actor: admin, reasonCode: "legal_exemption" }), "illegal_transition");
    expect(await db.select().from(requestEmails).where(eq(requestEmails.requestId, r.id))).toEqual([]);
  });
});

describe("ask for more information", () => {
  it("moves the request to awaiting information and emails the question with the status link", async () => {
    const db = getDb();
    const r = await addRequest(db, { status: "in_review" });
    const message = "Please tell us the postcode of the address of your last order.";
    await requestMoreInformation(db, { requestId: r.id, actor: processor, message });
    expect((await row(r.id)).status).toBe("awaiting_information");
    expect(await lastEvent(r.id)).toMatchObject({ actorId: processor.id, action: "request.info_requested", details: { from: "in_review" } });
    const mail = await mailFor(r.reference, "More information needed");
    expect(mail.text).toContain(message);
    expect(mail.text).toContain(formatDueDate(new Date(Date.now() + getEnv().INFO_REQUEST_EXPIRY_DAYS * 86_400_000)));
    const token = statusLinkFromMail(mail).split("/status/")[1]!;
    expect((await getRequestByStatusToken(db, token))?.id).toBe(r.id);
    expect((await publicTimeline(db, r.id)).map((t) => t.text)).toContain("We asked you for more information.");
    // Asking again while waiting is allowed; then staff may approve once satisfied.
    await requestMoreInformation(db, { requestId: r.id, actor: processor, message: "And the last four digits of the card." });
    await approveRequest(db, { requestId: r.id, actor: processor });
    expect((await listEvents(db, r.id)).map((e) => e.action)).toContain("request.approved");
  });

  it("refuses a blank question and requests whose email is not verified", async () => {
    const db = getDb();
    const r = await addRequest(db);
    await refused(requestMoreInformation(db, { requestId: r.id, actor: admin, message: " \n " }), "invalid_input", "Please write what you need from the requester.");
    const pending = await addRequest(db, { status: "pending_verification" });
    await refused(requestMoreInformation(db, { requestId: pending.id, actor: admin, message: "Who are you?" }), "illegal_transition", "A request that is pending verification cannot be asked for more information.");
  });
});

describe("extend the deadline", () => {
  it("extends once, to the legal calendar's date, with the reason; the requester's notice and status page show both", async () => {
    const db = getDb();
    const r = await addRequest(db, { type: "access", region: "EU" });
    const reason = "Your data is spread over three older systems we must search by hand.";
    const { extendedDueAt } = await extendDeadline(db, { requestId: r.id, actor: processor, reason });
    const expected = computeDeadlines("gdpr", "access", r.receivedAt).extendedDueAt!;
    expect(extendedDueAt.toISOString()).toBe(expected.toISOString());
    expect(await row(r.id)).toMatchObject({ extendedDueAt: expected, extensionReason: reason, dueAt: r.dueAt, status: "verified" });
    expect(await lastEvent(r.id)).toMatchObject({
      actorId: processor.id,
      action: "request.extended",
      details: { dueAt: r.dueAt.toISOString(), extendedDueAt: expected.toISOString(), length: "2 months" },
    });

    const mail = await mailFor(r.reference, "We need more time");
    expect(mail.text).toContain(formatDueDate(r.dueAt));
    expect(mail.text).toContain(formatDueDate(expected));
    expect(mail.text).toContain(reason);
    const token = statusLinkFromMail(mail).split("/status/")[1]!;
    const page = await (await fetch(`${web.url}/status/${token}`)).text();
    expect(page).toContain(formatDueDate(expected));
    expect(page).toContain(reason.replaceAll("'", "&#x27;"));
    expect(page).toContain("We extended the deadline.");

    await refused(extendDeadline(db, { requestId: r.id, actor: admin, reason: "Again" }), "already_extended", /already extended once/);
  });

  it("refuses after the notice date, where the law has no extension, without a reason, and on ended requests", async () => {
    const db = getDb();
    const old = await addRequest(db, { region: "UK", receivedAt: new Date(Date.now() - 40 * 86_400_000) });
    await refused(extendDeadline(db, { requestId: old.id, actor: admin, reason: "Too late" }), "extension_window_closed", /had to be notified by .*; that date has passed/);
    const optOut = await addRequest(db, { type: "opt_out", region: "US-CA" });
    await refused(extendDeadline(db, { requestId: optOut.id, actor: admin, reason: "Busy" }), "no_extension", "The law gives no extension for this kind of request.");
    const fresh = await addRequest(db, { region: "US-CO" });
    await refused(extendDeadline(db, { requestId: fresh.id, actor: admin, reason: "" }), "invalid_input", "Please write why you need more time.");
    const closed = await addRequest(db, { status: "closed" });
    await refused(extendDeadline(db, { requestId: closed.id, actor: admin, reason: "Why not" }), "illegal_transition", "A request that is closed cannot be extended.");
    // The extension is judged at the action's clock: a CCPA request on its 45th day may still be extended.
    const ccpa = await addRequest(db, { region: "US-CA", type: "deletion" });
    const lastDay = () => new Date(ccpa.extensionNoticeBy!.getTime() - 1000);
    const { extendedDueAt } = await extendDeadline(db, { requestId: ccpa.id, actor: admin, reason: "Many stores" }, lastDay);
    expect(extendedDueAt.toISOString()).toBe(computeDeadlines("ccpa", "deletion", ccpa.receivedAt).extendedDueAt!.toISOString());
    await mailFor(ccpa.reference, "We need more time");
  });
});

describe("legal hold", () => {
  it("places a hold (reason encrypted), blocks approving an erasure, and only an admin lifts it", async () => {
    const db = getDb();
    const r = await addRequest(db, { type: "deletion" });
    await placeLegalHold(db, { requestId: r.id, actor: processor, reason: "Claim 2026-114 by Jane Roe pending" });
    const held = await row(r.id);
    expect(isUnderLegalHold(held)).toBe(true);
    expect(held.legalHoldBy).toBe(processor.id);
    expect(legalHoldReason(held)).toBe("Claim 2026-114 by Jane Roe pending");
    expect(await rawJson("requests", r.id)).not.toContain("Jane Roe");
    expect(await lastEvent(r.id)).toMatchObject({ actorId: processor.id, action: "request.legal_hold_placed", details: {} });

    await refused(placeLegalHold(db, { requestId: r.id, actor: admin, reason: "Twice" }), "legal_hold", "This request is already under a legal hold.");
    await refused(approveRequest(db, { requestId: r.id, actor: admin }), "legal_hold", /legal hold/);
    const e = await refused(liftLegalHold(db, { requestId: r.id, actor: processor }), "forbidden", "Only an admin can lift a legal hold.");
    expect(e.status).toBe(403);

    await liftLegalHold(db, { requestId: r.id, actor: admin });
    const lifted = await row(r.id);
    expect(lifted).toMatchObject({ legalHoldSince: null, legalHoldBy: null, legalHoldReasonCiphertext: null });
    expect(await lastEvent(r.id)).toMatchObject({ actorId: admin.id, action: "request.legal_hold_lifted" });
    await refused(liftLegalHold(db, { requestId: r.id, actor: admin }), "legal_hold", "This request is not under a legal hold.");
    await approveRequest(db, { requestId: r.id, actor: admin });
  });

  it("can hold an ended request (to keep it from anonymization)", async () => {
    const db = getDb();
    const r = await addRequest(db, { status: "completed" });
    await placeLegalHold(db, { requestId: r.id, actor: admin, reason: "Regulator inquiry" });
    expect(isUnderLegalHold(await row(r.id))).toBe(true);
  });
});

describe("notes", () => {
  it("stores notes encrypted, lists them with their authors, and audits only that a note was added", async () => {
    const db = getDb();
    const r = await addRequest(db, { status: "denied" });
    const id1 = await addNote(db, { requestId: r.id, actor: processor, body: "Called Mr. Smith on +44 20 7946 0000; he confirmed.\r\n" });
    await addNote(db, { requestId: r.id, actor: admin, body: "Second note" });
    const notes = await listNotes(db, r.id);
    expect(notes.map((n) => [n.body, n.authorId])).toEqual([
      ["Called Mr. Smith on +44 20 7946 0000; he confirmed.", processor.id],
      ["Second note", admin.id],
    ]);
    expect(notes[0]!.authorName).toMatch(/^Tess processor/);
    expect(await rawJson("request_notes", id1)).not.toContain("Smith");
    const event = (await listEvents(db, r.id)).find((e) => e.action === "request.note_added")!;
    expect(event).toMatchObject({ actorId: processor.id, details: { noteId: id1 } });
    await refused(addNote(db, { requestId: r.id, actor: admin, body: "   " }), "invalid_input", "Write the note before adding it.");
    await refused(addNote(db, { requestId: r.id, actor: admin, body: "x".repeat(5001) }), "invalid_input", /at most 5,000 characters/);
  });
});

describe("close", () => {
  it("closes with a reason code (no email), and only before processing", async () => {
    const db = getDb();
    const r = await addRequest(db, { status: "awaiting_information" });
    await closeRequest(db, { requestId: r.id, actor: processor, reasonCode: "withdrawn" });
    expect(await row(r.id)).toMatchObject({ status: "closed", outcomeReason: "withdrawn" });
    expect(await lastEvent(r.id)).toMatchObject({ actorId: processor.id, action: "request.closed", details: { reason: "withdrawn", from: "awaiting_information" } });
    const processing = await addRequest(db, { status: "processing" });
    await refused(closeRequest(db, { requestId: processing.id, actor: admin, reasonCode: "duplicate" }), "illegal_transition", "A request that is processing cannot be closed.");
    await refused(closeRequest(db, { requestId: processing.id, actor: admin, reasonCode: "bored" as never }), "invalid_input");
  });
});

describe("identity", () => {
  it("reveals the full identity to a worker and records the view first", async () => {
    const db = getDb();
    const r = await addRequest(db, { name: "Robin Example", dataPoints: { phone: "+44 7700 900123" } });
    const identity = await revealIdentity(db, { requestId: r.id, actor: processor });
    expect(identity).toEqual({ email: r.email, name: "Robin Example", dataPoints: { phone: "+44 7700 900123" } });
    expect(await lastEvent(r.id)).toMatchObject({ actorId: processor.id, action: "request.identity_viewed", details: { fields: ["email", "name", "dataPoints.phone"] } });
  });
});

describe("locking", () => {
  it("never deadlocks actions on a request with audit events appended for it elsewhere (the worker's, say)", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 15; i++) {
      ops.push(assignRequest(db, { requestId: r.id, actor: admin, assigneeId: i % 2 ? processor.id : otherProcessor.id }));
      ops.push(addNote(db, { requestId: r.id, actor: processor, body: `note ${i}` }));
      ops.push(appendEvent(db, { requestId: r.id, actorType: "system", actorId: "test", action: "test.appended", details: { i } }));
    }
    await Promise.all(ops);
    const actions = (await listEvents(db, r.id)).map((e) => e.action);
    expect(actions.filter((a) => a === "request.note_added")).toHaveLength(15);
    expect(actions.filter((a) => a === "test.appended")).toHaveLength(15);
    // An assignment to whoever already has it records nothing; the order of the others is the database's.
    expect(actions.filter((a) => a === "request.assigned").length).toBeGreaterThanOrEqual(1);
  });
});

describe("the outbox", () => {
  it("sends an email whose job was lost once it is queued again", async () => {
    const db = getDb();
    const r = await addRequest(db);
    const { emailId } = await requestMoreInformation(db, { requestId: r.id, actor: admin, message: "Which store did you buy from?" });
    await mailFor(r.reference, "More information needed");
    await eventually(async () => (await db.select().from(requestEmails).where(eq(requestEmails.id, emailId)))[0]?.sentAt);
    // Nothing unsent is left for this request: a requeue finds only rows without sent_at.
    await requeueUnsentRequestEmails(db);
    expect(await sendRequestEmail(db, emailId)).toBe("skipped");
    expect(await sendRequestEmail(db, "00000000-0000-4000-8000-000000000000")).toBe("missing");
  });

  it("keeps the audit chain intact through all of the above", async () => {
    expect(await verifyAuditChain(getDb())).toMatchObject({ ok: true });
  });
});
