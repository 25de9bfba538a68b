/**
 * `npm test [-- <vitest args>]`: the whole check, the same on a laptop and in CI.
 *
 *   1. bash scripts/services.sh --chromium   PostgreSQL, Redis, MariaDB up (started/installed if needed), Chromium present
 *   2. npm run build                         the Remix production build the end-to-end tests serve
 *   3. npx vitest run <args>                 every test file, reporters `default` + `json` (.cache/vitest-results-<pid>.json,
 *                                            one per run, so two runs on one checkout never read each other's report)
 *
 * and ends with exactly one line `N passed, N failed`, counted from the JSON report: individual tests, plus every
 * test file that failed outside a test (import error, failing hook) so a crashing file is never silent. The exit
 * code is non-zero when anything failed or when no test ran at all.
 *
 * TEST_SKIP_BUILD=1 skips step 2 (quick unit-test loops; the end-to-end tests need a current build).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const resultsFile = join(root, ".cache", `vitest-results-${process.pid}.json`);

type AssertionResult = { status: string; fullName?: string };
type FileResult = { name: string; status: string; message?: string; assertionResults?: AssertionResult[] };
type JsonReport = { numTotalTests?: number; testResults?: FileResult[] };

export type Summary = { passed: number; failed: number; notes: string[] };

/** Counts a vitest JSON report; `exitCode` is vitest's, so errors the report does not show still count. */
export function summarize(report: JsonReport | undefined, exitCode: number): Summary {
  const notes: string[] = [];
  let passed = 0;
  let failed = 0;
  for (const file of report?.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    const failedTests = tests.filter((t) => t.status === "failed").length;
    passed += tests.filter((t) => t.status === "passed").length;
    failed += failedTests;
    if (file.status === "failed" && failedTests === 0) {
      // The file itself broke: it did not load, or a hook outside the tests threw.
      failed += 1;
      notes.push(`file failed outside its tests: ${file.name.replace(root, "")}`);
    }
  }
  if (exitCode !== 0 && failed === 0) {
    failed = 1;
    notes.push(
      report
        ? `vitest exited with code ${exitCode} though no test failed (an error outside any test or no test files matched — see above)`
        : `vitest exited with code ${exitCode} without writing a report (it crashed before running tests — see above)`,
    );
  }
  return { passed, failed, notes };
}

function run(command: string, args: string[]): number {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.error) {
    console.error(`test: could not run ${command}: ${result.error.message}`);
    return 127;
  }
  if (result.signal) return 128 + (constants.signals[result.signal] ?? 0);
  return result.status ?? 1;
}

function finish(summary: Summary, ok: boolean): never {
  for (const note of summary.notes) console.error(`test: ${note}`);
  console.log(`${summary.passed} passed, ${summary.failed} failed`);
  process.exit(ok ? 0 : 1);
}

function main(args: string[]): never {
  if (run("bash", ["scripts/services.sh", "--chromium"]) !== 0) {
    finish({ passed: 0, failed: 1, notes: ["scripts/services.sh failed, so no test ran (see above)"] }, false);
  }
  if (process.env.TEST_SKIP_BUILD !== "1" && run("npm", ["run", "build"]) !== 0) {
    finish({ passed: 0, failed: 1, notes: ["npm run build failed, so no test ran (see above)"] }, false);
  }

  mkdirSync(join(root, ".cache"), { recursive: true });
  rmSync(resultsFile, { force: true }); // never read a previous run's report
  const code = run("npx", [
    "--no-install",
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${resultsFile}`,
    ...args,
  ]);

  let report: JsonReport | undefined;
  if (existsSync(resultsFile)) {
    try {
      report = JSON.parse(readFileSync(resultsFile, "utf8")) as JsonReport;
    } catch (error) {
      console.error(`test: could not read ${resultsFile}: ${(error as Error).message}`);
    }
  }
  rmSync(resultsFile, { force: true });
  const summary = summarize(report, code);
  if (summary.passed + summary.failed === 0) {
    summary.notes.push("no test ran");
    finish(summary, false);
  }
  finish(summary, summary.failed === 0 && code === 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
