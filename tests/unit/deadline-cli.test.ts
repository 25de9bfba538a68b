/**
 * `npm run portal -- deadline`: the real command as a child process, with an environment that has no secrets and no
 * reachable database (the command needs neither). Each child costs a TypeScript start-up, so the grammar of
 * --received is tested in-process and the children cover each path once.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseReceived } from "#scripts/commands/deadline.ts";

type Run = { code: number | null; stdout: string; stderr: string };

function portal(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/portal.ts", ...args], {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH ?? "",
        NODE_ENV: "test", // and no .env is read
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const deadline = (args: string, env?: Record<string, string>) => portal(["deadline", ...args.split(" ").filter(Boolean)], env);

/** A successful run: one JSON line on stdout, nothing on stderr. */
function json(run: Run) {
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect(run.stdout.endsWith("\n")).toBe(true);
  expect(run.stdout.trimEnd().split("\n")).toHaveLength(1);
  return JSON.parse(run.stdout) as Record<string, string | null>;
}

/** A refused run: nothing on stdout, one message on stderr naming `mention`. */
function refused(run: Run, mention: RegExp, code = 64) {
  expect(run.stdout).toBe("");
  expect(run.code).toBe(code);
  expect(run.stderr).toMatch(mention);
  expect(run.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
}

describe("--received", () => {
  it("reads instants with Z or an offset, to the millisecond", () => {
    expect(parseReceived("2026-01-31T10:00:00Z", "UTC")?.toISOString()).toBe("2026-01-31T10:00:00.000Z");
    expect(parseReceived("2026-01-31T10:00Z", "UTC")?.toISOString()).toBe("2026-01-31T10:00:00.000Z");
    expect(parseReceived("2026-01-31t10:00:00z", "UTC")?.toISOString()).toBe("2026-01-31T10:00:00.000Z");
    expect(parseReceived("2026-01-31T10:00:00.5Z", "UTC")?.toISOString()).toBe("2026-01-31T10:00:00.500Z");
    expect(parseReceived("2026-01-31T10:00:00.123456789Z", "UTC")?.toISOString()).toBe("2026-01-31T10:00:00.123Z");
    expect(parseReceived("2026-03-05T00:30:00+01:00", "UTC")?.toISOString()).toBe("2026-03-04T23:30:00.000Z");
    expect(parseReceived("2026-03-04T20:30:00-05:30", "UTC")?.toISOString()).toBe("2026-03-05T02:00:00.000Z");
    expect(parseReceived("2024-02-29T12:00:00Z", "UTC")?.toISOString()).toBe("2024-02-29T12:00:00.000Z");
  });

  it("reads a bare date as the start of that day in the zone", () => {
    expect(parseReceived("2026-03-08", "America/Los_Angeles")?.toISOString()).toBe("2026-03-08T08:00:00.000Z");
    expect(parseReceived("2026-03-08", "UTC")?.toISOString()).toBe("2026-03-08T00:00:00.000Z");
  });

  it.each([
    "yesterday",
    "",
    "2026-02-30T10:00:00Z",
    "2025-02-29T10:00:00Z",
    "2026-13-01T10:00:00Z",
    "2026-01-31T10:00:00", // no zone: ambiguous
    "2026-01-31 10:00:00Z",
    "2026-01-31T24:00:00Z",
    "2026-01-31T10:60:00Z",
    "2026-01-31T10:00:60Z",
    "2026-01-31T10:00:00+25:00",
    "2026-01-31T10:00:00+0100",
    "31/01/2026",
    "1769853600000",
  ])("refuses %j", (text) => {
    expect(parseReceived(text, "UTC")).toBeNull();
  });
});

describe("portal deadline", { timeout: 90_000 }, () => {
  it("prints the GDPR deadlines in UTC by default, keys in a fixed order", async () => {
    const run = await deadline("--regime gdpr --type access --received 2026-01-31T10:00:00Z");
    expect(run.stdout).toBe(
      '{"acknowledgeBy":null,"dueAt":"2026-03-02T23:59:59.999+00:00","extendedDueAt":"2026-04-30T23:59:59.999+00:00",' +
        '"extensionNoticeBy":"2026-03-02T23:59:59.999+00:00"}\n',
    );
    json(run);
  });

  it("computes in the zone given by --tz, across DST", async () => {
    expect(json(await deadline("--regime gdpr --type access --received 2026-01-30T23:30:00Z --tz Europe/Berlin"))).toEqual({
      acknowledgeBy: null,
      dueAt: "2026-03-02T23:59:59.999+01:00",
      extendedDueAt: "2026-04-30T23:59:59.999+02:00",
      extensionNoticeBy: "2026-03-02T23:59:59.999+01:00",
    });
  });

  it("applies --holidays (UK Christmas 2026) and the CLI spellings of regimes and types", async () => {
    expect(json(await deadline("--regime uk-gdpr --type deletion --received 2026-11-25T12:00:00Z --holidays 2026-12-25,2026-12-28")).dueAt).toBe(
      "2026-12-29T23:59:59.999+00:00",
    );
    expect(json(await deadline("--regime=ccpa --type=limit-sensitive --received=2026-03-05T12:00:00Z --holidays=2026-03-20"))).toEqual({
      acknowledgeBy: null,
      dueAt: "2026-03-27T23:59:59.999+00:00",
      extendedDueAt: null,
      extensionNoticeBy: null,
    });
  });

  it("prints the CCPA acknowledgement and the 45/90-day deadlines in Los Angeles", async () => {
    expect(
      json(await deadline("--regime ccpa --type access --received 2026-12-22T20:00:00Z --tz America/Los_Angeles --holidays 2026-12-25,2027-01-01")),
    ).toEqual({
      acknowledgeBy: "2027-01-07T23:59:59.999-08:00",
      dueAt: "2027-02-05T23:59:59.999-08:00",
      extendedDueAt: "2027-03-22T23:59:59.999-07:00",
      extensionNoticeBy: "2027-02-05T23:59:59.999-08:00",
    });
  });

  it("accepts an instant with an offset, and a bare date meaning that day in the zone", async () => {
    // 00:30 on 5 March in Berlin is still 4 March in UTC
    expect(json(await deadline("--regime us-state --type opt-out --received 2026-03-05T00:30:00+01:00")).dueAt).toBe("2026-04-18T23:59:59.999+00:00");
    expect(json(await deadline("--regime ccpa --type opt-out --received 2026-03-08 --tz America/Los_Angeles")).dueAt).toBe(
      "2026-03-27T23:59:59.999-07:00",
    );
  });

  it("defaults the zone and holidays from ORG_TIMEZONE and ORG_HOLIDAYS; options win", async () => {
    const env = { ORG_TIMEZONE: "Europe/Berlin", ORG_HOLIDAYS: "2026-04-03,2026-04-06" };
    expect(json(await deadline("--regime gdpr --type access --received 2026-03-02T23:30:00Z", env)).dueAt).toBe("2026-04-07T23:59:59.999+02:00");
    expect(json(await deadline("--regime gdpr --type access --received 2026-03-02T23:30:00Z --tz UTC", env)).dueAt).toBe("2026-04-02T23:59:59.999+00:00");
  });

  it("refuses an unknown regime or type, naming the option and the valid values", async () => {
    refused(await deadline("--regime hipaa --type access --received 2026-01-31T10:00:00Z"), /--regime "hipaa".*gdpr, uk-gdpr, ccpa, us-state/);
    refused(await deadline("--regime gdpr --type complaint --received 2026-01-31T10:00:00Z"), /--type "complaint".*opt-out/);
  });

  it("refuses missing options", async () => {
    refused(await deadline("--regime gdpr --type access"), /--received is required/);
  });

  it("refuses dates it cannot read exactly", async () => {
    refused(await deadline("--regime gdpr --type access --received yesterday"), /--received "yesterday"/);
    refused(await deadline("--regime gdpr --type access --received 2026-02-30T10:00:00Z"), /--received "2026-02-30T10:00:00Z"/);
  });

  it("refuses a bad zone or holiday list, and unknown options", async () => {
    refused(await deadline("--regime gdpr --type access --received 2026-01-31T10:00:00Z --tz Mars/Base"), /--tz "Mars\/Base"/);
    refused(await deadline("--regime gdpr --type access --received 2026-01-31T10:00:00Z --holidays 2026-12-25,2026-13-01"), /--holidays.*2026-13-01/);
    refused(await deadline("--regime gdpr --type access --received 2026-01-31T10:00:00Z --zone UTC"), /--zone/);
  });

  it("refuses a bad ORG_TIMEZONE / ORG_HOLIDAYS as a configuration error (78) naming the key", async () => {
    refused(await deadline("--regime gdpr --type access --received 2026-01-31T10:00:00Z", { ORG_TIMEZONE: "Nowhere" }), /ORG_TIMEZONE/, 78);
    // options that replace the bad key leave nothing to complain about
    json(await deadline("--regime gdpr --type access --received 2026-01-31T10:00:00Z --tz UTC --holidays 2026-12-25", { ORG_TIMEZONE: "Nowhere" }));
  });

  it("explains itself with --help", async () => {
    const own = await deadline("--help");
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(/--regime <gdpr\|uk-gdpr\|ccpa\|us-state>/);
  });
});
