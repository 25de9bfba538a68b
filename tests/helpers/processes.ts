/** The portal's real processes (web, worker) as children of the test, with their log lines captured. */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export type PortalProcess = { child: ChildProcess; logs: string[]; stop: () => Promise<number | null> };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `node --import tsx <script>` and resolves once a log line matches `ready`. */
export async function startPortalProcess(script: string, env: Record<string, string>, ready: RegExp, timeoutMs = 30_000): Promise<PortalProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  let resolveReady: () => void;
  const readyPromise = new Promise<void>((r) => (resolveReady = r));
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      logs.push(line);
      if (ready.test(line)) resolveReady();
    }
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${script} did not become ready in ${timeoutMs} ms:\n${logs.slice(-20).join("\n")}`)), timeoutMs).unref(),
  );
  await Promise.race([readyPromise, timer, exited.then((code) => Promise.reject(new Error(`${script} exited with ${code}:\n${logs.join("\n")}`)))]);
  return {
    child,
    logs,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** The web and worker processes together on a free loopback port, as the e2e tests use them. */
export async function startPortal(extraEnv: Record<string, string> = {}) {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = { PORT: String(port), HOST: "127.0.0.1", APP_URL: baseUrl, LOG_LEVEL: "info", ...extraEnv };
  const [web, worker] = await Promise.all([
    startPortalProcess("server.ts", env, /portal listening/),
    startPortalProcess("jobs/worker.ts", env, /worker started/),
  ]);
  return { baseUrl, web, worker };
}
