/**
 * A new staff member's first sign-in in Chromium: password → MFA enrolment (QR code and manual key) → a code
 * computed from the key shown on the page → recovery codes shown once → the request list; then "your sessions".
 * Once with JavaScript and once without (every form works without it).
 */
import { describe, expect, it } from "vitest";
import { currentTotpCode } from "#app/models/mfa.server.ts";
import { createStaff } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { browserForTests } from "#tests/helpers/browser.ts";
import { webAppForTests } from "#tests/helpers/web.ts";

const PASSWORD = "first sign-in passphrase";
const web = webAppForTests();
const { openPage } = browserForTests("staff");

describe.each([true, false])("first staff sign-in (JavaScript %s)", (javaScriptEnabled) => {
  it("enrols an authenticator app, shows the recovery codes once, lands on the request list", async () => {
    const email = `first.signin.${javaScriptEnabled ? "js" : "nojs"}@demo-shop.example`;
    await createStaff(getDb(), { email, name: "Fiona First", role: "processor", password: PASSWORD });
    const { page, errors, context } = await openPage({ javaScriptEnabled });

    await page.goto(`${web.url}/admin`);
    await page.getByRole("heading", { name: "Staff sign-in" }).waitFor();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();

    await page.getByRole("heading", { name: "Set up two-step verification" }).waitFor();
    expect(await page.getByRole("img", { name: "QR code with your authenticator key" }).count()).toBe(1);
    const manualKey = (await page.getByTestId("manual-key").textContent()) ?? "";
    expect(manualKey).toMatch(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);

    // A wrong code first: the field says so.
    await page.getByLabel("Code from your app").fill("000000" === currentTotpCode(manualKey.replaceAll(" ", "")) ? "111111" : "000000");
    await page.getByRole("button", { name: "Turn on two-step verification" }).click();
    await page.getByText("That code is not right.").waitFor();
    // The same key is still shown after the failed attempt (nothing to scan again).
    expect(await page.getByTestId("manual-key").textContent()).toBe(manualKey);

    await page.getByLabel("Code from your app").fill(currentTotpCode(manualKey.replaceAll(" ", "")));
    await page.getByRole("button", { name: "Turn on two-step verification" }).click();
    await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor();
    const codes = await page.getByRole("list", { name: "Recovery codes" }).locator("li").allTextContents();
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(c).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);

    // Shown once: a reload has nothing to show.
    await page.reload();
    await page.getByRole("heading", { name: "Recovery codes", exact: true }).waitFor();
    expect(await page.getByRole("list", { name: "Recovery codes" }).count()).toBe(0);

    await page.getByRole("link", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Requests" }).waitFor();

    await page.goto(`${web.url}/admin/account`);
    await page.getByRole("heading", { name: "Your active sessions" }).waitFor();
    expect(await page.locator('tr[data-session="current"]').count()).toBe(1);
    expect(await page.locator('tr[data-session="current"]').textContent()).toContain("HeadlessChrome");
    expect(await page.getByText("10 unused recovery codes").count() + (await page.getByText("You have 10 unused").count())).toBeGreaterThan(0);
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await page.getByRole("heading", { name: "Staff sign-in" }).waitFor();
    await page.goto(`${web.url}/admin`);
    await page.getByRole("heading", { name: "Staff sign-in" }).waitFor();

    expect(errors).toEqual([]);
    await context.close();
  });
});
