/**
 * The baseline of `npm run bench:submit`: a bare Remix POST handler, served the way the portal serves its build.
 *
 * Instead of a second compiled app, the Remix ServerBuild is an object in memory — the shape `remix build` emits
 * (entry, route manifest, assets manifest, future flags), with one route, `request/:type`, whose action reads the
 * form, checks the email has an @ and redirects like the intake does. It goes through the same
 * `@remix-run/express` `createRequestHandler` (Remix's own request handling: routing, action call, redirect), so
 * the difference to the portal is exactly what the portal does on top: its Express middleware and the intake's work.
 *
 *   node --import tsx bench/bare/server.ts <port> bare     plain Express + createRequestHandler (the baseline)
 *   node --import tsx bench/bare/server.ts <port> portal   the portal's Express stack (server/app.ts: headers, CSRF,
 *                                                          body limit, request log) around the same bare route;
 *                                                          needs the portal's environment, like `npm start`
 */
import { createRequestHandler } from "@remix-run/express";
import { json, redirect, type ActionFunctionArgs, type ServerBuild } from "@remix-run/node";
import express from "express";

async function action({ request }: ActionFunctionArgs) {
  const form = await request.formData();
  const email = form.get("email");
  if (typeof email !== "string" || !email.includes("@")) return json({ error: { email: ["Please enter your email address."] } }, { status: 400 });
  return redirect("/requests/PR-2222-2222/verify");
}

const routeId = "routes/request.$type";

export const bareBuild: ServerBuild = {
  mode: "production",
  entry: {
    module: {
      // Documents are never rendered here: the action always answers with a redirect or JSON.
      default: () => new Response("not rendered", { status: 500 }),
    },
  },
  routes: {
    // Route modules carry a component (`default`) that only document rendering would use.
    root: { id: "root", path: "", module: { default: () => null } },
    [routeId]: { id: routeId, parentId: "root", path: "request/:type", module: { default: () => null, action } },
  },
  assets: {
    entry: { module: "/build/entry.client.js", imports: [] },
    routes: {
      root: { id: "root", path: "", module: "/build/root.js", hasAction: false, hasLoader: false, hasClientAction: false, hasClientLoader: false, hasErrorBoundary: false },
      [routeId]: {
        id: routeId,
        parentId: "root",
        path: "request/:type",
        module: "/build/request.js",
        hasAction: true,
        hasLoader: false,
        hasClientAction: false,
        hasClientLoader: false,
        hasErrorBoundary: false,
      },
    },
    version: "bench",
    url: "/build/manifest-bench.js",
  },
  publicPath: "/build/",
  assetsBuildDirectory: "public/build",
  // The portal's future flags (remix.config.js), as the runtime reads them.
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
    v3_singleFetch: false,
    v3_lazyRouteDiscovery: true,
  },
  isSpaMode: false,
};

async function main() {
  const port = Number(process.argv[2]);
  const stack = process.argv[3] ?? "bare";
  if (!Number.isInteger(port) || port <= 0 || (stack !== "bare" && stack !== "portal")) {
    console.error("usage: node --import tsx bench/bare/server.ts <port> bare|portal");
    process.exit(64);
  }
  let app: express.Express;
  if (stack === "portal") {
    const { getEnvOrExit } = await import("#app/utils/env.server.ts");
    const { createApp } = await import("#server/app.ts");
    app = createApp(getEnvOrExit(), bareBuild);
  } else {
    app = express();
    app.disable("x-powered-by");
    app.set("trust proxy", true);
    app.all("*", createRequestHandler({ build: bareBuild, mode: "production" }));
  }
  const server = app.listen(port, "127.0.0.1", () => console.log(`bare (${stack}) listening on ${port}`));
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) await main();
