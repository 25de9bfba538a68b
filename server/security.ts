/**
 * The HTTP security baseline, as Express middleware that runs before Remix (so it also covers `?_data=` requests
 * and resource routes): headers with a per-request CSP nonce, HTTPS redirect, body size limit, CSRF origin check.
 */
import { randomBytes } from "node:crypto";
import type { NextFunction, Request, Response } from "express";

export function securityHeaders(options: { isProduction: boolean }) {
  return (req: Request, res: Response, next: NextFunction) => {
    const nonce = randomBytes(16).toString("base64");
    res.locals.cspNonce = nonce;
    const csp = [
      "default-src 'self'",
      `script-src 'nonce-${nonce}' 'strict-dynamic'`,
      "style-src 'self'",
      "img-src 'self' data:",
      "font-src 'self'",
      options.isProduction ? "connect-src 'self'" : "connect-src 'self' ws://localhost:* ws://127.0.0.1:*",
      "frame-src 'self'",
      "frame-ancestors 'none'",
      "form-action 'self'",
      "base-uri 'none'",
      "object-src 'none'",
      ...(req.secure ? ["upgrade-insecure-requests"] : []),
    ].join("; ");
    res.setHeader("Content-Security-Policy", csp);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("X-Frame-Options", "DENY");
    // same-origin: no referrer ever leaves the site, while same-origin form posts keep a real Origin header
    // ("no-referrer" makes Chromium send `Origin: null` on form posts, which the CSRF check must refuse).
    res.setHeader("Referrer-Policy", "same-origin");
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    res.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), interest-cohort=()");
    if (req.secure) res.setHeader("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
    next();
  };
}

/** With FORCE_HTTPS, plain-HTTP requests are redirected (GET/HEAD) or refused (anything else). */
export function httpsOnly() {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.secure || req.path === "/healthz") return next();
    if (req.method === "GET" || req.method === "HEAD") return res.redirect(308, `https://${req.get("host") ?? ""}${req.originalUrl}`);
    res.status(403).type("text/plain").send("HTTPS is required.");
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Machine endpoints: called by a company's own services, not by browsers, and authenticated by an HMAC signature
 * over the body with the store's shared secret — never by a cookie or session. A cross-site browser request there
 * has no ambient authority to abuse, so the CSRF origin check does not apply; their body is JSON. Matched exactly
 * (a differently spelt path is not exempt, so it is refused as before).
 */
export const SIGNED_JSON_ENDPOINTS: ReadonlySet<string> = new Set(["/api/stores/callback"]);

/**
 * 413 when a body is larger than the limit; 411 for unsafe requests that do not say how large their body is.
 * `perPath` raises (or lowers) the limit for exact paths (query string and a trailing slash ignored), e.g. the one
 * form that takes a file upload; every other path keeps `limitBytes`.
 */
export function bodyLimit(limitBytes: number, perPath: Record<string, number> = {}) {
  const overrides = new Map(Object.entries(perPath).map(([path, limit]) => [path.replace(/(.)\/+$/, "$1"), limit]));
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const limit = overrides.get(req.path.replace(/(.)\/+$/, "$1")) ?? limitBytes;
    const length = req.get("content-length");
    const chunked = (req.get("transfer-encoding") ?? "").toLowerCase().includes("chunked");
    if (length === undefined) {
      if (chunked) return res.status(411).type("text/plain").send("A Content-Length header is required.");
      return next();
    }
    const n = Number(length);
    if (!Number.isFinite(n) || n < 0) return res.status(400).type("text/plain").send("Invalid Content-Length.");
    if (n > limit) {
      res.setHeader("Connection", "close");
      return res.status(413).type("text/plain").send(`The request body is too large (limit ${limit} bytes).`);
    }
    next();
  };
}

/**
 * CSRF defence for every state-changing request (OWASP: Fetch Metadata + standard-header origin verification):
 * `Sec-Fetch-Site`, when sent, must be `same-origin`; `Origin` (or else `Referer`) must be this site's origin
 * (APP_URL or the Host the request was sent to); a mutation carrying neither is refused. Answers 403.
 */
export function csrfProtection(options: { appUrl: string }) {
  const trusted = new URL(options.appUrl).origin;
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method) || SIGNED_JSON_ENDPOINTS.has(req.path)) return next();
    const own = `${req.protocol}://${req.get("host") ?? ""}`;
    const allowed = (origin: string) => origin === trusted || origin === own;
    const site = req.get("sec-fetch-site");
    let ok: boolean;
    if (site !== undefined && site !== "same-origin") ok = false;
    else {
      const origin = req.get("origin");
      if (origin !== undefined) ok = origin !== "null" && allowed(origin);
      else {
        const referer = req.get("referer");
        ok = referer !== undefined && URL.canParse(referer) && allowed(new URL(referer).origin);
      }
    }
    if (ok) return next();
    res.status(403).type("text/plain").send("Forbidden: this request did not come from this site.");
  };
}

/**
 * Every state-changing request carries a browser form: urlencoded, or multipart with a boundary (the signed machine
 * endpoints above take JSON, and nothing else). Anything else
 * (JSON, text, no body type) is refused with 415 before a route tries to parse it; a malformed multipart body is
 * then a 400 from the route's form reader (app/utils/forms.server.ts).
 */
export function formBodiesOnly() {
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method) || req.path === "/healthz") return next();
    const type = (req.get("content-type") ?? "").toLowerCase();
    if (SIGNED_JSON_ENDPOINTS.has(req.path)) {
      if (type.startsWith("application/json")) return next();
      return res.status(415).type("text/plain").send("This address accepts signed JSON only.");
    }
    if (type.startsWith("application/x-www-form-urlencoded")) return next();
    if (type.startsWith("multipart/form-data")) {
      if (/;\s*boundary=\S+/.test(type)) return next();
      return res.status(400).type("text/plain").send("A multipart form needs a boundary.");
    }
    res.status(415).type("text/plain").send("This address accepts form submissions only.");
  };
}
