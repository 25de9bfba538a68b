/**
 * Every email the requester receives, sent through sendEmail to the test file's real SMTP listener; and the emails
 * that need a reason refused before any SMTP traffic when it is blank (proved with a listener that counts connections).
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, describe, expect, it } from "vitest";
import { requiredText, type RequiredText } from "#app/emails/components/required-text.ts";
import {
  EmailContentError,
  closeMailer,
  createMailer,
  sendEmail,
  type EmailMessage,
  type TemplateName,
} from "#app/utils/mailer.server.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

const HTML_TAG = /<\/?[a-z!][^>]*>/i;
let counter = 0;
const address = () => `requester+${process.pid}-${++counter}@customer-mail.example`;
const statusUrl = "http://localhost:3000/status/st_integration";

afterAll(async () => {
  await closeMailer();
});

type Sent = { [N in TemplateName]: { message: Omit<EmailMessage<N>, "to">; subject: string; expect: string[]; html?: string[] } }[TemplateName];

const sends: Sent[] = [
  {
    message: {
      template: "verification-code",
      props: { code: "731904", verifyUrl: "http://localhost:3000/verify/tok_i", expiresInMinutes: 15, requestTypeLabel: "Access my data" },
    },
    subject: "Your verification code",
    expect: ["731 904", "http://localhost:3000/verify/tok_i"],
  },
  {
    message: {
      template: "acknowledgement",
      props: {
        reference: "PR-INT1-ACK1",
        requestTypeLabel: "Delete my data",
        regimeLabel: "GDPR",
        dueDate: "2 April 2026",
        statusUrl,
        nextSteps: "We will delete your personal data from each of our systems, unless the law says we must keep it.",
      },
    },
    subject: "We received your request PR-INT1-ACK1",
    expect: ["PR-INT1-ACK1", "2 April 2026", statusUrl, "unless the law says we must keep it"],
  },
  {
    message: {
      template: "more-information",
      props: {
        reference: "PR-INT1-MORE",
        requestTypeLabel: "Access my data",
        message: requiredText("Please tell us the postcode of your last delivery address."),
        respondUrl: statusUrl,
        dueDate: "3 April 2026",
      },
    },
    subject: "More information needed for your request PR-INT1-MORE",
    expect: ["PR-INT1-MORE", "postcode of your last delivery address", "3 April 2026", statusUrl],
  },
  {
    message: {
      template: "extension-notice",
      props: {
        reference: "PR-INT1-EXTN",
        requestTypeLabel: "Export my data",
        originalDueDate: "4 April 2026",
        newDueDate: "4 June 2026",
        reason: requiredText("Your records are in an archive we must restore first."),
        statusUrl,
      },
    },
    subject: "We need more time for your request PR-INT1-EXTN",
    expect: ["PR-INT1-EXTN", "4 April 2026", "4 June 2026", "an archive we must restore first", statusUrl],
  },
  {
    message: {
      template: "denial",
      props: {
        reference: "PR-INT1-DENY",
        requestTypeLabel: "Delete my data",
        reason: requiredText("We must keep your account while your subscription is active."),
        regimeLabel: "GDPR",
        complaintInfo: { kind: "authority", authorityName: "the Data Protection Commission (Ireland)", authorityUrl: "https://forms.dataprotection.ie/contact" },
        statusUrl,
      },
    },
    subject: "Our decision on your request PR-INT1-DENY",
    expect: ["PR-INT1-DENY", "while your subscription is active", "Data Protection Commission (Ireland)", "https://forms.dataprotection.ie/contact", statusUrl],
  },
  {
    message: {
      template: "completion",
      props: {
        reference: "PR-INT1-DONE",
        requestTypeLabel: "Delete my data",
        kind: "deletion",
        statusUrl,
        erasureSummary: [{ store: "Shop database", deleted: 7, masked: 2, kept: 1, keptReasons: ["Tax records are kept for 6 years."] }],
      },
    },
    subject: "Your request PR-INT1-DONE is complete",
    expect: ["PR-INT1-DONE", "Shop database: 7 records deleted, 2 records masked, 1 record kept.", "Tax records are kept for 6 years.", statusUrl],
    html: ["PR-INT1-DONE", "<strong>Shop database</strong>", "<li>Tax records are kept for 6 years.</li>", `href="${statusUrl}"`],
  },
  {
    message: {
      template: "agent-confirmation",
      props: {
        reference: "PR-INT1-AGNT",
        requestTypeLabel: "Do not sell or share my data",
        agentName: "Sam Agent",
        confirmUrl: "http://localhost:3000/agent/confirm/ag_int",
        expiresInMinutes: 2880,
      },
    },
    subject: "Please confirm someone may act for you on request PR-INT1-AGNT",
    expect: ["PR-INT1-AGNT", "Sam Agent", "http://localhost:3000/agent/confirm/ag_int", "2 days"],
  },
];

describe("every requester email over SMTP", () => {
  it.each(sends.map((s) => [s.message.template, s] as const))("delivers %s with subject, HTML and text", async (_name, s) => {
    const to = address();
    const { messageId } = await sendEmail({ to, ...s.message } as EmailMessage<TemplateName>);
    expect(messageId).toMatch(/@demo-shop\.example>$/);

    const mail = await testMailbox().waitFor((m) => m.to.includes(to));
    expect(mail.subject).toBe(s.subject);
    expect(mail.subject).not.toContain(to);
    expect(mail.from).toBe("privacy@demo-shop.example");
    expect(mail.html).toContain("Demo Shop");
    expect(mail.text).toContain("Demo Shop");
    expect(mail.text).not.toMatch(HTML_TAG);
    for (const value of s.expect) expect(mail.text).toContain(value);
    for (const value of s.html ?? s.expect) expect(mail.html).toContain(value);
  });
});

describe("blank reasons", () => {
  const blankCases = [
    {
      template: "denial",
      props: {
        reference: "PR-INT2-DENY",
        requestTypeLabel: "Delete my data",
        regimeLabel: "UK GDPR",
        complaintInfo: { kind: "authority", authorityName: "the ICO", authorityUrl: "https://ico.org.uk/make-a-complaint/" },
        statusUrl,
      },
      field: "reason",
    },
    {
      template: "extension-notice",
      props: { reference: "PR-INT2-EXTN", requestTypeLabel: "Access my data", originalDueDate: "1 May 2026", newDueDate: "1 July 2026", statusUrl },
      field: "reason",
    },
    {
      template: "more-information",
      props: { reference: "PR-INT2-MORE", requestTypeLabel: "Access my data", respondUrl: statusUrl, dueDate: "1 May 2026" },
      field: "message",
    },
  ] as const;

  it.each(blankCases)("sendEmail refuses $template with a blank $field and nothing reaches the test mailbox", async ({ template, props, field }) => {
    const before = testMailbox().messages.length;
    for (const blank of ["", "   ", "\n\t \r\n"]) {
      const to = address();
      const message = { to, template, props: { ...props, [field]: blank as RequiredText } } as EmailMessage<TemplateName>;
      const error = await sendEmail(message).then(
        () => expect.unreachable("a blank text must be refused"),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EmailContentError);
      expect((error as EmailContentError).field).toBe(field);
      expect((error as EmailContentError).permanent).toBe(true);
      expect((error as EmailContentError).message).not.toContain(to);
    }
    // A valid mail sent afterwards arrives; the refused ones never did.
    const to = address();
    await sendEmail({ to, template, props: { ...props, [field]: requiredText("Real text.") } } as EmailMessage<TemplateName>);
    await testMailbox().waitFor((m) => m.to.includes(to));
    expect(testMailbox().messages.length).toBe(before + 1);
  });

  it("opens no SMTP connection for a blank reason (a listener counting connections sees none)", async () => {
    let connections = 0;
    let messages = 0;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onConnect(_session, callback) {
        connections += 1;
        callback();
      },
      onData(stream, _session, callback) {
        stream.resume();
        stream.on("end", () => {
          messages += 1;
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.server.address() as AddressInfo;
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}`, from: "privacy@demo-shop.example", orgName: "Demo Shop" });
    try {
      for (const { template, props, field } of blankCases) {
        const error = await mailer
          .send({ to: address(), template, props: { ...props, [field]: "  " as RequiredText } } as EmailMessage<TemplateName>)
          .then(() => expect.unreachable("a blank text must be refused"), (e: unknown) => e);
        expect(error).toBeInstanceOf(EmailContentError);
      }
      expect(connections).toBe(0);
      expect(messages).toBe(0);

      // The counter works: one valid mail is one connection and one message.
      const { template, props, field } = blankCases[0];
      await mailer.send({ to: address(), template, props: { ...props, [field]: requiredText("A real reason.") } });
      expect(connections).toBe(1);
      expect(messages).toBe(1);
    } finally {
      await mailer.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
