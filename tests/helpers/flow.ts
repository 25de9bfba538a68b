/** Helpers shared by the request-flow tests: read the code out of a real email, wait for a condition. */
import type { CaughtMail } from "#app/utils/mail-catcher.server.ts";
import { testMailbox } from "#tests/setup/mailbox.ts";

export function uniqueEmail(tag: string) {
  return `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** The code from the link in a verification email (the link carries the same secret as the 6 digits). */
export function codeFromMail(mail: CaughtMail): string {
  const m = /\/verify\/(\d{6})\b/.exec(mail.text) ?? /\/verify\/(\d{6})\b/.exec(mail.html);
  if (!m) throw new Error("no verification link in the email");
  return m[1]!;
}

export function linkFromMail(mail: CaughtMail): string {
  const m = /(https?:\/\/[^\s"<>]+\/verify\/\d{6})/.exec(mail.text);
  if (!m) throw new Error("no verification link in the email");
  return m[1]!;
}

export function verificationMailFor(email: string, timeoutMs = 15_000, skip = 0) {
  return testMailbox().waitFor((m) => m.to.includes(email) && /\/verify\/\d{6}/.test(m.text) && skip-- <= 0, timeoutMs);
}

export function acknowledgementMailFor(email: string, reference: string, timeoutMs = 15_000) {
  return testMailbox().waitFor((m) => m.to.includes(email) && m.subject.includes(reference), timeoutMs);
}

export function mailsTo(email: string) {
  return testMailbox().messages.filter((m) => m.to.includes(email));
}

export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The private status-page link from an acknowledgement email. */
export function statusLinkFromMail(mail: CaughtMail): string {
  const m = /(https?:\/\/[^\s"<>]+\/status\/[A-Za-z0-9_-]{43})/.exec(mail.text);
  if (!m) throw new Error("no status link in the email");
  return m[1]!;
}
