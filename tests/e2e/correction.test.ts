/**
 * The correction confirmation page in Chromium with the real web app: a processor signs in with a TOTP code (a fresh
 * step-up for ten minutes — HTTP tests cover the redirect without one), sees what the requester wrote, and confirms
 * values with the keyboard alone (Tab to the fields, Enter to submit); a bad email is announced at its field and nothing is stored.
 * Without JavaScript the form still works. No page errors (hydration included).
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getConfirmedCorrection } from "#app/models/corrections.server.ts";
import { insertRequest } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";
import { requests } from "#db/schema/index.ts";
import { browserForTests, signInStaff, staffWithTotpForTests } from "#tests/helpers/browser.ts";
import { webAppForTests } from "#tests/helpers/web.ts";

const STAFF = { email: "correction.processor@demo-shop.example", password: "correction e2e passphrase 9", name: "Cory Processor" };
const web = webAppForTests();
const { openPage } = browserForTests("correction");
const { nextCode } = staffWithTotpForTests(STAFF, "processor");

async function correctionRequest() {
  const row = await insertRequest(getDb(), {
    type: "correction",
    email: `fix-${Date.now()}@example.com`,
    region: "EU",
    receivedAt: new Date(),
    details: { corrections: { incorrect: "Surname spelt Lovelase", correct: "Lovelace" } },
  });
  await getDb().update(requests).set({ status: "in_review", verifiedAt: new Date(), verificationLevel: 1 }).where(eq(requests.id, row.id));
  return row;
}

async function openAsProcessor(path: string, javaScriptEnabled = true) {
  const { page, errors } = await openPage({ javaScriptEnabled });
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(`${web.url}${path}`);
  await signInStaff(page, STAFF, nextCode);
  // The sign-in's code is itself a fresh step-up (10 minutes): the page opens at once.
  await page.getByRole("heading", { name: /^Correction PR-/ }).waitFor();
  await page.waitForLoadState("networkidle");
  return { page, errors };
}

describe("correction confirmation page", () => {
  it("is reached behind a step-up and confirmed with the keyboard alone; a bad email is announced at its field", async () => {
    const r = await correctionRequest();
    const { page, errors } = await openAsProcessor(`/admin/requests/${r.reference}/correction`);
    expect(await page.textContent("body")).toContain("Surname spelt Lovelase");

    // Keyboard: focus the first field, then Tab through the form in order.
    await page.getByLabel("Full name").focus();
    await page.keyboard.type("Ada Lovelace");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("correction-given_name");
    await page.keyboard.press("Tab");
    await page.keyboard.type("Lovelace");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("correction-email");
    await page.keyboard.type("not-an-email");
    await page.keyboard.press("Enter");
    const emailError = page.locator("#correction-email-error");
    await expect.poll(async () => emailError.textContent()).toContain("Enter an email address like name@example.com.");
    expect(await page.getByLabel("Email address").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Email address").getAttribute("aria-describedby")).toContain("correction-email-error");
    expect(await getConfirmedCorrection(getDb(), r.id)).toBeUndefined();

    await page.getByLabel("Email address").fill("");
    await page.getByLabel("Email address").press("Enter");
    await page.getByRole("status").filter({ hasText: "Values confirmed" }).waitFor();
    expect(await getConfirmedCorrection(getDb(), r.id)).toMatchObject({ values: { name: "Ada Lovelace", family_name: "Lovelace" }, attributes: ["name", "family_name"] });
    expect(errors, errors.join("\n")).toEqual([]);
  }, 120_000);

  it("works without JavaScript", async () => {
    const r = await correctionRequest();
    const { page } = await openAsProcessor(`/admin/requests/${r.reference}/correction`, false);
    await page.getByLabel("Phone number").fill("+44 20 7946 0000");
    await page.getByRole("button", { name: "Confirm these values" }).click();
    await page.getByRole("status").filter({ hasText: "Values confirmed" }).waitFor();
    expect(await getConfirmedCorrection(getDb(), r.id)).toMatchObject({ values: { phone: "+44 20 7946 0000" } });
  }, 120_000);
});
