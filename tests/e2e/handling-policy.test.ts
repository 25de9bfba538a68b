/**
 * The data-handling policy in Chromium with the keyboard alone: an admin writes and publishes the first version; a
 * processor who has not acknowledged it sees the banner on a request page, follows its link, acknowledges, comes
 * back and approves. Without JavaScript: an unacknowledged processor's approval is refused, the policy page says so,
 * acknowledging returns to the request, and the approval then goes through. And the staff page's invitation by
 * email, with the keyboard: the link arrives at the test's SMTP listener and is never on the page.
 */
import { eq } from "drizzle-orm";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { getDb } from "#db/client.server.ts";
import { requests } from "#db/schema/index.ts";
import { startWorker } from "#jobs/worker.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";
import { browserForTests } from "#tests/helpers/browser.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addRequest, addStaff, sessionCookie } from "../integration/console-fixtures.ts";

const web = webAppForTests();
const { openPage } = browserForTests("policy");

/** A browser page signed in as `staffId` (a session cookie made in the database, MFA shown). */
async function pageFor(staffId: string, { stepUp = false, javaScriptEnabled = true } = {}) {
  const { page, errors, context } = await openPage({ javaScriptEnabled });
  const [name, value] = (await sessionCookie(getDb(), staffId, { stepUp })).split("=") as [string, string];
  await context.addCookies([{ name, value, url: web.url }]);
  return { page, errors };
}

type Focused = { tag: string; text: string; label: string };

function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const el = document.activeElement as (HTMLElement & { labels?: NodeListOf<HTMLLabelElement> }) | null;
    return { tag: el?.tagName ?? "", text: (el?.textContent ?? "").trim(), label: (el?.labels?.[0]?.textContent ?? "").trim() };
  });
}

/** Presses Tab until the focused element satisfies `test`; fails if it is never reached. */
async function tabTo(page: Page, test: (el: Focused) => boolean, what: string, max = 80) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (test(await focused(page))) return;
  }
  throw new Error(`${what} is not reachable with Tab`);
}

const statusOf = async (id: string) => (await getDb().select({ s: requests.status }).from(requests).where(eq(requests.id, id)))[0]!.s;

describe("the data-handling policy in Chromium", () => {
  it("publish, banner, acknowledge and act — with the keyboard alone", { timeout: 120_000 }, async () => {
    const db = getDb();
    const admin = await addStaff(db, "admin");
    const processor = await addStaff(db, "processor");
    const r = await addRequest(db);

    const { page: adminPage, errors: adminErrors } = await pageFor(admin.id, { stepUp: true });
    await adminPage.goto(`${web.url}/admin/handling-policy`);
    await adminPage.getByRole("heading", { name: "No policy yet" }).waitFor();
    await tabTo(adminPage, (f) => f.tag === "TEXTAREA" && f.label === "Policy text (Markdown)", "the policy text area");
    await adminPage.keyboard.type("# Our rules\n\nNever copy personal data out of the portal.");
    await tabTo(adminPage, (f) => f.tag === "BUTTON" && f.text === "Preview", "Preview");
    await adminPage.keyboard.press("Enter");
    await adminPage.getByRole("heading", { name: "Preview (not published)" }).waitFor();
    await tabTo(adminPage, (f) => f.tag === "BUTTON" && f.text === "Publish new version", "Publish");
    await adminPage.keyboard.press("Enter");
    await adminPage.getByText("Version 1 is published.").waitFor();
    expect(await adminPage.getByTestId("policy-text").innerHTML()).toContain("<h2>Our rules</h2>");
    expect(adminErrors).toEqual([]);

    const { page, errors } = await pageFor(processor.id);
    // The queue says so first, then every request page.
    await page.goto(`${web.url}/admin`);
    await page.getByTestId("policy-banner").waitFor();
    await page.goto(`${web.url}/admin/requests/${r.reference}`);
    await page.getByTestId("policy-banner").waitFor();
    expect(await page.getByTestId("policy-banner").textContent()).toContain("(version 1)");
    await tabTo(page, (f) => f.tag === "A" && f.text === "read and acknowledge the policy", "the banner's link");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Version 1 (current)" }).waitFor();
    expect(await page.getByTestId("policy-text").textContent()).toContain("Never copy personal data out of the portal.");
    await tabTo(page, (f) => f.tag === "BUTTON" && f.text === "I have read version 1 and will follow it", "the acknowledge button");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${web.url}/admin/requests/${r.reference}`);
    await page.getByRole("button", { name: "Approve request" }).waitFor();
    expect(await page.getByTestId("policy-banner").count()).toBe(0);
    await tabTo(page, (f) => f.tag === "BUTTON" && f.text === "Approve request", "Approve");
    await page.keyboard.press("Enter");
    await expect.poll(() => statusOf(r.id), { timeout: 10_000 }).toBe("approved");
    expect(errors).toEqual([]);
  });

  it("without JavaScript: the refused approval lands on the policy page, acknowledging returns, then it goes through", { timeout: 120_000 }, async () => {
    const db = getDb();
    const processor = await addStaff(db, "processor", "nojs");
    const r = await addRequest(db);
    const { page } = await pageFor(processor.id, { javaScriptEnabled: false });
    await page.goto(`${web.url}/admin/requests/${r.reference}`);
    await page.getByRole("button", { name: "Approve request" }).click();
    await page.getByText("Your change was not made: acknowledge the current data-handling policy first").waitFor();
    expect(await statusOf(r.id)).toBe("verified");
    await page.getByRole("button", { name: /^I have read version \d+ and will follow it$/ }).click();
    await page.waitForURL(`${web.url}/admin/requests/${r.reference}`);
    expect(await page.getByTestId("policy-banner").count()).toBe(0);
    await page.getByRole("button", { name: "Approve request" }).click();
    await page.getByText("Request approved.").waitFor();
    expect(await statusOf(r.id)).toBe("approved");
  });

  it("an admin invites a staff member by email with the keyboard; the page never shows the link", { timeout: 120_000 }, async () => {
    const worker = await startWorker({ schedules: false, concurrency: 2 });
    try {
      const admin = await addStaff(getDb(), "admin", "inviter");
      const { page, errors } = await pageFor(admin.id, { stepUp: true });
      await page.goto(`${web.url}/admin/staff`);
      await page.getByRole("heading", { name: "Invite a staff member" }).waitFor();
      const email = `keyboard.invitee.${Date.now().toString(36)}@example.com`;
      await tabTo(page, (f) => f.tag === "INPUT" && f.label === "Email", "the invitation's email field");
      await page.keyboard.type(email);
      await tabTo(page, (f) => f.tag === "SELECT" && f.label === "Role", "the role");
      await page.keyboard.press("ArrowDown"); // processor → auditor
      await tabTo(page, (f) => f.tag === "BUTTON" && f.text === "Send invitation", "Send invitation");
      await page.keyboard.press("Enter");
      await page.getByTestId("invite-notice").waitFor();
      expect(await page.getByTestId("invite-notice").textContent()).toContain(`Invitation for ${email} (auditor) created: the link is on its way by email.`);
      const mail = await testMailbox().waitFor((m) => m.to.includes(email), 20_000);
      const token = /\/admin\/invite\/([A-Za-z0-9_-]{43})/.exec(mail.text)![1]!;
      expect(await page.content()).not.toContain(token);
      await page.getByRole("button", { name: `Revoke the invitation for ${email}` }).waitFor();
      expect(errors).toEqual([]);
    } finally {
      await worker.close(5000);
    }
  });
});
