/** The test file's own SMTP listener (started in tests/setup/file.ts); every email the code sends lands here. */
import type { MailCatcher } from "#app/utils/mail-catcher.server.ts";

let current: MailCatcher | undefined;

export function setTestMailbox(m: MailCatcher) {
  current = m;
}

export function testMailbox(): MailCatcher {
  if (!current) throw new Error("The test SMTP listener is not running (tests/setup/file.ts did not run)");
  return current;
}
