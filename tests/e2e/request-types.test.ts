/**
 * Every request type, as a customer does it in Chromium: choose it on the start page, fill its form, verify by the
 * emailed code where the law asks for it, and follow it on the private status page from the acknowledgement
 * email; cancel from there. Opt-outs need no verification and honour Global Privacy Control.
 */
import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserForTests } from "#tests/helpers/browser.ts";
import { acknowledgementMailFor, codeFromMail, mailsTo, statusLinkFromMail, uniqueEmail, verificationMailFor } from "#tests/helpers/flow.ts";
import { portalForTests } from "#tests/helpers/portal-processes.ts";

const portal = portalForTests("request-types");
const { browser } = browserForTests("request-types");

type Case = {
  label: string;
  region: string;
  fill?: (page: Page) => Promise<void>;
  verify: boolean;
};

const cases: Case[] = [
  { label: "Access my data", region: "US-CA", verify: true },
  {
    label: "Access my data",
    region: "US-CA",
    verify: true,
    fill: async (page) => {
      await page.getByLabel(/A copy of the specific pieces/).check();
      await page.getByLabel("Type your full name to sign").fill("Casey Consumer");
      await page.getByLabel("I sign this declaration.").check();
    },
  },
  { label: "Export my data", region: "EU", verify: true },
  { label: "Delete my data", region: "UK", verify: true },
  {
    label: "Correct my data",
    region: "EU",
    verify: true,
    fill: async (page) => {
      await page.getByLabel("What is wrong").fill("My surname is misspelled as Smiht.");
      await page.getByLabel("What it should say").fill("Smith");
    },
  },
  { label: "Object to processing", region: "EU", verify: true, fill: async (page) => page.getByLabel("Your reason").fill("Please stop profiling me for marketing.") },
  { label: "Restrict processing", region: "UK", verify: true, fill: async (page) => page.getByLabel("Your reason").fill("My address is disputed; keep it but do not use it.") },
  { label: "Do not sell or share my data", region: "US-CA", verify: false },
  { label: "Limit use of my sensitive data", region: "US-CA", verify: false },
];

async function submit(context: BrowserContext, c: Case, email: string) {
  const page = await context.newPage();
  await page.goto(`${portal.baseUrl}/`);
  await page.getByRole("link", { name: c.label }).click();
  await page.getByRole("heading", { name: c.label, level: 1 }).waitFor();
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Where do you live?").selectOption(c.region);
  await page.getByRole("button", { name: "Help us confirm it is you (optional)" }).or(page.getByText("Help us confirm it is you (optional)")).first().click();
  await page.getByLabel("Postal code").fill("94105");
  await c.fill?.(page);
  await page.getByRole("button", { name: "Send request" }).click();
  return page;
}

describe("every request type in Chromium", () => {
  for (const [i, c] of cases.entries()) {
    it(`${c.label} (${c.region}${i === 1 ? ", specific pieces" : ""}): submit${c.verify ? ", verify" : ""}, follow on the status page`, async () => {
      const context = await browser.newContext();
      const email = uniqueEmail(`type${i}`);
      const page = await submit(context, c, email);
      if (c.verify) {
        await page.getByRole("heading", { name: "Check your inbox" }).waitFor();
        const code = codeFromMail(await verificationMailFor(email));
        await page.getByLabel("Verification code").fill(code);
        await page.getByRole("button", { name: "Verify my request" }).click();
        await page.getByRole("heading", { name: /your request is confirmed/ }).waitFor();
      } else {
        await page.getByRole("heading", { name: /your request is recorded/ }).waitFor();
      }
      const reference = (await page.locator("dt:has-text('Reference') + dd").textContent()) ?? "";
      await acknowledgementMailFor(email, reference);
      // Every email issues a fresh status link and only the newest works: an opt-out is approved and carried out at
      // once, so its completion email may already have replaced the acknowledgement's link. Follow the newest.
      const status = await context.newPage();
      const openNewest = async () => {
        const links = mailsTo(email).filter((m) => m.text.includes("/status/")).map(statusLinkFromMail);
        return (await status.goto(links.at(-1)!))?.status();
      };
      await expect.poll(openNewest, { timeout: 15_000 }).toBe(200);
      await status.getByRole("heading", { name: `Your request ${reference}` }).waitFor();
      expect(await status.locator("dt:has-text('Request') + dd").textContent()).toBe(c.label);
      expect(await status.getByText("We received your request.").count()).toBe(1);
      // The worker records the acknowledgement just after the mail leaves; the page may be a moment early.
      await expect
        .poll(async () => {
          const n = await status.getByText("We sent you an acknowledgement.").count();
          if (n === 0) await openNewest();
          return n;
        }, { timeout: 10_000 })
        .toBe(1);
      await context.close();
    });
  }

  it("honours Global Privacy Control on the opt-out form", async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { "Sec-GPC": "1" } });
    const page = await context.newPage();
    await page.goto(`${portal.baseUrl}/request/opt-out`);
    await page.getByText("Your browser sent a Global Privacy Control signal").waitFor();
    await page.getByLabel("Email address").fill(uniqueEmail("gpc"));
    await page.getByLabel("Where do you live?").selectOption("US-CA");
    await page.getByRole("button", { name: "Send request" }).click();
    await page.getByText("We also honoured the Global Privacy Control signal").waitFor();
    const gpc = await page.request.get(`${portal.baseUrl}/.well-known/gpc.json`);
    expect(await gpc.json()).toMatchObject({ gpc: true });
    await context.close();
  });

  it("lets the requester cancel from the status page, and a wrong token reveals nothing", async () => {
    const context = await browser.newContext();
    const email = uniqueEmail("cancel");
    const page = await submit(context, cases[3]!, email);
    const code = codeFromMail(await verificationMailFor(email));
    await page.getByLabel("Verification code").fill(code);
    await page.getByRole("button", { name: "Verify my request" }).click();
    const reference = (await page.locator("dt:has-text('Reference') + dd").textContent()) ?? "";
    const link = statusLinkFromMail(await acknowledgementMailFor(email, reference));
    await page.goto(link);
    await page.getByRole("button", { name: "Cancel request" }).click();
    await page.getByText("Please tick the box").waitFor();
    await page.getByLabel("Yes, cancel my request.").check();
    await page.getByRole("button", { name: "Cancel request" }).click();
    await expect.poll(() => page.getByTestId("status").textContent()).toBe("Cancelled by you");
    expect(await page.getByText("You cancelled your request.").count()).toBe(1);
    expect(await page.getByRole("button", { name: "Cancel request" }).count()).toBe(0);

    const wrong = await page.goto(link.replace(/.$/, (ch) => (ch === "A" ? "B" : "A")));
    expect(wrong?.status()).toBe(404);
    expect(await page.content()).not.toContain(reference);
    // The same answer for every dead link, with the likely reason a requester meets one.
    expect(await page.getByText("please use the link in our most recent email").count()).toBe(1);
    await context.close();
  });
});
