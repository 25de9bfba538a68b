/**
 * A real SMTP listener for the demo and the tests (never used in production): it accepts every message over SMTP,
 * parses it, keeps it in memory and, when `dir` is given, writes it as an .eml file that `/dev/mailbox` reads.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { simpleParser, type AddressObject } from "mailparser";
import { SMTPServer } from "smtp-server";

export type CaughtMail = {
  id: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  date: Date;
};

export type MailCatcher = {
  port: number;
  url: string;
  messages: CaughtMail[];
  /** Resolves with the first message (already received or arriving) that matches, or rejects after `timeoutMs`. */
  waitFor(match: (m: CaughtMail) => boolean, timeoutMs?: number): Promise<CaughtMail>;
  close(): Promise<void>;
};

const addresses = (a: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => v.address ?? "")).filter(Boolean);

export async function parseMail(raw: Buffer | string, id: string = randomUUID()): Promise<CaughtMail> {
  const parsed = await simpleParser(raw);
  return {
    id,
    from: addresses(parsed.from)[0] ?? "",
    to: addresses(parsed.to),
    subject: parsed.subject ?? "",
    text: parsed.text ?? "",
    html: typeof parsed.html === "string" ? parsed.html : "",
    date: parsed.date ?? new Date(),
  };
}

export async function startMailCatcher(options: { port?: number; host?: string; dir?: string } = {}): Promise<MailCatcher> {
  const messages: CaughtMail[] = [];
  const waiters = new Set<{ match: (m: CaughtMail) => boolean; resolve: (m: CaughtMail) => void }>();
  if (options.dir) mkdirSync(options.dir, { recursive: true });

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks);
        const id = `${Date.now()}-${randomUUID().slice(0, 8)}`;
        if (options.dir) writeFileSync(join(options.dir, `${id}.eml`), raw, { mode: 0o600 });
        parseMail(raw, id)
          .then((mail) => {
            messages.push(mail);
            for (const w of waiters) {
              if (w.match(mail)) {
                waiters.delete(w);
                w.resolve(mail);
              }
            }
            callback();
          })
          .catch((err: Error) => callback(err));
      });
    },
  });

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  server.on("error", () => {});
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 0);

  return {
    port,
    url: `smtp://${host}:${port}`,
    messages,
    waitFor(match, timeoutMs = 10_000) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (m: CaughtMail) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`No matching email within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The messages a catcher wrote to `dir`, newest first (for `/dev/mailbox`). */
export async function readMailbox(dir: string, limit = 100): Promise<CaughtMail[]> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".eml"));
  } catch {
    return [];
  }
  files.sort().reverse();
  return Promise.all(files.slice(0, limit).map((f) => parseMail(readFileSync(join(dir, f)), f.slice(0, -4))));
}
