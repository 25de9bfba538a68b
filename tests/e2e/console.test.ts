/**
 * The staff console in Chromium, with the real web app, a real worker and the file's SMTP listener: a processor signs
 * in with a TOTP code, works one request through approval, denies one with a reason (the requester receives the
 * denial), extends one (the requester receives the notice; their status page shows the new date and the reason).
 * Keyboard only: the queue's filters and a request's action are reached with Tab and operated with Enter and Space.
 * Without JavaScript: the queue's GET form and an action form still work. The request page with the keyboard alone:
 * every control is reached by Tab in the page's order with a visible focus ring, and a manual store's task recorded
 * that way completes the request, which the page shows by itself (it refreshes while processing).
 */
import { eq } from "drizzle-orm";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeDeadlines, formatDueDate } from "#app/models/deadlines.ts";
import { denialReasons } from "#app/models/request-actions.server.ts";
import { getDb } from "#db/client.server.ts";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { requests, stores } from "#db/schema/index.ts";
import { enqueue } from "#jobs/queues.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { browserForTests, signInStaff, staffWithTotpForTests } from "#tests/helpers/browser.ts";
import { eventually, statusLinkFromMail } from "#tests/helpers/flow.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";
import { addRequest } from "../integration/console-fixtures.ts";

const STAFF = { email: "console.processor@demo-shop.example", password: "console e2e passphrase 7", name: "Pat Processor" };
const web = webAppForTests();
const { openPage, pages } = browserForTests("console");
const { nextCode } = staffWithTotpForTests(STAFF, "processor");
/** Closed and started again by a test, so this file keeps it itself. */
let worker: RunningWorker;

beforeAll(async () => {
  worker = await startWorker({ schedules: false, concurrency: 2 });
});
afterAll(async () => {
  await worker?.close(5000);
});

async function signIn(page: Page) {
  await page.goto(`${web.url}/admin`);
  await signInStaff(page, STAFF, nextCode);
  await page.getByRole("heading", { name: "Requests", exact: true }).waitFor();
}


const mailFor = (reference: string, subjectStart: string) =>
  testMailbox().waitFor((m) => m.subject.includes(reference) && m.subject.startsWith(subjectStart), 20_000);

type Focused = { tag: string; id: string; text: string; label: string };

/** What has the focus: tag, id, text and the text of its label. */
function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const el = document.activeElement as (HTMLElement & { labels?: NodeListOf<HTMLLabelElement> }) | null;
    return { tag: el?.tagName ?? "", id: el?.id ?? "", text: (el?.textContent ?? "").trim(), label: (el?.labels?.[0]?.textContent ?? "").trim() };
  });
}

/** Presses Tab until the focused element satisfies `test` (at most `max` times); fails if it is never reached. */
async function tabTo(page: Page, test: (el: Focused) => boolean, what: string, max = 80) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (test(await focused(page))) return;
  }
  throw new Error(`${what} is not reachable with Tab`);
}

describe("a processor works the queue in Chromium", () => {
  it("signs in with TOTP, approves one request, denies one with a reason, extends one", { timeout: 120_000 }, async () => {
    const db = getDb();
    const toApprove = await addRequest(db, { type: "access", region: "UK" });
    const toDeny = await addRequest(db, { type: "deletion", region: "UK" });
    const toExtend = await addRequest(db, { type: "access", region: "EU" });
    const { page, errors, context } = await openPage();
    await signIn(page);

    // The queue lists them with their deadlines.
    for (const r of [toApprove, toDeny, toExtend]) {
      const row = page.locator(`tr[data-reference="${r.reference}"]`);
      await expect.poll(() => row.textContent()).toContain("verified");
      expect(await row.textContent()).toContain(formatDueDate(r.dueAt));
      expect(await row.locator("[data-badge]").getAttribute("data-badge")).toBe("on-time");
    }

    // 1. Assign to me and approve.
    await page.getByRole("link", { name: toApprove.reference }).click();
    await page.getByRole("heading", { name: new RegExp(toApprove.reference) }).waitFor();
    await page.getByRole("button", { name: "Save assignment" }).click();
    await page.getByText("Assignment saved.").waitFor();
    expect(await page.getByTestId("assignee").textContent()).toBe(STAFF.name);
    expect(await page.getByTestId("status").textContent()).toBe("in review");
    await page.getByRole("button", { name: "Approve request" }).click();
    await page.getByText("Request approved.").waitFor();
    expect(["approved", "processing", "completed", "action required"]).toContain(await page.getByTestId("status").textContent());
    expect(await page.getByRole("button", { name: "Approve request" }).count()).toBe(0);

    // 2. Deny with a reason; the requester receives the denial.
    await page.getByRole("link", { name: "← All requests" }).click();
    await page.getByRole("link", { name: toDeny.reference }).click();
    await page.getByRole("heading", { name: new RegExp(toDeny.reference) }).waitFor();
    await page.getByLabel("Reason", { exact: true }).selectOption({ label: denialReasons.legal_obligation_to_keep.label });
    await page.getByLabel("Explanation for the requester").fill("Your last order is still open; ask again once it is delivered.");
    await page.getByRole("button", { name: "Deny request" }).click();
    await page.getByText("Request denied.").waitFor();
    expect(await page.getByTestId("status").textContent()).toBe("denied");
    const denial = await mailFor(toDeny.reference, "Our decision on your request");
    expect(denial.to).toContain(toDeny.email);
    expect(denial.text).toContain(denialReasons.legal_obligation_to_keep.text);
    expect(denial.text).toContain("Your last order is still open; ask again once it is delivered.");
    expect(denial.text).toContain("https://ico.org.uk/make-a-complaint/");

    // 3. Extend; the requester receives the notice, and their status page shows the new date and the reason.
    await page.getByRole("link", { name: "← All requests" }).click();
    await page.getByRole("link", { name: toExtend.reference }).click();
    await page.getByRole("heading", { name: new RegExp(toExtend.reference) }).waitFor();
    const newDue = formatDueDate(computeDeadlines("gdpr", "access", toExtend.receivedAt).extendedDueAt!);
    expect(await page.getByText(`the new due date is ${newDue}`).count()).toBe(1);
    const reason = "Your data sits in three older systems that we must search by hand.";
    await page.getByLabel("Why do you need more time?").fill(reason);
    await page.getByRole("button", { name: "Extend deadline" }).click();
    await page.getByText("Deadline extended.").waitFor();
    expect(await page.getByTestId("due").textContent()).toContain(newDue);
    const notice = await mailFor(toExtend.reference, "We need more time");
    expect(notice.text).toContain(newDue);
    expect(notice.text).toContain(reason);

    const requester = await context.newPage();
    pages.push(requester);
    await requester.goto(statusLinkFromMail(notice).replace("http://localhost:3000", web.url));
    await requester.getByRole("heading", { name: `Your request ${toExtend.reference}` }).waitFor();
    expect(await requester.locator("dt:has-text('We will respond by') + dd").textContent()).toContain(newDue);
    expect(await requester.locator("dt:has-text('Why we need more time') + dd").textContent()).toBe(reason);
    expect(await requester.getByText("We extended the deadline.").count()).toBe(1);

    expect(errors).toEqual([]);
    await context.close();
  });

  it("reaches and operates the queue's filters and a request's action with the keyboard alone", { timeout: 120_000 }, async () => {
    const db = getDb();
    const target = await addRequest(db, { type: "correction", region: "US-CO" });
    const { page, errors, context } = await openPage();
    await signIn(page);

    // From the top of the page: Tab to the search field, type the reference, Enter submits the GET form.
    await page.locator("body").focus();
    await tabTo(page, (el) => el.id === "q", "the search field");
    await page.keyboard.type(target.reference.toLowerCase());
    await page.keyboard.press("Enter");
    await page.waitForURL(/[?&]q=/);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);

    // Space ticks a checkbox; Enter on the submit button applies: nothing is overdue for this reference.
    await page.locator("body").focus();
    await tabTo(page, (el) => el.id === "overdue", "the overdue checkbox");
    await page.keyboard.press("Space");
    expect(await page.locator("#overdue").isChecked()).toBe(true);
    await tabTo(page, (el) => el.tag === "BUTTON" && el.text === "Show requests", "the submit button");
    await page.keyboard.press("Enter");
    await page.waitForURL(/overdue=1/);
    await page.getByText("No requests match.").waitFor();

    // Untick, apply again, Tab to the request's link and open it with Enter.
    await page.locator("body").focus();
    await tabTo(page, (el) => el.id === "overdue", "the overdue checkbox");
    await page.keyboard.press("Space");
    await tabTo(page, (el) => el.tag === "BUTTON" && el.text === "Show requests", "the submit button");
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => !url.search.includes("overdue"));
    await page.locator("body").focus();
    await tabTo(page, (el) => el.tag === "A" && el.text === target.reference, "the request's link");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: new RegExp(target.reference) }).waitFor();

    // On the request: Tab to "What do you need?", type, Tab to its button, Space sends it.
    await page.locator("body").focus();
    await tabTo(page, (el) => el.tag === "TEXTAREA" && el.label === "What do you need?", "the more-information field");
    await page.keyboard.type("Please confirm the postcode of your delivery address.");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toMatchObject({ tag: "BUTTON", text: "Ask for more information" });
    await page.keyboard.press("Space");
    await page.getByText("Asked the requester for more information.").waitFor();
    expect(await page.getByTestId("status").textContent()).toBe("awaiting information");
    const mail = await mailFor(target.reference, "More information needed");
    expect(mail.text).toContain("Please confirm the postcode of your delivery address.");

    expect(errors).toEqual([]);
    await context.close();
  });

  it("works without JavaScript: the queue's GET form filters, an action form posts", { timeout: 120_000 }, async () => {
    const db = getDb();
    const target = await addRequest(db, { type: "objection", region: "EU" });
    const { page, context } = await openPage({ javaScriptEnabled: false });
    await signIn(page);
    await page.getByLabel("Type", { exact: true }).selectOption({ label: "Object to processing" });
    await page.getByLabel("Law", { exact: true }).selectOption({ label: "GDPR" });
    await page.getByRole("button", { name: "Show requests" }).click();
    await page.waitForURL(/type=objection/);
    expect(await page.locator(`tr[data-reference="${target.reference}"]`).count()).toBe(1);
    // A bad parameter typed into the URL: a message, not an error page.
    const bad = await page.goto(`${web.url}/admin?within=soon`);
    expect(bad?.status()).toBe(400);
    await page.getByTestId("queue-errors").getByText("“Due within” must be a number of days.").waitFor();
    expect(await page.locator("#within").getAttribute("aria-invalid")).toBe("true");

    await page.goto(`${web.url}/admin/requests/${target.reference}`);
    await page.getByLabel("Add a note").fill("Checked the marketing lists; none found.");
    await page.getByRole("button", { name: "Add note" }).click();
    await page.getByText("Note added.").waitFor();
    expect(await page.getByText("Checked the marketing lists; none found.").count()).toBe(1);
    await context.close();
  });

  it("the request page with the keyboard alone: every control reached in order with a visible focus; a manual task recorded completes the request", { timeout: 150_000 }, async () => {
    const db = getDb();
    const { store } = await applyStoreMap(db, {
      name: "paper-archive",
      title: "Paper archive",
      kind: "manual",
      metadata: { purposes: ["Accounting"], retention: "10 years", source: "You" },
      connection: { instructions: "Find the customer's folder in cabinet B and shred it.", team: "Office" },
    });
    try {
      const target = await addRequest(db, { type: "deletion", region: "UK", status: "approved" });
      await enqueue("execute-request", { requestId: target.id });
      await eventually(async () => (await db.select({ s: requests.status }).from(requests).where(eq(requests.id, target.id)))[0]!.s === "action_required", 30_000, 100);

      const { page, errors, context } = await openPage();
      await signIn(page);
      await page.goto(`${web.url}/admin/requests/${target.reference}`);
      await page.getByRole("heading", { name: "Manual task: Paper archive (erase)" }).waitFor();
      // The live refresh needs the page hydrated (a rebuild of the shared checkout during the run breaks that: say so).
      await page.waitForFunction(() => "__remixRouter" in window, undefined, { timeout: 15_000 }).catch(() => {
        throw new Error("the request page did not hydrate: was the build replaced while the test ran?");
      });
      // No worker for now: the request must be seen processing, then followed to its end by the page alone.
      await worker.close(5000);

      // Walk the whole page with Tab: every focusable control is reached, in document order, each with a visible ring.
      const expected = await page.evaluate(() => {
        const all = [...document.querySelectorAll<HTMLElement>("a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]")];
        return all.filter((el) => !(el as HTMLButtonElement).disabled && el.tabIndex >= 0 && el.getClientRects().length > 0).length;
      });
      expect(expected).toBeGreaterThan(10);
      await page.locator("body").focus();
      const seen: { order: number; ring: boolean; what: string }[] = [];
      for (let i = 0; i < expected + 5; i++) {
        await page.keyboard.press("Tab");
        const step = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el || el === document.body) return null;
          const all = [...document.querySelectorAll("*")];
          const style = getComputedStyle(el);
          const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
          return { order: all.indexOf(el), ring, what: `${el.tagName} ${(el.textContent ?? "").trim().slice(0, 40)} ${el.id}` };
        });
        if (!step) break;
        if (seen.length > 0 && step.order <= seen[seen.length - 1]!.order) break; // wrapped to the top (browser chrome)
        seen.push(step);
      }
      expect(seen.length, seen.map((x) => x.what).join("\n")).toBe(expected);
      expect(seen.filter((x) => !x.ring).map((x) => x.what)).toEqual([]);

      // Operate the task's form: Tab to the first count, type, Tab on through the counts and the notes, Enter sends.
      await page.locator("body").focus();
      await tabTo(page, (el) => el.tag === "INPUT" && el.label === "Rows deleted", "the task's first count", 120);
      await page.keyboard.type("1");
      await page.keyboard.press("Tab");
      expect((await focused(page)).label).toBe("Rows masked (kept with personal data removed)");
      await page.keyboard.type("0");
      await page.keyboard.press("Tab");
      expect((await focused(page)).label).toBe("Rows kept (a legal basis requires them)");
      await page.keyboard.type("0");
      await page.keyboard.press("Tab");
      expect((await focused(page)).label).toBe("Notes (optional)");
      await page.keyboard.type("Shredded the folder from cabinet B.");
      await page.keyboard.press("Tab");
      expect(await focused(page)).toMatchObject({ tag: "BUTTON", text: "Mark the task in Paper archive as done" });
      await page.keyboard.press("Enter");
      await page.getByText("Task recorded as done.").waitFor();
      expect(await page.getByTestId("status").textContent()).toBe("processing");
      await page.getByText("this page updates by itself every few seconds").waitFor();
      // The worker comes back and finishes the request; the page, left alone, follows it there.
      worker = await startWorker({ schedules: false, concurrency: 2 });
      await eventually(async () => (await db.select({ s: requests.status }).from(requests).where(eq(requests.id, target.id)))[0]!.s === "completed", 60_000, 200);
      await expect.poll(() => page.getByTestId("status").textContent(), { timeout: 15_000 }).toBe("completed");
      expect(await page.getByText("Manual task (paper-archive, erasure): Shredded the folder from cabinet B.").count()).toBe(1);
      expect(await page.getByTestId("run-Paper archive").textContent()).toContain("1 deleted, 0 masked, 0 kept");
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      await db.update(stores).set({ disabledAt: new Date() }).where(eq(stores.id, store.id));
    }
  });
});
