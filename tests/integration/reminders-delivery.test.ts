/**
 * Digest delivery when the mail server refuses some recipients: against a real SMTP listener of this file (it
 * refuses the addresses the test names, like a server with a full mailbox would), the run fails so the job retries,
 * and the retries send only the digests still missing — nobody gets the same reminders twice.
 */
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, describe, expect, it } from "vitest";
import { DigestDeliveryError, reminderSettings, runDeadlineReminders } from "#app/models/reminders.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { reminderDigests, remindersSent } from "#db/schema/index.ts";
import { eq } from "drizzle-orm";
import { closeConnections } from "#tests/helpers/worker.ts";
import { addRequest, addStaff, at, resetWorld } from "./schedules-fixtures.ts";

const refused = new Set<string>();
const received: { to: string; subject: string }[] = [];
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  onRcptTo(address, _session, callback) {
    if (refused.has(address.address)) {
      const error = new Error("mailbox unavailable") as Error & { responseCode: number };
      error.responseCode = 450; // temporary: try again later
      return callback(error);
    }
    callback();
  },
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((mail) => {
        for (const r of session.envelope.rcptTo) received.push({ to: r.address, subject: mail.subject ?? "" });
        callback();
      })
      .catch(callback);
  },
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
const port = (server.server.address() as { port: number }).port;
process.env.SMTP_URL = `smtp://127.0.0.1:${port}`; // before anything reads the configuration

const db = getDb();

afterAll(async () => {
  await closeConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("digest delivery with a partly refusing mail server", () => {
  it("fails the run, and the retries send only the missing digests", async () => {
    expect(getEnv().SMTP_URL).toBe(`smtp://127.0.0.1:${port}`);
    await resetWorld(db);
    const [a, p, b] = [await addStaff(db, "admin"), await addStaff(db, "processor"), await addStaff(db, "admin", "refused")];
    const r = await addRequest(db, { receivedAt: "2026-02-02T10:00:00Z" }); // due 2 March
    refused.add(b.email);
    const settings = reminderSettings(getEnv(), { timeZone: "UTC" });
    const clock = at("2026-02-26T08:00:00Z");

    await expect(runDeadlineReminders(db, { clock, settings })).rejects.toBeInstanceOf(DigestDeliveryError);
    const [row] = await db.select().from(remindersSent).where(eq(remindersSent.requestId, r.id));
    expect(row!.notifiedAt).toBeNull();
    const served = async () => (await db.select().from(reminderDigests).where(eq(reminderDigests.day, "2026-02-26"))).map((d) => d.staffId).sort();
    expect(await served()).toEqual([a.id, p.id].sort());

    // The job's retry, still refused: nothing new for the others.
    await expect(runDeadlineReminders(db, { clock: at("2026-02-26T08:01:00Z"), settings })).rejects.toThrow(/1 deadline digest/);
    // The mailbox has room again.
    refused.clear();
    const ok = await runDeadlineReminders(db, { clock: at("2026-02-26T08:05:00Z"), settings });
    expect(ok).toMatchObject({ digests: 1, delivered: 1, failedDigests: 0 });
    expect(await runDeadlineReminders(db, { clock: at("2026-02-26T09:00:00Z"), settings })).toMatchObject({ pending: 0, digests: 0 });

    const to = (email: string) => received.filter((m) => m.to === email && m.subject.startsWith("Deadline digest"));
    expect(to(a.email)).toHaveLength(1);
    expect(to(p.email)).toHaveLength(1);
    expect(to(b.email)).toHaveLength(1);
    const [done] = await db.select().from(remindersSent).where(eq(remindersSent.requestId, r.id));
    expect(await served()).toEqual([a.id, p.id, b.id].sort());
    expect(done!.notifiedAt).not.toBeNull();
  });
});
