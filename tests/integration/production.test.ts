/**
 * The web process started as in production (`NODE_ENV=production`): it refuses to start without its secrets,
 * naming them, and once configured it hides the dev mailbox and issues `__Host-` Secure cookies.
 */
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { currentTotpCode, provisionTotp } from "#app/models/mfa.server.ts";
import { createStaff } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { freePort, startPortalProcess, type PortalProcess } from "#tests/helpers/processes.ts";

const running: PortalProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
});

function runToExit(env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "server.ts"], { env: { ...process.env, ...env } as NodeJS.ProcessEnv });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

describe("production mode", () => {
  it("refuses to start without secrets and names each missing key", async () => {
    const { code, output } = await runToExit({
      NODE_ENV: "production",
      SESSION_SECRET: undefined,
      ENCRYPTION_KEYS: undefined,
      BLIND_INDEX_KEY: undefined,
      APP_URL: undefined,
      PORT: String(await freePort()),
    });
    expect(code).toBe(78);
    for (const key of ["SESSION_SECRET", "ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "APP_URL"]) expect(output).toContain(key);
  });

  it("refuses a malformed value, naming the key but not the value", async () => {
    const { code, output } = await runToExit({ NODE_ENV: "production", BLIND_INDEX_KEY: "too-short-secret-value", PORT: "3000" });
    expect(code).toBe(78);
    expect(output).toContain("BLIND_INDEX_KEY");
    expect(output).not.toContain("too-short-secret-value");
  });

  it("hides /dev/mailbox and sets __Host- Secure cookies", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const web = await startPortalProcess("server.ts", { NODE_ENV: "production", PORT: String(port), HOST: "127.0.0.1", APP_URL: url, LOG_LEVEL: "info" }, /portal listening/);
    running.push(web);
    expect((await fetch(`${url}/dev/mailbox`)).status).toBe(404);
    const officer = await createStaff(getDb(), { email: "prod.officer@demo-shop.example", name: "Prod Officer", role: "admin", password: "production password 99" });
    const secret = await provisionTotp(getDb(), officer.id);
    const post = (path: string, fields: Record<string, string>, cookie?: string) =>
      fetch(`${url}${path}`, {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: url, ...(cookie ? { Cookie: cookie } : {}) },
        body: new URLSearchParams(fields).toString(),
      });
    const expectHostCookie = (cookie: string) => {
      expect(cookie).toMatch(/^__Host-portal_staff=/);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; Path=\//);
      expect(cookie).not.toMatch(/Domain=/i);
    };
    const res = await post("/admin/login", { email: "prod.officer@demo-shop.example", password: "production password 99" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/admin/mfa?next=%2Fadmin");
    const cookie = res.headers.get("set-cookie") ?? "";
    expectHostCookie(cookie);

    // The MFA step rotates the token; the new cookie is __Host- too.
    const mfa = await post("/admin/mfa?next=%2Fadmin", { intent: "code", code: currentTotpCode(secret) }, cookie.split(";")[0]);
    expect(mfa.status).toBe(302);
    const rotated = mfa.headers.get("set-cookie") ?? "";
    expectHostCookie(rotated);
    expect(rotated.split(";")[0]).not.toBe(cookie.split(";")[0]);
    const list = await fetch(`${url}/admin`, { redirect: "manual", headers: { Cookie: rotated.split(";")[0]! } });
    expect(list.status).toBe(200);
  });
});
