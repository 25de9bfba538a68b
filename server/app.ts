/**
 * The web process: Express in front of the Remix build, adding what Remix alone does not give a portal that holds
 * personal data — security headers, CSRF and body limits before any route runs, request logs without personal
 * data, `/healthz`, and a generic error page.
 */
import { randomUUID } from "node:crypto";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import express, { type NextFunction, type Request, type Response } from "express";
import { sql } from "drizzle-orm";
import { getDb } from "#db/client.server.ts";
import { AGENT_FORM_BODY_LIMIT_BYTES, AGENT_FORM_PATH } from "#app/models/agent-intake.ts";
import type { Env } from "#app/utils/env.server.ts";
import { loggablePath, logger as rootLogger } from "#app/utils/logger.server.ts";
import { getRedis } from "#app/utils/redis.server.ts";
import { bodyLimit, csrfProtection, formBodiesOnly, httpsOnly, securityHeaders } from "./security.ts";

const log = rootLogger.child({ process: "web" });

export async function checkHealth() {
  const withTimeout = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), 2000).unref())]);
  const [db, redis] = await Promise.allSettled([withTimeout(getDb().execute(sql`select 1`)), withTimeout(getRedis().ping())]);
  return { db: db.status === "fulfilled" ? "ok" : "down", redis: redis.status === "fulfilled" ? "ok" : "down" } as const;
}

const errorPage = (status: number, message: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Privacy Center</title></head><body><main><h1>${status === 404 ? "Not found" : "Sorry"}</h1><p>${message}</p><p><a href="/">Back to the Privacy Center</a></p></main></body></html>`;

export function createApp(env: Env, build: ServerBuild | (() => Promise<ServerBuild>)) {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", env.TRUST_PROXY);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const id = randomUUID();
    res.setHeader("X-Request-Id", id);
    res.on("finish", () => {
      if (req.path === "/healthz") return;
      log.info(
        { reqId: id, method: req.method, path: loggablePath(req.originalUrl), status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        "request",
      );
    });
    next();
  });

  if (env.FORCE_HTTPS) app.use(httpsOnly());
  app.use(securityHeaders({ isProduction: env.isProduction }));

  app.get("/healthz", async (_req, res) => {
    const health = await checkHealth();
    res.status(health.db === "ok" && health.redis === "ok" ? 200 : 503).json({ status: health.db === "ok" && health.redis === "ok" ? "ok" : "degraded", ...health });
  });

  app.use("/build", express.static("public/build", { immutable: true, maxAge: "1y", index: false }));
  app.use(express.static("public", { maxAge: "1h", index: false }));

  // The authorized-agent form carries a file (≤ 5 MiB): the one path allowed a larger body.
  app.use(bodyLimit(env.BODY_LIMIT_BYTES, { [AGENT_FORM_PATH]: Math.max(env.BODY_LIMIT_BYTES, AGENT_FORM_BODY_LIMIT_BYTES) }));
  app.use(csrfProtection({ appUrl: env.APP_URL }));
  app.use(formBodiesOnly());

  app.all(
    "*",
    createRequestHandler({
      build,
      // Always production mode: Remix then never serializes error messages or stacks to the browser.
      mode: "production",
      getLoadContext: (req: Request, res: Response) => ({ cspNonce: res.locals.cspNonce as string, clientIp: req.ip ?? "unknown" }),
    }),
  );

  // Anything thrown outside Remix (or a malformed request): a generic page, details only in the scrubbed log.
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log.error({ err }, "unhandled server error");
    if (res.headersSent) return res.end();
    res.status(status).type("html").send(errorPage(status, status === 500 ? "Something went wrong on our side. Please try again later." : "That request could not be handled."));
  });
  return app;
}
