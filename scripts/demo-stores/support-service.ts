/**
 * The demo support desk: an HTTP service of "the company" implementing the portal's store contract
 * (docs/connectors.md) against its own data — tickets kept in a small JSON file (or in memory). Every request must
 * carry a valid portal signature. Access returns the subject's tickets; erasure deletes them, except tickets of an
 * open warranty claim, which are kept with a basis; erasing again finds nothing more (idempotent); a dry run changes
 * nothing. Correction rewrites the name and email on the subject's tickets (a second run finds them by the new email
 * and reports the same); opt-out (marketing_consent) turns off the satisfaction-survey invitations.
 *
 *   node --import tsx scripts/demo-stores/support-service.ts      (npm run demo starts it)
 *   env: DEMO_SUPPORT_SECRET (required), DEMO_SUPPORT_PORT (3410), DEMO_SUPPORT_DATA (.data/demo-support.json)
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyPortalSignature } from "#app/connectors/http/signature.ts";
import { demoCustomers, prng, type DemoCustomer } from "./customers.ts";

export type Ticket = {
  id: number;
  email: string;
  name: string;
  subject: string;
  message: string;
  status: "open" | "closed" | "warranty_claim";
  /** The customer may be invited to rate the answer (marketing_consent: an opt-out turns it off). */
  survey_opt_in: boolean;
  created_at: string;
};

const SUBJECTS = [
  ["Where is my order?", "My order has not arrived yet, can you check the tracking?"],
  ["Return request", "The T-shirt is too small, how do I return it?"],
  ["Broken pen", "The fountain pen leaks. I would like a replacement under warranty."],
  ["Change my address", "Please update my delivery address for future orders."],
] as const;

export function supportTickets(customers: DemoCustomer[], seed = 13): Ticket[] {
  const r = prng(seed);
  const out: Ticket[] = [];
  let id = 1;
  for (const c of customers) {
    const n = c.id <= 5 ? 2 : r.chance(0.4) ? r.int(1, 3) : 0;
    for (let i = 0; i < n; i++) {
      const [subject, message] = r.pick(SUBJECTS);
      const status = c.id <= 5 ? (i === 0 ? "closed" : "warranty_claim") : r.pick(["closed", "closed", "open", "warranty_claim"] as const);
      out.push({ id: id++, email: c.email, name: `${c.firstName} ${c.lastName}`, subject, message, status, survey_opt_in: true, created_at: new Date(c.createdAt.getTime() + r.int(5, 600) * 86_400_000).toISOString() });
    }
  }
  return out;
}

const KEPT_BASIS = "An open warranty claim needs this conversation until it is settled";

export type SupportService = { url: string; tickets: () => Ticket[]; requests: () => number; close: () => Promise<void> };

/** Starts the service on 127.0.0.1 (`port` 0: any free port). With `dataFile`, tickets persist there. */
export async function startSupportService(options: { secret: string; port?: number; dataFile?: string; customers?: DemoCustomer[] }): Promise<SupportService> {
  const file = options.dataFile ? resolve(options.dataFile) : undefined;
  let tickets: Ticket[];
  if (file && existsSync(file)) tickets = JSON.parse(readFileSync(file, "utf8")) as Ticket[];
  else {
    tickets = supportTickets(options.customers ?? demoCustomers());
    save();
  }
  let served = 0;

  function save() {
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(tickets, null, 1), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== "POST") return json(res, 405, { error: "method_not_allowed" });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 64 * 1024) return json(res, 413, { error: "too_large" });
      chunks.push(c as Buffer);
    }
    const raw = Buffer.concat(chunks).toString("utf8");
    const check = verifyPortalSignature({
      secret: options.secret,
      body: raw,
      timestamp: req.headers["x-portal-timestamp"] as string | undefined,
      signature: req.headers["x-portal-signature"] as string | undefined,
    });
    if (!check.ok) return json(res, 401, { error: "bad_signature" });
    served++;
    let body: { subject?: { email?: string }; dryRun?: boolean; values?: { email?: string; name?: string }; kinds?: string[] };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return json(res, 400, { error: "bad_json" });
    }
    const path = new URL(req.url ?? "/", "http://x").pathname.replace(/\/+$/, "");
    if (path.endsWith("/ping")) return json(res, 200, { ok: true, service: "Demo support desk 1.0" });
    const email = body.subject?.email?.toLowerCase();
    const mine = email ? tickets.filter((t) => t.email.toLowerCase() === email) : [];
    if (path.endsWith("/access")) return json(res, 200, { collections: { tickets: mine } });
    if (path.endsWith("/erasure")) {
      const kept = mine.filter((t) => t.status === "warranty_claim");
      const doomed = mine.filter((t) => t.status !== "warranty_claim");
      if (!body.dryRun && doomed.length > 0) {
        const ids = new Set(doomed.map((t) => t.id));
        tickets = tickets.filter((t) => !ids.has(t.id));
        save();
      }
      return json(res, 200, {
        collections: {
          tickets: { matched: mine.length, deleted: doomed.length, masked: 0, kept: kept.length, bases: kept.length ? [{ basis: KEPT_BASIS, rows: kept.length }] : [] },
        },
      });
    }
    if (path.endsWith("/correction")) {
      const values = body.values ?? {};
      const newEmail = values.email?.toLowerCase();
      // A run that already happened moved the tickets to the new email: found there, they hold the values already.
      const already = newEmail && newEmail !== email ? tickets.filter((t) => t.email.toLowerCase() === newEmail && (!values.name || t.name === values.name)) : [];
      let changed = false;
      for (const t of mine) {
        if (newEmail && t.email !== newEmail) {
          t.email = newEmail;
          changed = true;
        }
        if (values.name && t.name !== values.name) {
          t.name = values.name;
          changed = true;
        }
      }
      if (changed) save();
      const n = mine.length + already.length;
      return json(res, 200, { collections: { tickets: { matched: n, applied: n, shared: 0 } } });
    }
    if (path.endsWith("/opt-out")) {
      const kinds = body.kinds ?? [];
      if (kinds.includes("marketing_consent") && mine.some((t) => t.survey_opt_in)) {
        for (const t of mine) t.survey_opt_in = false;
        save();
      }
      return json(res, 200, { collections: { tickets: { matched: mine.length, applied: kinds.includes("marketing_consent") ? mine.length : 0, shared: 0 } } });
    }
    return json(res, 404, { error: "not_found" });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => json(res, 500, { error: "internal" }));
  });
  await new Promise<void>((r) => server.listen(options.port ?? 0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    tickets: () => tickets,
    requests: () => served,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const secret = process.env.DEMO_SUPPORT_SECRET;
  if (!secret || secret.length < 32) {
    console.error("Set DEMO_SUPPORT_SECRET (at least 32 characters); npm run demo writes one into .env.");
    process.exit(78);
  }
  const service = await startSupportService({
    secret,
    port: Number(process.env.DEMO_SUPPORT_PORT ?? 3410),
    dataFile: process.env.DEMO_SUPPORT_DATA ?? ".data/demo-support.json",
  });
  console.log(`support service listening on ${service.url}`);
  const stop = () => void service.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
