/**
 * Authorized agents (CCPA §7063) over real HTTP against the compiled build, with a real worker and SMTP: the
 * multipart form, the permission file sniffed and stored encrypted, the consumer confirming through the real email,
 * the acknowledgement and status page, the body limits, and the staff download (session required, audited).
 */
import { createHash, randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { and, count, eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileTooLargeMessage, fileTypeMessage, MAX_PERMISSION_BYTES } from "#app/models/agent-intake.ts";
import { confirmAgent, decryptAgent, sendAgentConfirmation, submitAgentRequest } from "#app/models/agents.server.ts";
import { setApprovalPolicy } from "#app/models/approval-policy.server.ts";
import { listEvents, verifyAuditChain } from "#app/models/audit.server.ts";
import { findPendingWork, reconcile } from "#app/models/reconcile.server.ts";
import { decryptIdentity, getRequestByReference } from "#app/models/requests.server.ts";
import { createStaff, createStaffSession, markStaffSessionMfaVerified } from "#app/models/staff.server.ts";
import { verifyCode } from "#app/models/verification.server.ts";
import { decryptBytes } from "#app/utils/crypto.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import type { CaughtMail } from "#app/utils/mail-catcher.server.ts";
import { staffCookieName } from "#app/utils/session.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestDocuments, requests, verificationChallenges } from "#db/schema/index.ts";
import { getQueue, jobIdFor } from "#jobs/queues.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { makePdf, makePng, postMultipart, type UploadPart } from "#tests/helpers/documents.ts";
import { eventually, mailsTo, uniqueEmail } from "#tests/helpers/flow.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

const web = webAppForTests();
let worker: RunningWorker | undefined;

beforeAll(async () => {
  worker = await startWorker({ schedules: false, concurrency: 2 });
});

afterAll(async () => {
  await worker?.close(5000);
});

const db = () => getDb();
const requestCount = async () => (await db().select({ n: count() }).from(requests))[0]!.n;
const documentCount = async () => (await db().select({ n: count() }).from(requestDocuments))[0]!.n;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const INVALID_LINK = "This link is not valid. It may have expired or already been used.";

function agentFields(overrides: Record<string, string> = {}) {
  return {
    agentName: "Pat Agent",
    agentOrganisation: "Privacy Helpers LLC",
    agentEmail: uniqueEmail("agent"),
    consumerEmail: uniqueEmail("consumer"),
    region: "US-CA",
    type: "deletion",
    ...overrides,
  };
}

const pdfPart = (bytes: Buffer, filename = "permission.pdf"): UploadPart => ({ bytes, filename, contentType: "application/pdf" });

function postAgent(fields: Record<string, string>, files: Record<string, UploadPart> = {}, path = "/request/agent") {
  return postMultipart(web.url, path, fields, files);
}

/** The consumer's confirmation email for a request, and the path of its link. */
async function confirmationMailFor(email: string, reference: string) {
  const mail = await testMailbox().waitFor((m) => m.to.includes(email) && m.subject.includes(reference) && /\/confirm-agent\//.test(m.text), 15_000);
  return { mail, path: confirmPath(mail) };
}

function confirmPath(mail: CaughtMail) {
  const m = /https?:\/\/[^\s"<>/]+(\/requests\/PR-[A-Z0-9-]+\/confirm-agent\/[A-Za-z0-9_-]{43})\b/.exec(mail.text);
  if (!m) throw new Error("no confirmation link in the email");
  return m[1]!;
}

function acknowledgementFor(email: string, reference: string) {
  return testMailbox().waitFor((m) => m.to.includes(email) && m.subject === `We received your request ${reference}`, 15_000);
}

/** A POST whose status is read as soon as it arrives: the server may answer (413) and close while we still send. */
function rawPost(path: string, contentType: string, body: Buffer) {
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest(web.url + path, { method: "POST", headers: { "Content-Type": contentType, "Content-Length": String(body.length), Origin: web.url } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (err) => setTimeout(() => reject(err), 1000)); // a reset after the answer is fine
    req.end(body);
  });
}

/** A signed-in staff member's cookie (password and second factor done). */
async function staffCookie() {
  const staff = await createStaff(db(), { email: `officer-${randomUUID().slice(0, 8)}@demo-shop.example`, name: "Olive Officer", role: "processor", password: "correct horse battery staple" });
  const { token, sessionId } = await createStaffSession(db(), staff.id);
  await markStaffSessionMfaVerified(db(), sessionId);
  return { staff, cookie: `${staffCookieName()}=${token}` };
}

async function submitOverHttp(fields = agentFields(), file: UploadPart = pdfPart(makePdf("I authorize Pat Agent."))) {
  const res = await postAgent(fields, { permission: file });
  expect(res.status).toBe(302);
  const reference = /^\/requests\/(PR-[A-Z0-9]{4}-[A-Z0-9]{4})\/agent-submitted$/.exec(res.headers.get("location") ?? "")?.[1];
  expect(reference).toBeTruthy();
  const row = await getRequestByReference(db(), reference!);
  return { fields, reference: reference!, row: row! };
}

describe("agent intake", () => {
  it("records the request and the encrypted permission, and emails the consumer (not the agent) to confirm", async () => {
    const marker = `consumer-signature-${randomUUID()}`;
    const pdf = makePdf(`I, the consumer, authorize Pat Agent. ${marker}`);
    const { fields, reference, row } = await submitOverHttp(agentFields(), pdfPart(pdf, "scan.png"));

    const page = await fetch(`${web.url}/requests/${reference}/agent-submitted`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("We asked the consumer to confirm");
    expect(html).toContain(reference);

    expect(row).toMatchObject({ submittedBy: "agent", status: "pending_verification", verificationLevel: 0, agentConfirmedAt: null, type: "deletion", regime: "ccpa" });
    expect(decryptIdentity(row).email).toBe(fields.consumerEmail);
    expect(decryptAgent(row)).toEqual({ name: "Pat Agent", organisation: "Privacy Helpers LLC", email: fields.agentEmail });

    // Nothing readable at rest: not the consumer, not the agent, not the file.
    const raw = postgres(getEnv().DATABASE_URL, { max: 1 });
    try {
      const [stored] = await raw`select row_to_json(r)::text as json from requests r where id = ${row.id}`;
      for (const secret of [fields.consumerEmail, fields.agentEmail, "Pat Agent", "Privacy Helpers"]) expect(String(stored?.json)).not.toContain(secret);
      const docs = await raw`select id, kind, content_type, size_bytes, sha256, ciphertext from request_documents where request_id = ${row.id}`;
      expect(docs).toHaveLength(1);
      const doc = docs[0]!;
      expect(doc).toMatchObject({ kind: "agent_authorization", content_type: "application/pdf", size_bytes: pdf.length, sha256: sha256(pdf) });
      const ciphertext = doc.ciphertext as Buffer;
      expect(Buffer.isBuffer(ciphertext)).toBe(true);
      expect(ciphertext.includes(Buffer.from(marker))).toBe(false);
      expect(ciphertext.includes(Buffer.from("%PDF-"))).toBe(false);
      expect(ciphertext.subarray(0, 9).toString("ascii")).toBe("v1.test1.");
      const plain = decryptBytes(ciphertext, `request-document:${row.id}:${doc.id}`);
      expect(sha256(plain)).toBe(sha256(pdf));
      // Bound to its request and document: under another context it does not decrypt.
      expect(() => decryptBytes(ciphertext, `request-document:${randomUUID()}:${doc.id}`)).toThrow(/authentication failed/);
    } finally {
      await raw.end();
    }

    const { mail } = await confirmationMailFor(fields.consumerEmail, reference);
    expect(mail.subject).not.toContain("Pat Agent");
    expect(mail.text).toContain("Pat Agent (Privacy Helpers LLC)");
    expect(mail.text).toContain("7 days");
    expect(mailsTo(fields.agentEmail)).toHaveLength(0);
    await eventually(async () => (await db().select().from(verificationChallenges).where(eq(verificationChallenges.requestId, row.id)))[0]?.sentAt);
    const [challenge] = await db().select().from(verificationChallenges).where(eq(verificationChallenges.requestId, row.id));
    expect(challenge).toMatchObject({ purpose: "consumer_confirmation" });
    expect(challenge!.codeHash).toMatch(/^[0-9a-f]{64}$/);

    const events = await listEvents(db(), row.id);
    expect(events.map((e) => e.action)).toEqual(["request.submitted", "document.received", "agent_confirmation.sent"]);
    expect(events[0]!).toMatchObject({ actorType: "agent", actorId: null, details: { type: "deletion", submittedBy: "agent" } });
    expect(events[1]!.actorType).toBe("agent");
    expect(events[1]!.details).toMatchObject({ kind: "agent_authorization", contentType: "application/pdf", sizeBytes: pdf.length });
    // The job is safe to run twice.
    expect(await sendAgentConfirmation(db(), challenge!.id)).toBe("skipped");
  });

  it("lets the consumer confirm through the emailed link; opening it changes nothing; the acknowledgement goes to the consumer", async () => {
    const png = makePng(24, 24);
    const { fields, reference, row } = await submitOverHttp(agentFields({ type: "opt_out", region: "US-CO" }), { bytes: png, filename: "permission.pdf", contentType: "application/pdf" });
    // Even an opt-out waits for the consumer when an agent asked.
    expect(row).toMatchObject({ status: "pending_verification", requiredVerificationLevel: 0 });
    const { path } = await confirmationMailFor(fields.consumerEmail, reference);

    // GET (as a mail scanner would): a page with a button, no state change.
    const opened = await fetch(web.url + path);
    expect(opened.status).toBe(200);
    expect(opened.headers.get("cache-control")).toBe("no-store");
    const page = await opened.text();
    expect(page).toContain("Pat Agent (Privacy Helpers LLC)");
    expect(page).toContain("Yes, I gave permission");
    expect(await getRequestByReference(db(), reference)).toMatchObject({ status: "pending_verification", agentConfirmedAt: null });

    const confirmed = await web.post(path, "");
    expect(confirmed.status).toBe(302);
    expect(confirmed.headers.get("location")).toBe(`/requests/${reference}/confirmed`);
    const after = await getRequestByReference(db(), reference);
    // Verified — and, as an opt-out is automatic under the default approval policy, approved at once (the worker may
    // already have moved it on).
    expect(after).toMatchObject({ verificationLevel: 1 });
    expect(["approved", "processing", "action_required", "completed"]).toContain(after!.status);
    expect(after!.agentConfirmedAt).toBeInstanceOf(Date);
    expect(after!.verifiedAt).toBeInstanceOf(Date);
    expect((await fetch(`${web.url}/requests/${reference}/confirmed`)).status).toBe(200);

    // The acknowledgement, with the private status link, goes to the consumer, and the status page shows the request.
    const ack = await acknowledgementFor(fields.consumerEmail, reference);
    expect(/\/status\/[A-Za-z0-9_-]{43}\b/.test(ack.text)).toBe(true);
    // Approved at once, the opt-out may already be carried out: its completion email then carries a fresh status link
    // (only the newest works, ADR 012). Wait until the execution settled, then follow the newest link the consumer got.
    const settled = await eventually(async () => {
      const s = (await getRequestByReference(db(), reference))!.status;
      if (s === "action_required") return s;
      if (s === "completed" && mailsTo(fields.consumerEmail).some((m) => m.subject.includes(`${reference} is complete`))) return s;
      return null;
    }, 20_000);
    expect(["action_required", "completed"]).toContain(settled);
    const newest = mailsTo(fields.consumerEmail).filter((m) => /\/status\/[A-Za-z0-9_-]{43}\b/.test(m.text)).at(-1)!;
    const statusPath = /https?:\/\/[^\s"<>/]+(\/status\/[A-Za-z0-9_-]{43})\b/.exec(newest.text)?.[1];
    expect(statusPath).toBeTruthy();
    const status = await fetch(web.url + statusPath);
    expect(status.status).toBe(200);
    const statusHtml = await status.text();
    expect(statusHtml).toContain(reference);
    expect(statusHtml).toContain("You confirmed that your authorized agent may act for you.");
    expect(mailsTo(fields.agentEmail)).toHaveLength(0);
    await eventually(async () => (await getRequestByReference(db(), reference))?.acknowledgedAt);

    // The link is single use.
    const reused = await web.post(path, "");
    expect(reused.status).toBe(404);
    expect(await reused.text()).toContain(INVALID_LINK);
    expect((await fetch(web.url + path)).status).toBe(404);

    const events = await listEvents(db(), row.id);
    const actions = events.map((e) => e.action);
    expect(actions.slice(0, 6)).toEqual([
      "request.submitted",
      "document.received",
      "agent_confirmation.sent",
      "request.agent_confirmed",
      "request.verified",
      "request.approved",
    ]);
    expect(actions).toContain("request.acknowledged");
    expect(events.filter((e) => e.action === "request.approved")).toEqual([expect.objectContaining({ actorType: "system", actorId: "approval-policy" })]);
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true });
  });

  it("answers wrong, malformed, expired and borrowed links with the same 404 and changes nothing", async () => {
    const a = await submitOverHttp();
    const b = await submitOverHttp();
    const pathA = (await confirmationMailFor(a.fields.consumerEmail, a.reference)).path;
    const pathB = (await confirmationMailFor(b.fields.consumerEmail, b.reference)).path;
    const tokenA = pathA.split("/").pop()!;
    const wrongToken = (tokenA[0] === "A" ? "B" : "A") + tokenA.slice(1);

    const bad = [
      `/requests/${a.reference}/confirm-agent/${wrongToken}`,
      `/requests/${a.reference}/confirm-agent/short`,
      `/requests/PR-2222-2222/confirm-agent/${tokenA}`,
      `/requests/${b.reference}/confirm-agent/${tokenA}`, // A's token on B's request
    ];
    for (const path of bad) {
      const get = await fetch(web.url + path);
      expect(get.status, path).toBe(404);
      expect(await get.text()).toContain(INVALID_LINK);
      const post = await web.post(path, "");
      expect(post.status, path).toBe(404);
      expect(await post.text()).toContain(INVALID_LINK);
    }
    // Wrong codes typed on the requester's verification page do not use up the consumer's link either.
    for (let i = 0; i < 6; i++) expect((await verifyCode(db(), a.reference, "000000")).ok).toBe(false);

    // Expired: B's link stops working once its time is up (moved in the database, as time would).
    await db().update(verificationChallenges).set({ expiresAt: new Date(Date.now() - 60_000) }).where(eq(verificationChallenges.requestId, b.row.id));
    expect((await fetch(web.url + pathB)).status).toBe(404);
    expect((await web.post(pathB, "")).status).toBe(404);
    expect(await getRequestByReference(db(), b.reference)).toMatchObject({ status: "pending_verification", agentConfirmedAt: null });
    expect(await confirmAgent(db(), b.reference, pathB.split("/").pop()!)).toBe(false);

    // A's own link still works after all that.
    expect(await getRequestByReference(db(), a.reference)).toMatchObject({ status: "pending_verification", agentConfirmedAt: null });
    expect((await web.post(pathA, "")).status).toBe(302);
    expect(await getRequestByReference(db(), a.reference)).toMatchObject({ status: "verified" });
  });

  it("applies the approval policy once the consumer confirms: automatic → approved at once (once), review → waits for staff", async () => {
    const admin = await createStaff(db(), { email: `admin-${randomUUID().slice(0, 8)}@demo-shop.example`, name: "Ada Admin", role: "admin", password: "correct horse battery staple" });
    await setApprovalPolicy(db(), admin, [{ regime: "us_state", type: "deletion", mode: "automatic" }]);
    try {
      // Virginia deletion: level 1, which the consumer's confirmation gives.
      const auto = await submitOverHttp(agentFields({ type: "deletion", region: "US-VA" }));
      const { path } = await confirmationMailFor(auto.fields.consumerEmail, auto.reference);
      expect((await web.post(path, "")).status).toBe(302);
      expect(["approved", "processing", "action_required", "completed"]).toContain((await getRequestByReference(db(), auto.reference))!.status);
      expect((await web.post(path, "")).status).toBe(404); // used: nothing happens twice
      const approvals = (await listEvents(db(), auto.row.id)).filter((e) => e.action === "request.approved");
      expect(approvals).toEqual([expect.objectContaining({ actorType: "system", actorId: "approval-policy", details: expect.objectContaining({ policy: "automatic", level: 1 }) })]);

      await setApprovalPolicy(db(), admin, [{ regime: "us_state", type: "deletion", mode: "review" }]);
      const reviewed = await submitOverHttp(agentFields({ type: "deletion", region: "US-VA" }));
      const second = await confirmationMailFor(reviewed.fields.consumerEmail, reviewed.reference);
      expect((await web.post(second.path, "")).status).toBe(302);
      expect(await getRequestByReference(db(), reviewed.reference)).toMatchObject({ status: "verified", verificationLevel: 1 });
      expect((await listEvents(db(), reviewed.row.id)).map((e) => e.action)).not.toContain("request.approved");
    } finally {
      await setApprovalPolicy(db(), admin, [{ regime: "us_state", type: "deletion", mode: "review" }]);
    }
  });
});

describe("agent form validation", () => {
  it.each([
    ["HTML named .pdf and sent as application/pdf", Buffer.from("<!doctype html><script>alert(1)</script>"), "permission.pdf", "application/pdf"],
    ["a GIF named .png and sent as image/png", Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1"), "permission.png", "image/png"],
    ["a Windows executable named .jpg and sent as image/jpeg", Buffer.concat([Buffer.from("MZ"), Buffer.alloc(200)]), "permission.jpg", "image/jpeg"],
    ["an SVG sent as image/png", Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), "permission.png", "image/png"],
    ["a PDF whose signature is not at the start", Buffer.concat([Buffer.from(" "), makePdf("late")]), "permission.pdf", "application/pdf"],
  ])("refuses %s with a field error and creates nothing", async (_label, bytes, filename, contentType) => {
    const [requestsBefore, documentsBefore] = [await requestCount(), await documentCount()];
    const res = await postAgent(agentFields(), { permission: { bytes, filename, contentType } });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain(fileTypeMessage.replace(/'/g, "&#x27;"));
    expect(html).not.toContain("<script>alert(1)");
    // Remix's fetch submission gets the same message as data.
    const data = await postAgent(agentFields(), { permission: { bytes, filename, contentType } }, "/request/agent?_data=routes%2Frequest.agent");
    expect(data.status).toBe(400);
    expect(await data.text()).toContain(fileTypeMessage);
    expect([await requestCount(), await documentCount()]).toEqual([requestsBefore, documentsBefore]);
  });

  it("refuses a missing file and an empty file input with a field error", async () => {
    const before = await requestCount();
    const none = await postAgent(agentFields());
    expect(none.status).toBe(400);
    expect(await none.text()).toContain("Please attach the consumer&#x27;s signed permission");
    const empty = await postAgent(agentFields(), { permission: { bytes: new Uint8Array(0), filename: "", contentType: "application/octet-stream" } });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Please attach the consumer&#x27;s signed permission");
    // An urlencoded post (no file possible) is answered the same way.
    const urlencoded = await web.post("/request/agent", new URLSearchParams(agentFields()));
    expect(urlencoded.status).toBe(400);
    expect(await urlencoded.text()).toContain("Please attach the consumer&#x27;s signed permission");
    expect(await requestCount()).toBe(before);
  });

  it("accepts a file of exactly 5 MB and refuses one byte more with a field error", async () => {
    const before = await requestCount();
    const atLimit = Buffer.concat([makePdf("big"), Buffer.alloc(MAX_PERMISSION_BYTES)]).subarray(0, MAX_PERMISSION_BYTES);
    const over = Buffer.concat([atLimit, Buffer.from("x")]);
    const refused = await postAgent(agentFields(), { permission: pdfPart(over) });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(fileTooLargeMessage);
    expect(await requestCount()).toBe(before);

    const { row } = await submitOverHttp(agentFields(), pdfPart(atLimit));
    const [doc] = await db().select().from(requestDocuments).where(eq(requestDocuments.requestId, row.id));
    expect(doc).toMatchObject({ sizeBytes: MAX_PERMISSION_BYTES, sha256: sha256(atLimit) });
  });

  it("answers 413 to a body over 6 MiB on the agent form, while every other path keeps the 1 MiB limit", async () => {
    const before = await requestCount();
    const boundary = "----agent-test-boundary";
    const multipart = (size: number) =>
      Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="permission"; filename="p.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-`),
        Buffer.alloc(size, 0x20),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
    const type = `multipart/form-data; boundary=${boundary}`;
    expect(await rawPost("/request/agent", type, multipart(6 * 1024 * 1024))).toBe(413);
    expect(await rawPost("/request/agent/", type, multipart(6 * 1024 * 1024))).toBe(413);
    expect(await rawPost("/request/agent?_data=routes%2Frequest.agent", type, multipart(6 * 1024 * 1024))).toBe(413);
    // Just under 6 MiB reaches the form (and is refused there: the file is over 5 MB).
    expect(await rawPost("/request/agent", type, multipart(6 * 1024 * 1024 - 1024))).toBe(400);

    // Other paths: 1 MiB, as before.
    const text = (size: number) => Buffer.from(`region=US-CA&email=${"a".repeat(size)}`);
    expect(await rawPost("/request/access", "application/x-www-form-urlencoded", text(1024 * 1024))).toBe(413);
    expect(await rawPost("/request/opt-out", "multipart/form-data; boundary=x", multipart(2 * 1024 * 1024))).toBe(413);
    expect(await rawPost("/request/agents", type, multipart(2 * 1024 * 1024))).toBe(413);
    expect(await rawPost("/request/agent/x", type, multipart(2 * 1024 * 1024))).toBe(413);
    expect(await requestCount()).toBe(before);
  });

  it.each([
    ["a malformed agent email", { agentEmail: "not-an-email" }, "valid email address for yourself"],
    ["a malformed consumer email", { consumerEmail: "nope" }, "valid email address for the consumer,"],
    ["no agent name", { agentName: "" }, "Please fill in your name."],
    ["a web address as the agent's name", { agentName: "Call https://evil.example" }, "cannot contain a web or email address"],
    ["a region without authorized agents (EU)", { region: "EU" }, "Please choose where the consumer lives from the list."],
    ["an unknown request type", { type: "objection" }, "Please choose what the consumer asks for."],
    ["limiting sensitive data outside California", { type: "limit_sensitive", region: "US-VA" }, "This request is not available where the consumer lives."],
    ["a correction without its details", { type: "correction" }, "For a correction, please say what is wrong."],
  ])("refuses %s with a specific message and creates nothing", async (_label, overrides, message) => {
    const before = await requestCount();
    const res = await postAgent(agentFields(overrides), { permission: pdfPart(makePdf("ok")) });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(message);
    expect(await requestCount()).toBe(before);
  });

  it("stores a correction's details and drops a honeypot submission silently", async () => {
    const { row } = await submitOverHttp(agentFields({ type: "correction", incorrect: "My address is old", correct: "1 New Street" }));
    expect(row.detailsCiphertext).toBeTruthy();
    const before = await requestCount();
    const bot = await postAgent(agentFields({ website: "http://spam.example" }), { permission: pdfPart(makePdf("ok")) });
    expect(bot.status).toBe(302);
    expect(bot.headers.get("location")).toMatch(/^\/requests\/PR-[A-Z0-9]{4}-[A-Z0-9]{4}\/agent-submitted$/);
    expect(await requestCount()).toBe(before);
  });
});

describe("staff", () => {
  it("downloads the permission only with a session, with safe headers, and audits every view", async () => {
    const png = makePng(8, 8, [200, 30, 30]);
    const { fields, reference, row } = await submitOverHttp(agentFields(), { bytes: png, filename: "permission.pdf", contentType: "application/pdf" });
    const [doc] = await db().select().from(requestDocuments).where(eq(requestDocuments.requestId, row.id));
    expect(doc!.contentType).toBe("image/png"); // sniffed, not claimed
    const url = `${web.url}/admin/requests/${reference}/documents/${doc!.id}`;
    const viewed = async () => (await listEvents(db(), row.id)).filter((e) => e.action === "document.viewed");

    const anonymous = await fetch(url, { redirect: "manual" });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toBe(`/admin/login?next=${encodeURIComponent(`/admin/requests/${reference}/documents/${doc!.id}`)}`);
    const forged = await fetch(url, { redirect: "manual", headers: { Cookie: `${staffCookieName()}=${"x".repeat(43)}` } });
    expect(forged.status).toBe(302);
    expect(await viewed()).toHaveLength(0);

    const { staff, cookie } = await staffCookie();
    const res = await fetch(url, { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${reference}-agent-authorization.png"`);
    expect(res.headers.get("x-content-type-options")).toContain("nosniff");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toMatch(/(^|,\s*)sandbox(,|$)/);
    expect(Buffer.from(await res.arrayBuffer()).equals(png)).toBe(true);

    await fetch(url, { headers: { Cookie: cookie } }).then((r) => r.arrayBuffer());
    const events = await viewed();
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ actorType: "staff", actorId: staff.id, details: { documentId: doc!.id, kind: "agent_authorization" } });

    // Another request's reference, an unknown id, a malformed id: 404, nothing recorded.
    const other = await submitOverHttp();
    for (const path of [
      `/admin/requests/${other.reference}/documents/${doc!.id}`,
      `/admin/requests/${reference}/documents/${randomUUID()}`,
      `/admin/requests/${reference}/documents/not-a-uuid`,
    ]) {
      expect((await fetch(web.url + path, { headers: { Cookie: cookie } })).status, path).toBe(404);
    }
    expect(await viewed()).toHaveLength(2);

    // The request page shows the agent section: name, masked email, the download link — never the full email.
    const detail = await fetch(`${web.url}/admin/requests/${reference}`, { headers: { Cookie: cookie } });
    expect(detail.status).toBe(200);
    const html = await detail.text();
    expect(html).toContain("Authorized agent");
    expect(html).toContain("Pat Agent");
    expect(html).toContain(`/admin/requests/${reference}/documents/${doc!.id}`);
    expect(html).not.toContain(fields.agentEmail);
    expect(html).toContain(`@${fields.agentEmail.split("@")[1]}`);
    expect(html).toContain("waiting for the consumer");
  });
});

describe("reconcile", () => {
  it("re-enqueues an unsent consumer confirmation (and never as a verification code)", async () => {
    await worker?.close(5000);
    worker = undefined;
    const consumer = uniqueEmail("reconcile-consumer");
    const created = await submitAgentRequest(db(), {
      type: "access",
      consumerEmail: consumer,
      region: "US-CA",
      agent: { name: "Pat Agent", email: uniqueEmail("agent") },
      document: { bytes: makePdf("permission"), contentType: "application/pdf" },
    });
    // Redis loses the job before any worker ran.
    const job = await getQueue("email").getJob(jobIdFor("send-agent-confirmation", { challengeId: created.challengeId })!);
    expect(job).toBeTruthy();
    await job!.remove();

    const work = await findPendingWork(db());
    expect(work.agentConfirmationIds).toContain(created.challengeId);
    expect(work.challengeIds).not.toContain(created.challengeId);
    expect(await reconcile(db())).toMatchObject({ agentConfirmations: expect.any(Number) });

    worker = await startWorker({ schedules: false, concurrency: 2 });
    const { mail } = await confirmationMailFor(consumer, created.reference);
    expect(mail.subject).toContain(created.reference);
    await eventually(async () => {
      const [c] = await db().select().from(verificationChallenges).where(and(eq(verificationChallenges.id, created.challengeId)));
      return c?.sentAt;
    });
    expect((await findPendingWork(db())).agentConfirmationIds).not.toContain(created.challengeId);
    expect(mailsTo(consumer).filter((m) => m.subject === "Your verification code")).toHaveLength(0);
  });
});
