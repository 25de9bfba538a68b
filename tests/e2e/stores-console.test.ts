/**
 * The stores console's map editor in Chromium, keyboard only: an admin (signed in, fresh step-up) reaches the map with
 * Tab, types an unknown key, saves with Enter, sees the error listed with its line (the line number marked beside the
 * text, the textarea invalid), follows the error's link to that line with Enter, deletes it and saves again.
 */
import { mkdirSync } from "node:fs";
import type { BrowserContext, Page } from "playwright-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { applyStoreMap } from "#app/models/stores.server.ts";
import { getDb } from "#db/client.server.ts";
import { stores } from "#db/schema/index.ts";
import { browserForTests } from "#tests/helpers/browser.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addStaff, sessionCookie } from "../integration/console-fixtures.ts";

const MAP = `version: 1
name: returns-desk
title: Returns desk
kind: manual
connection:
  instructions: Look the customer up in the returns binder and report what you find.
metadata:
  purposes: [Returns]
  retention: 2 years
  source: You
`;

const web = webAppForTests();
const { browser } = browserForTests("stores-console");
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  const db = getDb();
  await applyStoreMap(db, MAP);
  const admin = await addStaff(db, "admin");
  const cookie = await sessionCookie(db, admin.id, { stepUp: true });
  context = await browser.newContext();
  await context.addCookies([{ name: "portal_staff", value: cookie.split("=")[1]!, url: web.url }]);
  page = await context.newPage();
}, 90_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state === "fail" && page && !page.isClosed()) {
    mkdirSync(".cache", { recursive: true });
    await page.screenshot({ path: ".cache/e2e-stores-console-failure.png", fullPage: true }).catch(() => {});
  }
});

const activeId = () => page.evaluate(() => document.activeElement?.id ?? "");
const activeText = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.innerText ?? "");

/** Presses Tab until `done` says the focus is where it should be (at most `max` presses). */
async function tabUntil(done: () => Promise<boolean>, max = 60) {
  for (let i = 0; i < max; i++) {
    if (await done()) return;
    await page.keyboard.press("Tab");
  }
  throw new Error("the element was not reached with Tab");
}

describe("the data-map editor", () => {
  it("shows a typed mistake's line, goes to it from the error list and saves the fix — keyboard only", async () => {
    await page.goto(`${web.url}/admin/stores/returns-desk`);
    await page.getByRole("heading", { name: "Store returns-desk" }).waitFor();
    await page.locator(".map-editor[data-ready]").waitFor(); // hydrated
    const lines = (await page.locator("#map-text").inputValue()).split("\n").length;
    await expect(page.locator(".map-gutter span").count()).resolves.toBe(lines);

    await tabUntil(async () => (await activeId()) === "map-text");
    await page.keyboard.press("Control+End");
    await page.keyboard.type("colour: blue");
    await page.keyboard.press("Enter");
    // The numbers beside the text follow the typing.
    await page.waitForFunction((n) => document.querySelectorAll(".map-gutter span").length === n, lines + 1);

    await tabUntil(async () => (await activeText()) === "Save map");
    await page.keyboard.press("Enter");
    const alert = page.locator("#map-errors[role=alert]");
    await alert.waitFor();
    const errorLine = lines; // the typed line (the text ended with a newline)
    await expect(alert.innerText()).resolves.toContain(`Line ${errorLine}, column 1: colour — unknown key "colour"`);
    await expect(page.locator("#map-text").getAttribute("aria-invalid")).resolves.toBe("true");
    await expect(page.locator("#map-text").getAttribute("aria-describedby")).resolves.toContain("map-errors");
    await expect(page.locator(".map-gutter-error").innerText().then((t) => t.trim())).resolves.toBe(String(errorLine));
    expect((await getDb().select().from(stores))[0]!.mapVersion).toBe(1);

    // The error's link, reached with the keyboard, puts the caret on that line.
    await page.locator("body").focus();
    await tabUntil(async () => (await activeText()).startsWith(`Line ${errorLine}`));
    await page.keyboard.press("Enter");
    expect(await activeId()).toBe("map-text");
    const selected = await page.evaluate(() => {
      const t = document.activeElement as HTMLTextAreaElement;
      return t.value.slice(t.selectionStart, t.selectionEnd);
    });
    expect(selected).toBe("colour: blue");
    await page.keyboard.press("Delete");

    await tabUntil(async () => (await activeText()) === "Save map");
    await page.keyboard.press("Enter");
    await page.getByRole("status").filter({ hasText: "Nothing changed." }).waitFor();
    await expect(page.locator("#map-errors[role=alert]").count()).resolves.toBe(0);
    expect((await getDb().select().from(stores))[0]!.mapVersion).toBe(1);
  });
});
