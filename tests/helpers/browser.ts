/** Headless Debian Chromium driven by playwright-core (no downloaded browser). */
import { existsSync, mkdirSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll } from "vitest";
import { currentTotpCode, provisionTotp } from "#app/models/mfa.server.ts";
import { createStaff } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import type { StaffRole } from "#db/schema/index.ts";
import { setUpInBeforeAll } from "#tests/helpers/set-up.ts";

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

/**
 * The script errors `page` reports from now on: uncaught errors and console errors, but not Chromium's "Failed to load
 * resource" for an error answer (a 400 to a wrong code is logged that way, by design).
 */
export function scriptErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && errors.push(m.text()));
  return errors;
}

/**
 * Chromium for the tests of one file: launched before them, closed after them (register it after the web app, so it
 * closes first). `browser` opens contexts and pages; `openPage` opens a page in a new context, pushed onto `pages`
 * (saved as screenshots when a test fails, see `screenshotsOnFailure`), with the script errors it reports.
 */
export function browserForTests(name: string) {
  const pages = screenshotsOnFailure(name);
  const chromium = setUpInBeforeAll<Browser>("Chromium");
  beforeAll(async () => {
    chromium.set(await launchBrowser());
  }, 90_000);
  afterAll(async () => {
    await chromium.peek()?.close();
  });
  const browser = {
    newContext: (options?: BrowserContextOptions) => chromium.get().newContext(options),
    newPage: (options?: BrowserContextOptions) => chromium.get().newPage(options),
  };
  /** A page in a new context; `errors` collects its uncaught script errors as `<url>: <message>`. */
  async function openPage(options: BrowserContextOptions = {}): Promise<{ page: Page; errors: string[]; context: BrowserContext }> {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    pages.push(page);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
    return { page, errors, context };
  }
  return { browser, pages, openPage };
}

/**
 * A staff member with an authenticator app (TOTP) set up, created before the file's tests (MFA is mandatory; the
 * test computes the codes): `secret` once created, `nextCode` for `signInStaff` (fresh codes, see `freshTotpCode`).
 */
export function staffWithTotpForTests(staff: { email: string; password: string; name: string }, role: StaffRole) {
  const secret = setUpInBeforeAll<string>("the staff member's TOTP secret");
  beforeAll(async () => {
    const created = await createStaff(getDb(), { ...staff, role });
    secret.set(await provisionTotp(getDb(), created.id));
  });
  return { totpSecret: secret.get, nextCode: freshTotpCode(secret.get) };
}
