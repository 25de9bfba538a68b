/** The web process entry: `npm start` (production) or the demo. Serves the compiled Remix build in ./build. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { closeDb } from "#db/client.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { logger } from "#app/utils/logger.server.ts";
import { closeRedis } from "#app/utils/redis.server.ts";
import { closeQueues } from "#jobs/queues.ts";
import { createApp } from "#server/app.ts";

const env = getEnvOrExit();
const buildPath = resolve("build/index.js");
if (!existsSync(buildPath)) {
  console.error("No Remix build found at build/index.js: run `npm run build` first.");
  process.exit(1);
}
const build = (await import(pathToFileURL(buildPath).href)) as ServerBuild;
const app = createApp(env, build);
const server = app.listen(env.PORT, env.HOST, () => {
  logger.info({ port: env.PORT, env: env.NODE_ENV }, `portal listening on ${env.APP_URL}`);
});
server.headersTimeout = 20_000;
server.requestTimeout = 30_000;

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "web stopping");
  server.close();
  await Promise.allSettled([closeQueues(), closeDb(), closeRedis()]);
  process.exit(0);
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
