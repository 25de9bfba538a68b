/**
 * An authorized agent end to end in Debian's Chromium, with the real web and worker processes, PostgreSQL, Redis and
 * SMTP: the agent uploads a real PNG (made here) as the consumer's signed permission, the consumer confirms through
 * the link in the email, and the status link from the acknowledgement shows the request. Then every log line both
 * processes wrote is searched for the people's addresses and the link's secret.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { getDb } from "#db/client.server.ts";
import { getRequestByReference } from "#app/models/requests.server.ts";
import { browserForTests, scriptErrors } from "#tests/helpers/browser.ts";
import { makePdf, makePng } from "#tests/helpers/documents.ts";
import { uniqueEmail } from "#tests/helpers/flow.ts";
import { portalForTests } from "#tests/helpers/portal-processes.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

const portal = portalForTests("agent", { RECONCILE_EVERY_MS: "60000" });
const { browser, pages } = browserForTests("agent");
const secrets: string[] = [];

const linkIn = (text: string, pattern: RegExp) => {
  const m = pattern.exec(text);
  if (!m) throw new Error(`no link matching ${pattern} in the email`);
  return m[0];
};

async function fillAgentForm(page: Page, agentEmail: string, consumerEmail: string) {
  await page.getByLabel("Your name").fill("Pat Agent");
  await page.getByLabel("Your organisation (optional)").fill("Privacy Helpers LLC");
  await page.getByLabel("Your email address").fill(agentEmail);
  await page.getByLabel("The consumer's email address").fill(consumerEmail);
  await page.getByLabel("Where does the consumer live?").selectOption("US-CA");
  await page.getByLabel("What does the consumer ask for?").selectOption("deletion");
}

/** The consumer's side: confirmation email → confirm → acknowledgement → status page. */
async function consumerConfirms(consumerEmail: string, reference: string) {
  const mail = await testMailbox().waitFor((m) => m.to.includes(consumerEmail) && m.subject.includes(reference) && m.text.includes("/confirm-agent/"), 20_000);
  const link = linkIn(mail.text, new RegExp(`${portal.baseUrl.replace(/[.]/g, "\\.")}/requests/${reference}/confirm-agent/[A-Za-z0-9_-]{43}`));
  secrets.push(link.split("/").pop()!);
  expect(mail.text).toContain("Pat Agent (Privacy Helpers LLC)");

  // The consumer opens the link in their own browser; opening it changes nothing until they press the button.
  const context = await browser.newContext();
  const page = await context.newPage();
  pages.push(page);
  await page.goto(link);
  await page.getByRole("heading", { name: "Did you ask someone to make this request for you?" }).waitFor();
  expect(await page.locator("dt:has-text('Made for you by') + dd").textContent()).toBe("Pat Agent (Privacy Helpers LLC)");
  expect((await getRequestByReference(getDb(), reference))?.status).toBe("pending_verification");
  await page.getByRole("button", { name: /Yes, I gave permission/ }).click();
  await page.getByRole("heading", { name: /your request is confirmed/ }).waitFor();
  expect(await page.locator("dt:has-text('Reference') + dd").textContent()).toBe(reference);

  // The acknowledgement reaches the consumer; its private link shows the request and its timeline.
  const ack = await testMailbox().waitFor((m) => m.to.includes(consumerEmail) && m.subject === `We received your request ${reference}`, 20_000);
  const statusLink = linkIn(ack.text, new RegExp(`${portal.baseUrl.replace(/[.]/g, "\\.")}/status/[A-Za-z0-9_-]{43}`));
  secrets.push(statusLink.split("/").pop()!);
  await page.goto(statusLink);
  await page.getByRole("heading", { name: `Your request ${reference}` }).waitFor();
  expect(await page.getByTestId("status").textContent()).toBe("Received — waiting for our privacy team");
  await page.getByText("You confirmed that your authorized agent may act for you.").waitFor();

  // The link was single use.
  await page.goto(link);
  await page.getByRole("heading", { name: "This link does not work" }).waitFor();
  await context.close();
}

describe("authorized agent in Chromium", () => {
  it("agent uploads a PNG permission, the consumer confirms by email, the status page shows the request", async () => {
    const page = await browser.newPage();
    pages.push(page);
    const errors = scriptErrors(page);
    const agentEmail = uniqueEmail("e2e-agent");
    const consumerEmail = uniqueEmail("e2e-consumer");
    secrets.push(agentEmail, consumerEmail);

    await page.goto(`${portal.baseUrl}/request/agent`);
    await page.getByRole("heading", { name: "Make a request as an authorized agent" }).waitFor();
    // Client-side validation first: no file chosen.
    await fillAgentForm(page, agentEmail, consumerEmail);
    await page.getByRole("button", { name: "Send request" }).click();
    await page.getByText("Please attach the consumer's signed permission").waitFor();
    const fileInput = page.getByLabel("The consumer's signed permission");
    expect(await fileInput.getAttribute("aria-invalid")).toBe("true");

    // A text file dressed up as a PDF: the server looks at the bytes and says so next to the field.
    await fileInput.setInputFiles({ name: "permission.pdf", mimeType: "application/pdf", buffer: Buffer.from("just text, not a PDF") });
    await page.getByRole("button", { name: "Send request" }).click();
    await page.getByText("The file must be a PDF, PNG or JPEG.").waitFor();

    // The real thing: a PNG made here.
    await fileInput.setInputFiles({ name: "signed-permission.png", mimeType: "image/png", buffer: makePng(32, 32) });
    await page.getByRole("button", { name: "Send request" }).click();
    await page.getByRole("heading", { name: "We asked the consumer to confirm" }).waitFor();
    const reference = (await page.locator("strong", { hasText: /^PR-/ }).textContent()) ?? "";
    expect(reference).toMatch(/^PR-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    const row = await getRequestByReference(getDb(), reference);
    expect(row).toMatchObject({ submittedBy: "agent", status: "pending_verification" });
    expect(errors).toEqual([]);
    await page.close();

    await consumerConfirms(consumerEmail, reference);
    expect(testMailbox().messages.filter((m) => m.to.includes(agentEmail))).toHaveLength(0);
  });

  it("works without JavaScript (multipart form post) with a PDF", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    pages.push(page);
    const agentEmail = uniqueEmail("e2e-agent-nojs");
    const consumerEmail = uniqueEmail("e2e-consumer-nojs");
    secrets.push(agentEmail, consumerEmail);
    await page.goto(`${portal.baseUrl}/request/agent`);
    await fillAgentForm(page, agentEmail, consumerEmail);
    await page.getByLabel("The consumer's signed permission").setInputFiles({ name: "permission.pdf", mimeType: "application/pdf", buffer: makePdf("I authorize Pat Agent.") });
    await page.getByRole("button", { name: "Send request" }).click();
    await page.getByRole("heading", { name: "We asked the consumer to confirm" }).waitFor();
    const reference = (await page.locator("strong", { hasText: /^PR-/ }).textContent()) ?? "";
    await context.close();
    await consumerConfirms(consumerEmail, reference);
  });

  it("wrote no personal data or link secret to any log line of the web or worker process", async () => {
    const lines = portal.logs();
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThan(5);
    expect(lines.some((l) => l.includes('"job":"send-agent-confirmation"'))).toBe(true);
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    for (const secret of [...secrets, "Pat Agent", "Privacy Helpers"]) {
      expect(lines.filter((l) => l.toLowerCase().includes(secret.toLowerCase())), `log lines containing a secret`).toEqual([]);
    }
    expect(lines.filter((l) => /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}/.test(l))).toEqual([]);
  });
});
