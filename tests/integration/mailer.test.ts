/**
 * The mailer against real SMTP listeners: the test file's own mail catcher (env SMTP_URL), a catcher writing .eml
 * files for the dev mailbox routes, a server that refuses recipients, and a port where nothing listens.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "#app/utils/logger.server.ts";
import { startMailCatcher, type MailCatcher } from "#app/utils/mail-catcher.server.ts";
import { MailerError, closeMailer, createMailer, readMailboxMessage, sendEmail } from "#app/utils/mailer.server.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

// The dev mailbox routes read env MAILBOX_DIR; set it before anything reads the configuration.
const mailboxDir = mkdtempSync(join(tmpdir(), "portal-mailbox-"));
process.env.MAILBOX_DIR = mailboxDir;

const EMAIL_RE = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/;
let counter = 0;
const address = () => `subject.person+${process.pid}-${++counter}@customer-mail.example`;

const verificationProps = {
  code: "904127",
  verifyUrl: "http://localhost:3000/verify/tok_integration",
  expiresInMinutes: 15,
  requestTypeLabel: "Access to my data",
};

/** A pino logger (optionally the portal's redacting one) whose lines land in an array. */
function collectingLogger(kind: "bare" | "portal"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  // The bare logger redacts nothing, so it proves the mailer itself never hands it personal data.
  const logger = kind === "bare" ? pino({ level: "info" }, stream) : createLogger({ level: "info", name: "mailer-test" }, stream);
  return { logger, lines };
}

/** A port on this machine where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let fileCatcher: MailCatcher;

beforeAll(async () => {
  fileCatcher = await startMailCatcher({ dir: mailboxDir });
});

afterAll(async () => {
  await closeMailer();
  await fileCatcher?.close();
  rmSync(mailboxDir, { recursive: true, force: true });
});

describe("sendEmail over SMTP", () => {
  it("delivers the verification code with HTML and text parts, from MAIL_FROM, org name from env", async () => {
    const to = address();
    const { messageId } = await sendEmail({ to, template: "verification-code", props: verificationProps });
    expect(messageId).toMatch(/^<[0-9a-z]+\.[0-9a-f]{16}@demo-shop\.example>$/);

    const mail = await testMailbox().waitFor((m) => m.to.includes(to));
    expect(mail.subject).toBe("Your verification code");
    expect(mail.from).toBe("privacy@demo-shop.example");
    expect(mail.html).toContain("904 127");
    expect(mail.html).toContain('href="http://localhost:3000/verify/tok_integration"');
    expect(mail.html).toContain("Demo Shop");
    expect(mail.text).toContain("904 127");
    expect(mail.text).toContain("http://localhost:3000/verify/tok_integration");
    expect(mail.text).not.toMatch(/<\/?[a-z][^>]*>/i);
  });

  it("delivers the acknowledgement with the reference in the subject and the given org name", async () => {
    const to = address();
    await sendEmail({
      to,
      template: "acknowledgement",
      props: {
        orgName: "Acme Outdoor Gear",
        reference: "PR-4HX2-M7QA",
        requestTypeLabel: "Delete my data",
        regimeLabel: "GDPR (EU)",
        dueDate: "2 April 2026",
        statusUrl: "http://localhost:3000/status/st_mailer",
        nextSteps: "We will delete your personal data from each of our systems.",
      },
    });
    const mail = await testMailbox().waitFor((m) => m.to.includes(to));
    expect(mail.subject).toBe("We received your request PR-4HX2-M7QA");
    expect(mail.html).toContain("2 April 2026");
    expect(mail.html).toContain("Acme Outdoor Gear");
    expect(mail.text).toContain("PR-4HX2-M7QA");
    expect(mail.text).toContain("2 April 2026");
    expect(mail.text).not.toContain("Demo Shop");
    expect(mail.text).toContain("http://localhost:3000/status/st_mailer");
    expect(mail.text).toContain("1. We will delete your personal data from each of our systems.");
  });

  it("sends several mails over the one cached transport", async () => {
    const recipients = [address(), address(), address()];
    const results = await Promise.all(
      recipients.map((to) => sendEmail({ to, template: "verification-code", props: verificationProps })),
    );
    expect(new Set(results.map((r) => r.messageId)).size).toBe(3);
    for (const to of recipients) await testMailbox().waitFor((m) => m.to.includes(to));
  });

  it.each(["bare", "portal"] as const)("logs one line per mail with no address, subject or body (%s logger)", async (kind) => {
    const { logger, lines } = collectingLogger(kind);
    const to = address();
    const { messageId } = await sendEmail({ to, template: "verification-code", props: verificationProps }, { logger });
    await testMailbox().waitFor((m) => m.to.includes(to));

    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 30, msg: "email sent", template: "verification-code" });
    expect(typeof entry.durationMs).toBe("number");
    // The left part of the Message-ID, intact even through the redacting logger.
    expect(entry.messageId).toMatch(/^[0-9a-z]+\.[0-9a-f]{16}$/);
    expect(messageId).toBe(`<${String(entry.messageId)}@demo-shop.example>`);
    expect(line).not.toContain(to);
    expect(line).not.toMatch(EMAIL_RE);
    expect(line).not.toContain("Your verification code");
    expect(line).not.toMatch(/904\s?127/);
    expect(line).not.toContain("tok_integration");
  });
});

/** Sends a verification code to `to`, which must fail with a MailerError whose message holds no address at all. */
async function failedSend(mailer: ReturnType<typeof createMailer>, to: string): Promise<MailerError> {
  const error = await mailer
    .send({ to, template: "verification-code", props: verificationProps })
    .then(() => expect.unreachable("sending should fail"), (e: unknown) => e);
  expect(error).toBeInstanceOf(MailerError);
  const e = error as MailerError;
  expect(e.message).not.toContain(to);
  expect(e.message).not.toMatch(EMAIL_RE);
  return e;
}

describe("failures", () => {
  it("rejects with an error that names neither the address nor leaks it in the log when SMTP is unreachable", async () => {
    const { logger, lines } = collectingLogger("bare");
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${await closedPort()}`,
      from: "Privacy Team <privacy@demo-shop.example>",
      orgName: "Demo Shop",
      logger,
      connectionTimeoutMs: 2_000,
    });
    const to = address();
    try {
      const e = await failedSend(mailer, to);
      expect(e.message).toContain("verification-code");
      expect(String(e.stack)).not.toContain(to);
      expect(JSON.stringify(e)).not.toContain(to);
      expect(e.cause).toBeUndefined();
      expect(e.code).toBe("ESOCKET");
      expect(e.permanent).toBe(false);
      expect(lines.join("\n")).not.toContain(to);
    } finally {
      await mailer.close();
    }
  });

  it("keeps the address out of the error when the server refuses the recipient and quotes it back", async () => {
    const refusing = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onRcptTo(rcpt, _session, callback) {
        const error = new Error(`<${rcpt.address}>: Recipient address rejected: mailbox unavailable`) as Error & {
          responseCode: number;
        };
        error.responseCode = 550;
        callback(error);
      },
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    const { port } = refusing.server.address() as AddressInfo;
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}`, from: "privacy@demo-shop.example", orgName: "Demo Shop" });
    const to = address();
    try {
      const e = await failedSend(mailer, to);
      expect(e.message).toMatch(/rejected/i);
      expect(e.responseCode).toBe(550);
      expect(e.permanent).toBe(true);
    } finally {
      await mailer.close();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it("refuses header injection and malformed recipients without echoing them", async () => {
    for (const to of ["victim@example.com\r\nBcc: list@example.org", "a@b.example, c@d.example", "not-an-address", ""]) {
      const error = await sendEmail({ to, template: "verification-code", props: verificationProps }).then(
        () => expect.unreachable("sending should fail"),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MailerError);
      expect((error as MailerError).message).not.toMatch(EMAIL_RE);
      expect((error as MailerError).permanent).toBe(true);
    }
  });
});

describe("dev mailbox", () => {
  it("lists caught mails newest first and shows one by id; malformed or unknown ids are 404", async () => {
    const { loader: listLoader } = await import("#app/routes/dev.mailbox.tsx");
    const { loader: messageLoader } = await import("#app/routes/dev.mailbox.$id.tsx");
    const mailer = createMailer({ smtpUrl: fileCatcher.url, from: "privacy@demo-shop.example", orgName: "Demo Shop" });
    const first = address();
    const second = address();
    try {
      await mailer.send({ to: first, template: "verification-code", props: verificationProps });
      await fileCatcher.waitFor((m) => m.to.includes(first));
      await new Promise((resolve) => setTimeout(resolve, 5)); // distinct file-name timestamps
      await mailer.send({
        to: second,
        template: "acknowledgement",
        props: {
          reference: "PR-DEV1-BOX2",
          requestTypeLabel: "Access",
          regimeLabel: "GDPR (EU)",
          dueDate: "1 May 2026",
          statusUrl: "http://localhost:3000/status/st_devbox",
          nextSteps: "We will gather a copy of your data.",
        },
      });
      await fileCatcher.waitFor((m) => m.to.includes(second));
    } finally {
      await mailer.close();
    }

    const request = new Request("http://localhost:3000/dev/mailbox");
    const context = { cspNonce: "test-nonce", clientIp: "127.0.0.1" };
    const listResponse = (await listLoader({ request, params: {}, context })) as Response;
    expect(listResponse.headers.get("Cache-Control")).toBe("no-store");
    const list = (await listResponse.json()) as { messages: { id: string; to: string; subject: string; date: string }[] };
    expect(list.messages.map((m) => m.to)).toEqual([second, first]);
    expect(list.messages[0]!.subject).toBe("We received your request PR-DEV1-BOX2");

    const id = list.messages[0]!.id;
    expect(id).toMatch(/^[0-9]+-[0-9a-f]{8}$/);
    const one = (await (
      (await messageLoader({ request: new Request(`${request.url}/${id}`), params: { id }, context })) as Response
    ).json()) as { subject: string; to: string; text: string; html: string };
    expect(one.to).toBe(second);
    expect(one.subject).toBe("We received your request PR-DEV1-BOX2");
    expect(one.text).toContain("1 May 2026");
    expect(one.html).toContain("PR-DEV1-BOX2");

    for (const bad of ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", `${id}.eml`, id.toUpperCase().replace(/^(\d+)-/, "$1-X"), "1-deadbeef", ""]) {
      const thrown = await messageLoader({ request, params: { id: bad }, context }).then(
        () => expect.unreachable(`id ${bad} should be refused`),
        (e: unknown) => e,
      );
      expect(thrown).toBeInstanceOf(Response);
      expect((thrown as Response).status).toBe(404);
    }
    expect(await readMailboxMessage(mailboxDir, "../mailbox")).toBeNull();
  });
});
