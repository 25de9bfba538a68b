/** The portal's web and worker processes for the tests of one file (see processes.ts, which stays free of vitest). */
import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import { closeDb } from "#db/client.server.ts";
import { startPortal, type PortalProcess } from "#tests/helpers/processes.ts";
import { setUpInBeforeAll } from "#tests/helpers/set-up.ts";

/**
 * Starts the web and worker processes (`startPortal`) before the file's tests (register it first, so the file's own
 * hooks can use it). After them both are stopped, every log line of both is saved as `.cache/e2e-<name>.log`, the
 * database connection is closed, and both must have shut down cleanly (exit code 0) on SIGTERM.
 */
export function portalForTests(name: string, extraEnv: Record<string, string> = {}) {
  const portal = setUpInBeforeAll<{ baseUrl: string; web: PortalProcess; worker: PortalProcess }>("the portal's processes");
  beforeAll(async () => {
    portal.set(await startPortal(extraEnv));
  }, 90_000);
  afterAll(async () => {
    const started = portal.peek();
    const codes = await Promise.all([started?.web.stop(), started?.worker.stop()]);
    mkdirSync(".cache", { recursive: true });
    writeFileSync(`.cache/e2e-${name}.log`, [...(started?.web.logs ?? []), ...(started?.worker.logs ?? [])].join("\n"));
    await closeDb();
    expect(codes).toEqual([0, 0]); // both shut down cleanly on SIGTERM
  });
  return {
    get baseUrl() {
      return portal.get().baseUrl;
    },
    /** Every log line both processes wrote so far: the web process's, then the worker's. */
    logs: () => [...portal.get().web.logs, ...portal.get().worker.logs],
  };
}
