/**
 * `npm run demo`: everything a newcomer needs to see the portal work on this machine — services, secrets, build,
 * migrations, demo data, a local SMTP catcher (mail readable at /dev/mailbox), the web process and a worker.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { migrateDatabase } from "#db/migrate.ts";
import { ensureDemoStoreEnv } from "./demo-stores/env.ts";
import { ensureSecrets } from "./secrets.ts";

const root = resolve(import.meta.dirname, "..");
process.chdir(root);

function step(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, env });
  if (r.status !== 0) {
    console.error(`\n✗ ${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal}).`);
    process.exit(r.status ?? 1);
  }
}

step("bash", ["scripts/services.sh"]);
const envPath = resolve(root, ".env");
ensureSecrets(envPath);
{
  const current = readFileSync(envPath, "utf8");
  if (!/^DEMO_STAFF_PASSWORD=\S/m.test(current)) {
    const line = `DEMO_STAFF_PASSWORD=demo-${randomBytes(9).toString("base64url")}`;
    if (/^DEMO_STAFF_PASSWORD=\s*$/m.test(current)) writeFileSync(envPath, current.replace(/^DEMO_STAFF_PASSWORD=\s*$/m, line), { mode: 0o600 });
    else appendFileSync(envPath, `${current.endsWith("\n") || current === "" ? "" : "\n"}${line}\n`, { mode: 0o600 });
  }
}

ensureDemoStoreEnv(envPath);

const { loadDotEnv, getEnvOrExit } = await import("#app/utils/env.server.ts");
process.env.NODE_ENV ??= "development";
loadDotEnv(envPath);
const env = getEnvOrExit();
if (env.isProduction) {
  console.error("npm run demo is for local use; unset NODE_ENV=production.");
  process.exit(1);
}

console.log("• building the web app…");
step("npx", ["remix", "build"], { ...process.env, NODE_ENV: "production" });
await migrateDatabase(env.DATABASE_URL);

const { getDb, closeDb } = await import("#db/client.server.ts");
const { seedDemo, DEMO_STAFF_EMAIL } = await import("#db/seed.ts");
const seeded = await seedDemo(getDb(), process.env.DEMO_STAFF_PASSWORD!);
// Connected stores with demo customers (the seeded requests' people among them): scripts/demo-stores.
const { setUpDemoStores } = await import("./demo-stores/index.ts");
const demoStores = await setUpDemoStores(getDb(), { databaseUrl: env.DATABASE_URL, ...(process.env.DEMO_MYSQL_URL ? { mysqlUrl: process.env.DEMO_MYSQL_URL } : {}) });
await closeDb();

const { startMailCatcher } = await import("#app/utils/mail-catcher.server.ts");
const smtp = new URL(env.SMTP_URL);
const catcher = await startMailCatcher({ host: smtp.hostname, port: Number(smtp.port || 25), dir: env.MAILBOX_DIR }).catch((err: Error) => {
  console.error(`✗ could not start the demo SMTP catcher on ${smtp.host}: ${err.message}. Is another demo running?`);
  process.exit(1);
});

const children: ChildProcess[] = [];
function start(name: string, script: string) {
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: root, stdio: "inherit", env: process.env });
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`✗ ${name} exited (${code ?? signal}); stopping the demo.`);
      void stop(1);
    }
  });
  children.push(child);
}

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
  await catcher.close();
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

start("support", "scripts/demo-stores/support-service.ts");
start("web", "server.ts");
start("worker", "jobs/worker.ts");

console.log(`
────────────────────────────────────────────────────────────
  Privacy portal demo
  Portal:        ${env.APP_URL}/
  Staff console: ${env.APP_URL}/admin
    email:       ${DEMO_STAFF_EMAIL}
    password:    ${process.env.DEMO_STAFF_PASSWORD}
    MFA key:     ${seeded.totpSecret.replace(/(.{4})(?=.)/g, "$1 ")}
                 (add it to an authenticator app as a time-based key, or print the current code with
                  npm run portal -- staff:totp --email ${DEMO_STAFF_EMAIL})
  Mailbox:       ${env.APP_URL}/dev/mailbox   (every email the portal sends)
  Demo data:     ${seeded.requestsCreated > 0 ? `${seeded.requestsCreated} requests created` : "already present"}
  Demo stores:   shop (PostgreSQL demo_shop), marketing (MariaDB demo_marketing), support (HTTP ${process.env.DEMO_SUPPORT_URL});
                 ${demoStores.customers} customers${demoStores.shop.inserted > 0 ? " created" : ""}. Approve a request in the console to run it.
  Stop with Ctrl+C.
────────────────────────────────────────────────────────────
`);
