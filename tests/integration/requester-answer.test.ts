/**
 * The requester's answer to "more information needed", over real HTTP against the portal's real processes (web and
 * worker as child processes, their log lines captured) and the file's SMTP listener: staff ask from the request page,
 * the requester follows the emailed status link, reads the question, answers (validated, rate-limited), the request
 * returns to review with its deadline unchanged, staff read the answer on the request page — and neither the answer
 * nor the question reaches a log line, the audit trail or the database in clear.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listEvents } from "#app/models/audit.server.ts";
import { issueStatusToken, publicTimeline } from "#app/models/status.server.ts";
import { closeRedis } from "#app/utils/redis.server.ts";
import { getDb } from "#db/client.server.ts";
import { requestAnswers, requests } from "#db/schema/index.ts";
import { closeQueues } from "#jobs/queues.ts";
import { statusLinkFromMail } from "#tests/helpers/flow.ts";
import { startPortal, type PortalProcess } from "#tests/helpers/processes.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";
import { addRequest, addStaff, sessionCookie } from "./console-fixtures.ts";

let portal: { baseUrl: string; web: PortalProcess; worker: PortalProcess };

beforeAll(async () => {
  portal = await startPortal();
}, 60_000);

afterAll(async () => {
  await portal?.web.stop();
  await portal?.worker.stop();
  await closeQueues();
  await closeRedis();
});

const db = () => getDb();
const rowOf = async (id: string) => (await db().select().from(requests).where(eq(requests.id, id)))[0]!;
const post = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: portal.baseUrl, ...headers },
    body: new URLSearchParams(fields).toString(),
  });

describe("the requester answers a request for more information", () => {
  it("from the status page: back to review, deadline unchanged, answer encrypted, shown to staff, never logged", async () => {
    const processor = await addStaff(db(), "processor", "answers");
    const cookie = await sessionCookie(db(), processor.id);
    const r = await addRequest(db(), { type: "access", region: "EU", assigneeId: processor.id, status: "in_review" });
    const question = "Please tell us the order number of your last purchase (it starts with SO-).";
    const asked = await post(`${portal.baseUrl}/admin/requests/${r.reference}`, { intent: "request-information", message: question }, { Cookie: cookie });
    expect(asked.status).toBe(302);
    const mail = await testMailbox().waitFor((m) => m.to.includes(r.email) && m.text.includes(question), 15_000);
    const statusUrl = statusLinkFromMail(mail);
    const before = await rowOf(r.id);
    expect(before.status).toBe("awaiting_information");

    // The status page shows the question and the form.
    const page = await (await fetch(statusUrl)).text();
    expect(page).toContain("We need more information from you");
    expect(page).toContain(question);
    expect(page).toMatch(/<label for="[^"]+">Your answer<\/label>/);
    expect(page).toContain("Send my answer");

    // Bad answers: a message tied to the field, nothing recorded.
    const empty = await post(statusUrl, { intent: "answer", answer: "   " });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Please write your answer.");
    const long = await post(statusUrl, { intent: "answer", answer: "x".repeat(4001) });
    expect(long.status).toBe(400);
    expect(await long.text()).toContain("Your answer can be at most 4,000 characters.");
    expect((await rowOf(r.id)).status).toBe("awaiting_information");
    expect(await db().select().from(requestAnswers).where(eq(requestAnswers.requestId, r.id))).toHaveLength(0);

    const answer = "My last order was SO-77213, delivered to 12 Quiet Lane.";
    const sent = await post(statusUrl, { intent: "answer", answer });
    expect(sent.status).toBe(302);
    const token = statusUrl.split("/status/")[1]!;
    expect(sent.headers.get("location")).toBe(`/status/${token}?answered=1`);

    const after = await rowOf(r.id);
    expect(after).toMatchObject({ status: "in_review", assigneeId: processor.id });
    // No rule of the legal calendar stops the clock for a clarification: the due date is what it was.
    expect(after.dueAt.toISOString()).toBe(before.dueAt.toISOString());
    expect(after.extendedDueAt).toBeNull();

    const stored = await db().select().from(requestAnswers).where(eq(requestAnswers.requestId, r.id));
    expect(stored).toHaveLength(1);
    expect(stored[0]!.bodyCiphertext).not.toContain("SO-77213");

    const events = await listEvents(db(), r.id);
    const received = events.find((e) => e.action === "request.information_received");
    expect(received).toMatchObject({ actorType: "subject", details: { answerId: stored[0]!.id, characters: answer.length, from: "awaiting_information", to: "in_review" } });
    expect(JSON.stringify(events)).not.toContain("SO-77213");
    expect((await publicTimeline(db(), r.id)).map((t) => t.text)).toContain("You sent us the information we asked for.");

    // The assignee is told by email: the reference and where to read it, not the answer.
    const notice = await testMailbox().waitFor((m) => m.to.includes(processor.email) && m.subject.includes(r.reference), 15_000);
    expect(notice.subject).toBe(`The requester answered: ${r.reference} is back in review`);
    expect(notice.text).toContain(`${portal.baseUrl}/admin/requests/${r.reference}`);
    expect(notice.text).toContain("You receive this as the request's assignee.");
    expect(notice.text + notice.html).not.toContain("SO-77213");
    await expect.poll(async () => (await listEvents(db(), r.id)).find((e) => e.action === "request.answer_notice_sent")?.details).toEqual({ answerId: stored[0]!.id, recipients: 1 });

    // The requester's page thanks them and no longer offers the form.
    const thanks = await (await fetch(`${statusUrl}?answered=1`)).text();
    expect(thanks).toContain("we received your answer");
    expect(thanks).not.toContain("Send my answer");
    expect(thanks).toContain("You sent us the information we asked for.");

    // Staff read it on the request page, like a note.
    const staffPage = await (await fetch(`${portal.baseUrl}/admin/requests/${r.reference}`, { headers: { Cookie: cookie } })).text();
    expect(staffPage).toContain("The requester&#x27;s answers");
    expect(staffPage).toContain(answer);
    expect(staffPage).toMatch(/data-testid="status">in review</);
    expect(staffPage).toMatch(/data-testid="new-answer">The requester answered on (<!-- -->)?\d{4}-\d\d-\d\d \d\d:\d\d UTC(<!-- -->)?: <a href="#answers-title">read their answer<\/a>/);

    // Answering again: refused plainly (the request is no longer waiting) — until the rate limit stops the tries.
    for (let i = 0; i < 4; i++) {
      const again = await post(statusUrl, { intent: "answer", answer: "One more thing." });
      expect(again.status).toBe(409);
      expect(await again.text()).toContain("We are not waiting for information on this request any more");
    }
    const limited = await post(statusUrl, { intent: "answer", answer: "One more thing." });
    expect(limited.status).toBe(429);
    expect(await limited.text()).toContain("You have sent several answers in a short time.");
    expect(await db().select().from(requestAnswers).where(eq(requestAnswers.requestId, r.id))).toHaveLength(1);

    // Neither the answer nor the question is in any log line of the web or the worker.
    const logs = [...portal.web.logs, ...portal.worker.logs].join("\n");
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of ["SO-77213", "Quiet Lane", "order number of your last purchase", r.email]) expect(logs).not.toContain(secret);
  }, 60_000);

  it("refuses an answer when staff did not ask (or a wrong link) without changing anything", async () => {
    const r = await addRequest(db(), { type: "access", region: "EU", status: "in_review" });
    const token = await issueStatusToken(db(), r.id);
    const page = await (await fetch(`${portal.baseUrl}/status/${token}`)).text();
    expect(page).not.toContain("Send my answer");
    const refused = await post(`${portal.baseUrl}/status/${token}`, { intent: "answer", answer: "Unasked." });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("We are not waiting for information on this request any more");
    expect((await rowOf(r.id)).status).toBe("in_review");
    const wrong = await post(`${portal.baseUrl}/status/${"A".repeat(43)}`, { intent: "answer", answer: "Hello" });
    expect(wrong.status).toBe(404);
  });
});
