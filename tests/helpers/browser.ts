/** Headless Debian Chromium driven by playwright-core (no downloaded browser). */
import { existsSync, mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterEach } from "vitest";
import { currentTotpCode } from "#app/models/mfa.server.ts";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run \`bash scripts/services.sh --chromium\` (npm test does).`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/**
 * The pages a browser test file opens (push each one): when a test fails, every page still open is saved as
 * `.cache/e2e-<name>-failure-<i>.png`, so a failing run shows where it stood; the list is emptied after each test.
 */
export function screenshotsOnFailure(name: string): Page[] {
  const pages: Page[] = [];
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") {
      mkdirSync(".cache", { recursive: true });
      for (const [i, p] of pages.entries()) if (!p.isClosed()) await p.screenshot({ path: `.cache/e2e-${name}-failure-${i}.png`, fullPage: true }).catch(() => {});
    }
    pages.length = 0;
  });
  return pages;
}

/**
 * Signs a staff member in on a page showing the sign-in form: the password, then a TOTP code from `nextCode` (which
 * must not repeat a code already used: the portal accepts each code once — see `freshTotpCode`).
 */
export async function signInStaff(page: Page, staff: { email: string; password: string }, nextCode: () => Promise<string>) {
  await page.getByRole("heading", { name: "Staff sign-in" }).waitFor();
  await page.getByLabel("Email").fill(staff.email);
  await page.getByLabel("Password").fill(staff.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
  await page.getByLabel("Authentication code").fill(await nextCode());
  await page.getByRole("button", { name: "Verify" }).click();
}

/** Codes for one TOTP secret, each from a 30-second step not used before (waits for the next step if needed). */
export function freshTotpCode(secret: () => string): () => Promise<string> {
  let lastStep = -1;
  return async () => {
    for (;;) {
      const step = Math.floor(Date.now() / 30_000);
      if (step !== lastStep) {
        lastStep = step;
        return currentTotpCode(secret());
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
}
