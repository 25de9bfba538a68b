/** The demo stores' settings in the demo's git-ignored .env: the support service's signing secret and address. */
import { randomBytes } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";

export const DEMO_SUPPORT_PORT = 3410;

/** Adds DEMO_SUPPORT_SECRET (random) and DEMO_SUPPORT_URL to the .env when missing; never changes a value. */
export function ensureDemoStoreEnv(envPath: string) {
  const current = readFileSync(envPath, "utf8");
  const lines: string[] = [];
  if (!/^DEMO_SUPPORT_SECRET=\S/m.test(current)) lines.push(`DEMO_SUPPORT_SECRET=${randomBytes(32).toString("base64url")}`);
  if (!/^DEMO_SUPPORT_URL=\S/m.test(current)) lines.push(`DEMO_SUPPORT_URL=http://127.0.0.1:${DEMO_SUPPORT_PORT}`);
  if (lines.length > 0) appendFileSync(envPath, `${current.endsWith("\n") || current === "" ? "" : "\n"}${lines.join("\n")}\n`, { mode: 0o600 });
}
