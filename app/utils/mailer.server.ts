/**
 * Every email the portal sends: a registry of react-email templates (typed props, a subject per template), rendering
 * to HTML + plain text, and delivery over real SMTP with nodemailer.
 *
 * Privacy rules kept here, not left to the logger: a log line names the template, the message id and the duration,
 * never an address, a subject or a body; errors thrown to the job layer never carry the recipient's address.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { render } from "@react-email/render";
import nodemailer from "nodemailer";
import type { Transporter } from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import type { Logger } from "pino";
import { createElement, type ComponentProps, type ComponentType } from "react";
import Acknowledgement from "#app/emails/acknowledgement.tsx";
import AgentConfirmation from "#app/emails/agent-confirmation.tsx";
import Completion from "#app/emails/completion.tsx";
import DeadlineDigest, { digestCount, reminders } from "#app/emails/deadline-digest.tsx";
import { isRequiredText, type RequiredText } from "#app/emails/components/required-text.ts";
// Callers build RequiredText props (denial/extension reasons, staff messages) with requiredText().
export { BlankTextError, requiredText, type RequiredText } from "#app/emails/components/required-text.ts";
import Denial from "#app/emails/denial.tsx";
import ExtensionNotice from "#app/emails/extension-notice.tsx";
import MoreInformation from "#app/emails/more-information.tsx";
import RequestExpired from "#app/emails/request-expired.tsx";
import StaffInvitation from "#app/emails/staff-invitation.tsx";
import AnswerReceived from "#app/emails/answer-received.tsx";
import DownloadCode from "#app/emails/download-code.tsx";
import VerificationCode from "#app/emails/verification-code.tsx";
import { getEnv } from "#app/utils/env.server.ts";
import { logger as rootLogger, scrubString } from "#app/utils/logger.server.ts";
import { parseMail, type CaughtMail } from "#app/utils/mail-catcher.server.ts";

// ---------------------------------------------------------------------------------------------------------------
// Templates

/**
 * Template name → component. Adding an email = one file in app/emails, one line here, one subject below, and its
 * `RequiredText` props (if any) in `requiredTexts`.
 */
export const templates = {
  "verification-code": VerificationCode,
  acknowledgement: Acknowledgement,
  "more-information": MoreInformation,
  "extension-notice": ExtensionNotice,
  denial: Denial,
  completion: Completion,
  "agent-confirmation": AgentConfirmation,
  "request-expired": RequestExpired,
  "deadline-digest": DeadlineDigest,
  "staff-invitation": StaffInvitation,
  "answer-received": AnswerReceived,
  "download-code": DownloadCode,
} as const;

export type TemplateName = keyof typeof templates;
export type TemplateProps<N extends TemplateName> = ComponentProps<(typeof templates)[N]>;

/**
 * Subjects carry no personal data: no names (not even an agent's), no addresses, no codes, no staff text. The request
 * reference is a random token, not personal data, and lets the requester tell their requests apart.
 */
export const subjects: { [N in TemplateName]: (props: TemplateProps<N>) => string } = {
  "verification-code": () => "Your verification code",
  acknowledgement: (props) => `We received your request ${props.reference}`,
  "more-information": (props) => `More information needed for your request ${props.reference}`,
  "extension-notice": (props) => `We need more time for your request ${props.reference}`,
  denial: (props) => `Our decision on your request ${props.reference}`,
  completion: (props) => `Your request ${props.reference} is complete`,
  "agent-confirmation": (props) => `Please confirm someone may act for you on request ${props.reference}`,
  "request-expired": (props) =>
    props.reason === "not_verified" ? `Your request ${props.reference} has expired` : `Your request ${props.reference} has been closed`,
  // Staff email: counts and the day only; the references are in the body.
  "deadline-digest": (props) => `Deadline digest for ${props.dayLabel}: ${reminders(digestCount(props.sections))}`,
  // Staff email: the organisation only; the link is in the body.
  "staff-invitation": (props) => `Your invitation to the ${props.orgName} privacy team`,
  // Staff email: the reference only.
  "answer-received": (props) => `The requester answered: ${props.reference} is back in review`,
  "download-code": (props) => `Your code to download your data (${props.reference})`,
};

/** The props of template N typed `RequiredText` (text the email cannot go out without). */
type RequiredTextKeys<N extends TemplateName> = {
  [K in keyof TemplateProps<N>]-?: TemplateProps<N>[K] extends RequiredText ? K : never;
}[keyof TemplateProps<N>];

/**
 * Which props must hold more than whitespace, checked at runtime before rendering. The type makes this list complete:
 * a template that gains a `RequiredText` prop does not compile until the prop is listed here.
 */
export const requiredTexts: { [N in TemplateName]: Record<RequiredTextKeys<N>, true> } = {
  "verification-code": {},
  acknowledgement: {},
  "more-information": { message: true },
  "extension-notice": { reason: true },
  denial: { reason: true },
  completion: {},
  "agent-confirmation": {},
  "request-expired": {},
  "deadline-digest": {},
  "staff-invitation": {},
  "answer-received": {},
  "download-code": {},
};

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(templates, name);
}

export type RenderedEmail = { subject: string; html: string; text: string };

/** Throws EmailContentError when a `RequiredText` prop of `name` is missing, not a string, or only whitespace. */
export function assertEmailContent<N extends TemplateName>(name: N, props: TemplateProps<N>): void {
  const values = props as Record<string, unknown>;
  for (const field of Object.keys(requiredTexts[name])) {
    if (!isRequiredText(values[field])) throw new EmailContentError(name, field);
  }
}

/** Subject, HTML and plain text of one email. Throws EmailContentError (before rendering) for a blank required text. */
export async function renderEmail<N extends TemplateName>(name: N, props: TemplateProps<N>): Promise<RenderedEmail> {
  assertEmailContent(name, props);
  // The registry is a correlated union TypeScript cannot narrow by `name`; the signature above keeps callers exact.
  const Component = templates[name] as ComponentType<object>;
  const subject = subjects[name] as (p: TemplateProps<N>) => string;
  const element = createElement(Component, props as object);
  const [html, text] = await Promise.all([render(element), render(element, { plainText: true })]);
  return { subject: subject(props), html, text };
}

// ---------------------------------------------------------------------------------------------------------------
// Sending

/** What a caller passes: `orgName` may be left out, and then the mailer's organisation name (env ORG_NAME) is used. */
export type EmailProps<N extends TemplateName> = Omit<TemplateProps<N>, "orgName"> & { orgName?: string };

export type EmailMessage<N extends TemplateName> = { to: string; template: N; props: EmailProps<N> };

export type SentEmail = { messageId: string };

/**
 * A failed send. The message names the template and the SMTP failure, never the recipient. `permanent` is true
 * when the server refused the message for good (a 5xx reply), so retrying is pointless.
 */
export class MailerError extends Error {
  override readonly name: string = "MailerError";
  readonly template: string;
  readonly code: string | undefined;
  readonly responseCode: number | undefined;
  readonly command: string | undefined;
  readonly permanent: boolean;

  constructor(
    message: string,
    details: { template: string; code?: string; responseCode?: number; command?: string; permanent?: boolean },
  ) {
    super(message);
    this.template = details.template;
    this.code = details.code;
    this.responseCode = details.responseCode;
    this.command = details.command;
    this.permanent = details.permanent ?? (details.responseCode !== undefined && details.responseCode >= 500);
  }
}

/**
 * An email that must not go out as asked: a required text (a denial's or an extension's reason, a staff message) is
 * missing or blank. Thrown by renderEmail, so sendEmail throws it before opening any SMTP connection. Permanent: a
 * retry sends the same blank text. The message names the template and the field, never a value.
 */
export class EmailContentError extends MailerError {
  override readonly name: string = "EmailContentError";
  readonly field: string;

  constructor(template: string, field: string) {
    super(`The "${template}" email cannot be sent without its ${field}: it is missing or blank`, {
      template,
      code: "EBLANKTEXT",
      permanent: true,
    });
    this.field = field;
  }
}

export type MailerOptions = {
  /** smtp:// or smtps:// URL, credentials and nodemailer options (e.g. `?pool=true`) included. */
  smtpUrl: string;
  /** The From header, e.g. `Privacy Team <privacy@shop.example>`. */
  from: string;
  /** Default for the templates' `orgName` prop. */
  orgName: string;
  logger?: Logger;
  /** Milliseconds; defaults keep a stuck SMTP server from holding a job for minutes. */
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
};

export type SendOptions = { logger?: Logger };

export type Mailer = {
  send<N extends TemplateName>(message: EmailMessage<N>, options?: SendOptions): Promise<SentEmail>;
  close(): Promise<void>;
};

/**
 * The left part of our Message-IDs: "<base36 time>.<16 hex>". Unique, and shaped so that it survives the logger's
 * scrubbing (no "@", no 6-digit run, no 32+ character token), so the log line can name the mail it is about.
 */
function newMessageLocalPart(): string {
  return `${Date.now().toString(36)}.${randomBytes(8).toString("hex")}`;
}

/** The domain of the From address, for the right part of the Message-ID. */
function senderDomain(from: string): string {
  return /@([A-Za-z0-9.-]+)\s*>?\s*$/.exec(from)?.[1] ?? "privacy-portal.invalid";
}

function assertRecipient(to: unknown, template: string): asserts to is string {
  // One plain address; CR/LF or several recipients are a caller bug. The message never repeats the value.
  if (typeof to !== "string" || to.length > 320 || /[\r\n,;<>]/.test(to) || !/^[^@\s]+@[^@\s]+$/.test(to.trim())) {
    throw new MailerError(`Sending the "${template}" email failed: the recipient address is not valid`, {
      template,
      code: "EINVALIDRECIPIENT",
      permanent: true,
    });
  }
}

function safeErrorMessage(error: unknown, to: string): string {
  const raw = error instanceof Error ? error.message : String(error);
  // The literal address first (covers what the generic pattern may miss, e.g. non-ASCII addresses), then patterns.
  const withoutAddress = to ? raw.replace(new RegExp(escapeRegExp(to.trim()), "gi"), "[recipient]") : raw;
  return scrubString(withoutAddress);
}

function escapeRegExp(value: string) {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function createMailer(options: MailerOptions): Mailer {
  const baseLogger = options.logger ?? rootLogger.child({ module: "mailer" });
  let transport: Transporter<SMTPTransport.SentMessageInfo> | undefined;
  const domain = senderDomain(options.from);

  const getTransport = () => {
    transport ??= nodemailer.createTransport({
      url: options.smtpUrl,
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      greetingTimeout: options.connectionTimeoutMs ?? 10_000,
      socketTimeout: options.socketTimeoutMs ?? 30_000,
      // Messages are built only from rendered templates: never let content pull in local files or remote URLs.
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
      debug: false,
    } satisfies SMTPTransport.Options);
    return transport;
  };

  return {
    async send<N extends TemplateName>(message: EmailMessage<N>, sendOptions: SendOptions = {}): Promise<SentEmail> {
      const { to, template } = message;
      const log = sendOptions.logger ?? baseLogger;
      if (!isTemplateName(template)) throw new MailerError("Unknown email template", { template: String(template), permanent: true });
      assertRecipient(to, template);

      const startedAt = performance.now();
      const props = { ...message.props, orgName: message.props.orgName ?? options.orgName } as TemplateProps<N>;
      const { subject, html, text } = await renderEmail(template, props);
      const localId = newMessageLocalPart();
      try {
        const info = await getTransport().sendMail({
          from: options.from,
          to: to.trim(),
          subject,
          html,
          text,
          messageId: `<${localId}@${domain}>`,
        });
        const durationMs = Math.round(performance.now() - startedAt);
        // Only the left part of the Message-ID: the whole "<x@domain>" looks like an address to any log scrubber.
        log.info({ template, messageId: localId, durationMs }, "email sent");
        return { messageId: info.messageId };
      } catch (error) {
        const durationMs = Math.round(performance.now() - startedAt);
        const e = (error ?? {}) as { code?: unknown; responseCode?: unknown; command?: unknown };
        const details = {
          template,
          code: typeof e.code === "string" ? e.code : undefined,
          responseCode: typeof e.responseCode === "number" ? e.responseCode : undefined,
          command: typeof e.command === "string" ? e.command : undefined,
        };
        log.warn({ template, durationMs, code: details.code, responseCode: details.responseCode }, "email not sent");
        // No `cause`: the original error's message and properties may quote the recipient.
        throw new MailerError(`Sending the "${template}" email failed: ${safeErrorMessage(error, to)}`, details);
      }
    },

    async close() {
      transport?.close();
      transport = undefined;
    },
  };
}

let defaultMailer: Mailer | undefined;

function getDefaultMailer(): Mailer {
  if (!defaultMailer) {
    const env = getEnv();
    defaultMailer = createMailer({ smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, orgName: env.ORG_NAME });
  }
  return defaultMailer;
}

/** Renders `template` with `props` and sends it to `to` over env SMTP_URL, from env MAIL_FROM. Throws MailerError. */
export function sendEmail<N extends TemplateName>(message: EmailMessage<N>, options?: SendOptions): Promise<SentEmail> {
  return getDefaultMailer().send(message, options);
}

/** Closes the shared transport (worker/web shutdown, end of a test file). The next sendEmail opens a new one. */
export async function closeMailer(): Promise<void> {
  const mailer = defaultMailer;
  defaultMailer = undefined;
  await mailer?.close();
}

// ---------------------------------------------------------------------------------------------------------------
// Dev mailbox (/dev/mailbox): the .eml files the local SMTP catcher writes

/** Ids the mail catcher gives its files: `<epoch ms>-<8 hex>`. Anything else never touches the file system. */
export const MAILBOX_ID_RE = /^[0-9]+-[0-9a-f]{8}$/;

/** One message of the dev mailbox, or null when the id is malformed or no such message exists. */
export async function readMailboxMessage(dir: string, id: string): Promise<CaughtMail | null> {
  if (!MAILBOX_ID_RE.test(id)) return null;
  let raw: Buffer;
  try {
    raw = await readFile(join(dir, `${id}.eml`));
  } catch {
    return null;
  }
  return parseMail(raw, id);
}
