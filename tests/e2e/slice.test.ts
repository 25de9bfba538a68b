/**
 * The foundation slice end to end, as a customer and a staff member would do it: real web and worker processes,
 * real PostgreSQL, Redis and SMTP, Debian's Chromium. Then every log line both processes wrote is searched for the
 * customer's email address and code.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { currentTotpCode } from "#app/models/mfa.server.ts";
import { browserForTests, scriptErrors, staffWithTotpForTests } from "#tests/helpers/browser.ts";
import { acknowledgementMailFor, codeFromMail, linkFromMail, uniqueEmail, verificationMailFor } from "#tests/helpers/flow.ts";
import { portalForTests } from "#tests/helpers/portal-processes.ts";

const STAFF = { email: "e2e.officer@demo-shop.example", password: "e2e staff password 42", name: "Erin Officer" };
const portal = portalForTests("slice", { RECONCILE_EVERY_MS: "60000" });
const { totpSecret } = staffWithTotpForTests(STAFF, "admin"); // MFA is mandatory; the test computes the codes
const { browser, pages } = browserForTests("slice");
const secrets: string[] = [];

async function submitAccessRequest(page: Page, email: string) {
  await page.goto(`${portal.baseUrl}/`);
  await page.getByRole("link", { name: "Access my data" }).click();
  await page.getByRole("heading", { name: "Access my data" }).waitFor();
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Where do you live?").selectOption("EU");
  await page.getByRole("button", { name: "Send request" }).click();
  await page.getByRole("heading", { name: "Check your inbox" }).waitFor();
  const reference = (await page.locator("strong", { hasText: /^PR-/ }).textContent()) ?? "";
  expect(reference).toMatch(/^PR-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  return reference;
}

describe("foundation slice in Chromium", () => {
  it("customer asks for access, verifies with the emailed code, gets an acknowledgement; staff see it", async () => {
    const page = await browser.newPage();
    pages.push(page);
    const errors = scriptErrors(page); // a 400 answer to a wrong code is logged by Chromium as a failed resource, by design
    const email = uniqueEmail("e2e");
    secrets.push(email);

    // Client-side validation speaks first, tied to the field.
    await page.goto(`${portal.baseUrl}/request/access`);
    await page.getByLabel("Email address").fill("not-an-email");
    await page.getByRole("button", { name: "Send request" }).click();
    await expect.poll(() => page.getByText("Please enter a valid email address").count()).toBe(1);
    expect(await page.getByLabel("Email address").getAttribute("aria-invalid")).toBe("true");

    const reference = await submitAccessRequest(page, email);
    const mail = await verificationMailFor(email);
    const code = codeFromMail(mail);
    secrets.push(code);

    await page.getByLabel("Verification code").fill(code === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Verify my request" }).click();
    await page.getByText("That code is not right").waitFor();

    await page.getByLabel("Verification code").fill(code);
    await page.getByRole("button", { name: "Verify my request" }).click();
    await page.getByRole("heading", { name: /your request is confirmed/ }).waitFor();
    const due = (await page.locator("dt:has-text('We will respond by') + dd").textContent()) ?? "";
    expect(due).toMatch(/^\d{1,2} [A-Z][a-z]+ \d{4}$/);

    const ack = await acknowledgementMailFor(email, reference);
    expect(ack.text).toContain(reference);
    expect(ack.text).toContain(due);

    // Staff: /admin sends to the login page, then lists the request with its status and due date.
    await page.goto(`${portal.baseUrl}/admin`);
    await page.getByRole("heading", { name: "Staff sign-in" }).waitFor();
    await page.getByLabel("Email").fill(STAFF.email);
    await page.getByLabel("Password").fill(STAFF.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
    await page.getByLabel("Authentication code").fill(currentTotpCode(totpSecret()));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Requests" }).waitFor();
    const row = page.locator(`tr[data-reference="${reference}"]`);
    await expect.poll(() => row.textContent()).toContain("verified");
    expect(await row.textContent()).toContain(due);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("verifies through the one-click link from the email, without JavaScript", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    pages.push(page);
    const email = uniqueEmail("e2e-link");
    secrets.push(email);
    const reference = await submitAccessRequest(page, email);
    const mail = await verificationMailFor(email);
    secrets.push(codeFromMail(mail));
    const link = linkFromMail(mail);
    expect(link.startsWith(`${portal.baseUrl}/requests/${reference}/verify/`)).toBe(true);

    // Opening the link changes nothing by itself (mail scanners prefetch links); the requester confirms.
    await page.goto(link);
    expect(await page.getByLabel("Verification code").inputValue()).toBe(codeFromMail(mail));
    await page.getByRole("button", { name: "Verify my request" }).click();
    await page.getByRole("heading", { name: /your request is confirmed/ }).waitFor();
    await acknowledgementMailFor(email, reference);
    await context.close();
  });

  it("wrote no personal data to any log line of the web or worker process", async () => {
    const lines = portal.logs();
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThan(5); // the logs were captured
    expect(lines.some((l) => l.includes('"msg":"job done"'))).toBe(true);
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) {
      const hits = lines.filter((l) => l.toLowerCase().includes(secret.toLowerCase()));
      expect(hits, `log lines containing a secret`).toEqual([]);
    }
    // Nor any email address at all, or a verification path with its code.
    expect(lines.filter((l) => /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}/.test(l))).toEqual([]);
    expect(lines.filter((l) => /\/verify\/\d{6}/.test(l))).toEqual([]);
  });
});
