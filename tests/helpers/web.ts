/** The real web app (server/app.ts + the compiled Remix build) on a random loopback port, in this process. */
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { afterAll, beforeAll } from "vitest";
import { getEnv, parseEnv } from "#app/utils/env.server.ts";
import { startWorker, type RunningWorker } from "#jobs/worker.ts";
import { createApp } from "#server/app.ts";
import { setUpInBeforeAll } from "#tests/helpers/set-up.ts";
import { closeConnections } from "#tests/helpers/worker.ts";

export async function loadBuild(): Promise<ServerBuild> {
  const path = resolve("build/index.js");
  if (!existsSync(path)) throw new Error("build/index.js is missing: run `npm run build` (npm test does it first)");
  return (await import(pathToFileURL(path).href)) as ServerBuild;
}

export async function startWeb(overrides: Record<string, string> = {}) {
  const env = Object.keys(overrides).length > 0 ? parseEnv({ ...process.env, ...overrides }) : getEnv();
  const app = createApp(env, await loadBuild());
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((r) => server.once("listening", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    /** fetch with this site's Origin, as a browser form post would send it. */
    post: (path: string, body: URLSearchParams | string, headers: Record<string, string> = {}) =>
      fetch(url + path, {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: url, ...headers },
        body: typeof body === "string" ? body : body.toString(),
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export type WebApp = Awaited<ReturnType<typeof startWeb>>;

/**
 * The real web app for the tests of one file (and, with `worker`, a real worker beside it): started before the
 * file's tests (this `beforeAll` is registered first, so the file's own ones can use it); after them the worker, the
 * app, the queues, the mailer and Redis are closed. Use it like what `startWeb` returns (`url`, `post`).
 */
export function webAppForTests({ worker = false } = {}): Omit<WebApp, "close"> {
  const app = setUpInBeforeAll<WebApp>("the web app");
  let running: RunningWorker | undefined;
  beforeAll(async () => {
    app.set(await startWeb());
    if (worker) running = await startWorker({ schedules: false, concurrency: 2 });
  }, 90_000);
  afterAll(async () => {
    await running?.close(5000);
    await app.peek()?.close();
    await closeConnections();
  });
  return {
    get url() {
      return app.get().url;
    },
    post: (...args) => app.get().post(...args),
  };
}
