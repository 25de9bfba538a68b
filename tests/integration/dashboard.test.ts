/**
 * The staff dashboard against the real database: requests with known receipt, due, completion and denial instants,
 * every figure asserted by hand — the CCPA §7102 table, the table by type (counts, median and mean days, on-time
 * rate), the open/overdue/due-soon figures at a fixed clock, weekly buckets at ISO-week boundaries in the
 * organisation's zone (America/Los_Angeles, across the March 2025 DST change) — then the page and the CSV export
 * over real HTTP with a signed-in staff session (headers, body, audit event, bad dates).
 */
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { appendEvent } from "#app/models/audit.server.ts";
import { dashboardCsv, loadDashboard, loadPeriodFigures, makePeriod, parsePeriod, presetDays, type Outcomes } from "#app/models/dashboard.server.ts";
import { parseIsoDay } from "#app/models/calendar/civil-date.ts";
import { getDb } from "#db/client.server.ts";
import { requestEvents, requests, type RequestStatus, type RequestType } from "#db/schema/index.ts";
import { webAppForTests } from "#tests/helpers/web.ts";
import { addRequest, addStaff, sessionCookie } from "./console-fixtures.ts";

const TZ = "America/Los_Angeles";
const NOW = new Date("2025-06-01T12:00:00Z");
const options = { clock: () => NOW, timeZone: TZ, dueSoonDays: 7 };
const day = (iso: string) => parseIsoDay(iso)!;
/** Monday 3 March – Sunday 16 March 2025 in Los Angeles: ISO weeks 10 and 11 (clocks go forward on 9 March). */
const PERIOD = makePeriod(day("2025-03-03"), day("2025-03-16"), TZ);

type Seed = {
  type: RequestType;
  region: "US-CA" | "UK" | "EU";
  status: RequestStatus;
  received: string;
  due: string;
  extendedDue?: string;
  completed?: string;
  denied?: string;
};

/**
 * The requests (instants in UTC; the local day in Los Angeles in the comment). Receipt day is day 0.
 */
const SEEDS: Record<string, Seed> = {
  // CCPA
  r1: { type: "access", region: "US-CA", status: "completed", received: "2025-03-03T08:00:00Z", due: "2025-04-17T06:59:59Z", completed: "2025-03-13T06:00:00Z" }, // Mon 3 Mar 00:00 PST → 12 Mar 23:00 PDT: 9 days, on time
  r2: { type: "portability", region: "US-CA", status: "completed", received: "2025-03-05T20:00:00Z", due: "2025-04-19T06:59:59Z", completed: "2025-05-01T18:00:00Z" }, // 5 Mar → 1 May: 57 days, late
  r3: { type: "deletion", region: "US-CA", status: "denied", received: "2025-03-10T06:59:00Z", due: "2025-04-24T06:59:59Z", denied: "2025-03-20T17:00:00Z" }, // Sun 9 Mar 23:59 PDT (week 10) → 20 Mar: 11 days, on time
  r4: { type: "deletion", region: "US-CA", status: "completed", received: "2025-03-10T07:00:00Z", due: "2025-04-24T06:59:59Z", extendedDue: "2025-06-08T06:59:59Z", completed: "2025-05-30T12:00:00Z" }, // Mon 10 Mar 00:00 PDT (week 11) → 30 May: 81 days, on time (extended)
  r5: { type: "opt_out", region: "US-CA", status: "in_review", received: "2025-03-12T12:00:00Z", due: "2025-04-01T06:59:59Z" }, // open, overdue now
  r6: { type: "limit_sensitive", region: "US-CA", status: "cancelled", received: "2025-03-14T12:00:00Z", due: "2025-04-04T06:59:59Z" },
  r7: { type: "correction", region: "US-CA", status: "expired", received: "2025-03-16T12:00:00Z", due: "2025-04-30T06:59:59Z" },
  r8: { type: "objection", region: "US-CA", status: "completed", received: "2025-03-11T12:00:00Z", due: "2025-04-25T06:59:59Z", completed: "2025-03-12T18:00:00Z" }, // not a CCPA right: by type only; 1 day
  r9: { type: "access", region: "US-CA", status: "completed", received: "2025-03-17T06:30:00Z", due: "2025-05-01T06:59:59Z", completed: "2025-03-18T18:00:00Z" }, // Sun 16 Mar 23:30 PDT: last minutes of the period; 2 days
  r10: { type: "access", region: "US-CA", status: "completed", received: "2025-03-03T07:30:00Z", due: "2025-04-17T06:59:59Z", completed: "2025-03-04T18:00:00Z" }, // Sun 2 Mar 23:30 PST: before the period (its completion is in week 10)
  r11: { type: "access", region: "US-CA", status: "verified", received: "2025-03-17T07:00:00Z", due: "2025-05-01T06:59:59Z" }, // Mon 17 Mar 00:00 PDT: after the period; open, overdue now
  // Other laws
  r12: { type: "access", region: "UK", status: "completed", received: "2025-03-04T10:00:00Z", due: "2025-04-04T22:59:59Z", completed: "2025-03-06T10:00:00Z" }, // 2 days
  r13: { type: "deletion", region: "EU", status: "closed", received: "2025-03-06T20:00:00Z", due: "2025-04-06T21:59:59Z" },
  r14: { type: "access", region: "EU", status: "verified", received: "2025-03-15T12:00:00Z", due: "2025-07-15T21:59:59Z" }, // open, not yet due now: not judged
  r15: { type: "access", region: "UK", status: "verified", received: "2025-05-20T12:00:00Z", due: "2025-06-05T12:00:00Z" }, // open, due soon now (outside the period)
};

const refs: Record<string, string> = {};
const web = webAppForTests();
let processor: Awaited<ReturnType<typeof addStaff>>;
let auditor: Awaited<ReturnType<typeof addStaff>>;

beforeAll(async () => {
  const db = getDb();
  processor = await addStaff(db, "processor");
  auditor = await addStaff(db, "auditor");
  for (const [name, s] of Object.entries(SEEDS)) {
    const r = await addRequest(db, { type: s.type, region: s.region, status: s.status, receivedAt: new Date(s.received) });
    await db
      .update(requests)
      .set({
        dueAt: new Date(s.due),
        extendedDueAt: s.extendedDue ? new Date(s.extendedDue) : null,
        completedAt: s.completed ? new Date(s.completed) : null,
        // Later than the denial: the denial's audit event is what counts, not the row's last change.
        updatedAt: new Date("2025-05-31T00:00:00Z"),
      })
      .where(eq(requests.id, r.id));
    if (s.denied) await appendEvent(db, { requestId: r.id, actorType: "staff", actorId: processor.id, action: "request.denied", details: { reason: "other" } }, () => new Date(s.denied!));
    refs[name] = r.reference;
  }
});

const outcome = (o: Partial<Outcomes>): Outcomes => ({
  received: 0,
  complied: 0,
  denied: 0,
  endedWithoutDecision: 0,
  open: 0,
  medianDays: null,
  meanDays: null,
  onTime: 0,
  late: 0,
  onTimeRate: null,
  ...o,
});

describe("the figures of a period (model, clock fixed, Los Angeles)", () => {
  it("CCPA §7102: received, complied with, denied, days to respond and on time, per request type", async () => {
    const d = await loadDashboard(getDb(), PERIOD, processor.id, options);
    const byKey = Object.fromEntries(d.ccpa.rows.map((r) => [r.key, r]));
    expect(d.ccpa.rows.map((r) => r.key)).toEqual(["know", "delete", "correct", "opt_out", "limit"]);
    // to know: r1 (9 d, on time), r2 (57 d, late), r9 (2 d, on time); r10 and r11 fall outside the period.
    expect(byKey.know).toMatchObject(outcome({ received: 3, complied: 3, medianDays: 9, meanDays: 22.7, onTime: 2, late: 1, onTimeRate: 2 / 3 }));
    // to delete: r3 denied after 11 days (the audit event, not updated_at), r4 completed after 81 days within its extension.
    expect(byKey.delete).toMatchObject(outcome({ received: 2, complied: 1, denied: 1, medianDays: 46, meanDays: 46, onTime: 2, late: 0, onTimeRate: 1 }));
    expect(byKey.correct).toMatchObject(outcome({ received: 1, endedWithoutDecision: 1 }));
    expect(byKey.opt_out).toMatchObject(outcome({ received: 1, open: 1, late: 1, onTimeRate: 0 }));
    expect(byKey.limit).toMatchObject(outcome({ received: 1, endedWithoutDecision: 1 }));
    // All CCPA requests of the cohort (objection r8 is not a CCPA right): days 2, 9, 11, 57, 81.
    expect(d.ccpa.total).toEqual(outcome({ received: 8, complied: 4, denied: 1, endedWithoutDecision: 2, open: 1, medianDays: 11, meanDays: 32, onTime: 4, late: 2, onTimeRate: 4 / 6 }));
  });

  it("by request type, every law: the columns add up to the received", async () => {
    const d = await loadDashboard(getDb(), PERIOD, processor.id, options);
    const byKey = Object.fromEntries(d.byType.rows.map((r) => [r.key, r]));
    expect(byKey.access).toMatchObject(outcome({ received: 4, complied: 3, open: 1, medianDays: 2, meanDays: 4.3, onTime: 3, late: 0, onTimeRate: 1 }));
    expect(byKey.portability).toMatchObject(outcome({ received: 1, complied: 1, medianDays: 57, meanDays: 57, late: 1, onTimeRate: 0 }));
    expect(byKey.deletion).toMatchObject(outcome({ received: 3, complied: 1, denied: 1, endedWithoutDecision: 1, medianDays: 46, meanDays: 46, onTime: 2, onTimeRate: 1 }));
    expect(byKey.correction).toMatchObject(outcome({ received: 1, endedWithoutDecision: 1 }));
    expect(byKey.opt_out).toMatchObject(outcome({ received: 1, open: 1, late: 1, onTimeRate: 0 }));
    expect(byKey.limit_sensitive).toMatchObject(outcome({ received: 1, endedWithoutDecision: 1 }));
    expect(byKey.objection).toMatchObject(outcome({ received: 1, complied: 1, medianDays: 1, meanDays: 1, onTime: 1, onTimeRate: 1 }));
    expect(byKey.restriction).toMatchObject(outcome({}));
    // Days 1, 2, 2, 9, 11, 57, 81: median 9, mean 163 / 7.
    expect(d.byType.total).toEqual(outcome({ received: 12, complied: 6, denied: 1, endedWithoutDecision: 3, open: 2, medianDays: 9, meanDays: 23.3, onTime: 6, late: 2, onTimeRate: 0.75 }));
    for (const r of [...d.byType.rows, d.byType.total]) expect(r.complied + r.denied + r.endedWithoutDecision + r.open).toBe(r.received);
  });

  it("weekly volume: ISO weeks in the organisation's zone, boundaries at local midnight on Mondays", async () => {
    const d = await loadDashboard(getDb(), PERIOD, processor.id, options);
    expect(d.weeks).toEqual([
      // r1, r2, r3 (Sunday 23:59 PDT), r12, r13; completed: r10 (received before the period), r12
      { monday: "2025-03-03", isoWeek: "2025-W10", received: 5, completed: 2, partial: false },
      // r4 (Monday 00:00 PDT), r5, r6, r7, r8, r9 (Sunday 23:30 PDT), r14; completed: r8, r1 (Wednesday 23:00 PDT)
      { monday: "2025-03-10", isoWeek: "2025-W11", received: 7, completed: 2, partial: false },
    ]);
    // In UTC the same instants fall otherwise: r3 moves to week 11, r9 leaves the period, r10 joins it.
    const utc = await loadPeriodFigures(getDb(), makePeriod(day("2025-03-03"), day("2025-03-16"), "UTC"), { clock: () => NOW, timeZone: "UTC" });
    expect(utc.weeks.map((w) => [w.isoWeek, w.received])).toEqual([
      ["2025-W10", 5], // r1, r2, r10, r12, r13
      ["2025-W11", 7], // r3, r4, r5, r6, r7, r8, r14
    ]);
    // A period that starts and ends mid-week lists the weeks it touches, marked partial, counting only its days.
    const mid = await loadPeriodFigures(getDb(), makePeriod(day("2025-03-05"), day("2025-03-11"), TZ), options);
    expect(mid.weeks).toEqual([
      { monday: "2025-03-03", isoWeek: "2025-W10", received: 3, completed: 1, partial: true }, // r2, r3, r13; completed r12
      { monday: "2025-03-10", isoWeek: "2025-W11", received: 2, completed: 0, partial: true }, // r4, r8
    ]);
    // The ISO year of a week is its Thursday's: Monday 29 December 2025 starts 2026-W01.
    const turn = await loadPeriodFigures(getDb(), makePeriod(day("2025-12-28"), day("2026-01-04"), TZ), options);
    expect(turn.weeks.map((w) => w.isoWeek)).toEqual(["2025-W52", "2026-W01"]);
  });

  it("open requests now: by status, overdue and due soon, with the lists from the queue", async () => {
    const d = await loadDashboard(getDb(), PERIOD, processor.id, options);
    expect(d.current.openByStatus).toEqual([
      { status: "verified", count: 3 }, // r11, r14, r15
      { status: "in_review", count: 1 }, // r5
    ]);
    expect(d.current.open).toBe(4);
    expect(d.current.overdue).toBe(2); // r5, r11
    expect(d.current.dueSoon).toBe(1); // r15
    expect(d.current.overdueList.map((r) => r.reference)).toEqual([refs.r5, refs.r11]); // longest overdue first
    expect(d.current.dueSoonList.map((r) => r.reference)).toEqual([refs.r15]);
    expect(d.current.dueSoonList[0]!.daysLeft).toBe(4);
  });

  it("an empty period has zero counts and no days", async () => {
    const d = await loadPeriodFigures(getDb(), makePeriod(day("2024-01-01"), day("2024-01-07"), TZ), options);
    expect(d.byType.total).toEqual(outcome({}));
    expect(d.ccpa.total).toEqual(outcome({}));
    expect(d.weeks).toEqual([{ monday: "2024-01-01", isoWeek: "2024-W01", received: 0, completed: 0, partial: false }]);
  });
});

describe("the period's parameters", () => {
  const parse = (query: string) => parsePeriod(new URLSearchParams(query), options);
  it("presets and dates, in the organisation's zone", () => {
    // 1 June 2025 12:00 UTC is 05:00 on 1 June in Los Angeles.
    expect(parse("")).toMatchObject({ ok: true, period: { from: "2025-05-03", to: "2025-06-01", preset: "last-30-days" } });
    expect(parse("preset=this-year")).toMatchObject({ ok: true, period: { from: "2025-01-01", to: "2025-06-01" } });
    expect(parse("preset=previous-year")).toMatchObject({ ok: true, period: { from: "2024-01-01", to: "2024-12-31" } });
    const own = parse("from=2025-03-03&to=2025-03-16");
    expect(own).toMatchObject({ ok: true, period: { from: "2025-03-03", to: "2025-03-16", preset: null } });
    if (!own.ok) throw new Error("unreachable");
    expect(own.period.start.toISOString()).toBe("2025-03-03T08:00:00.000Z"); // midnight PST
    expect(own.period.endExclusive.toISOString()).toBe("2025-03-17T07:00:00.000Z"); // midnight PDT
    expect(presetDays("previous-year", day("2026-01-01"))).toEqual({ fromDay: day("2025-01-01"), toDay: day("2025-12-31") });
  });

  it.each([
    ["from=2025-02-30&to=2025-03-01", "from", "“From” must be a real date written YYYY-MM-DD"],
    ["from=03/01/2025&to=2025-03-01", "from", "“From” must be a real date written YYYY-MM-DD"],
    ["from=2025-03-01&to=tomorrow", "to", "“To” must be a real date written YYYY-MM-DD"],
    ["from=2025-03-01", "to", "Enter the “To” date too, or choose a preset."],
    ["to=2025-03-01", "from", "Enter the “From” date too, or choose a preset."],
    ["from=2025-03-02&to=2025-03-01", "to", "“To” must not be before “From”."],
    ["from=2020-01-01&to=2025-03-01", "to", "The period can be at most 1,096 days (three years)."],
    ["from=2025-07-01&to=2025-07-31", "from", "The period starts after today"],
    ["preset=last-week", "preset", "Choose a period from the list of presets."],
    ["preset=this-year&from=2025-01-01", "preset", "Choose a preset or your own dates, not both."],
  ])("%s → a message for %s", (query, field, message) => {
    const r = parse(query);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.find((e) => e.field === field)?.message).toContain(message);
  });
});

describe("over HTTP (the app's zone is UTC, its clock the real one)", () => {
  const get = async (path: string, cookie: string) => fetch(web.url + path, { redirect: "manual", headers: { Cookie: cookie } });

  it("shows the page to an auditor: tables with captions and header cells, the chart with its text alternative", async () => {
    const res = await get("/admin/dashboard?from=2025-03-03&to=2025-03-16", await sessionCookie(getDb(), auditor.id));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("CCPA §7102 metrics");
    expect(html).toMatch(/<caption>Open requests by status<\/caption>/);
    expect(html).toMatch(/<th scope="row">Requests to delete<\/th><td>2<\/td><td>1<\/td><td>1<\/td><td>0<\/td><td>0<\/td><td>45\.5<\/td><td>45\.5<\/td><td>100 % \(2 of 2\)<\/td>/);
    expect(html).toMatch(/<svg[^>]*role="img"[^>]*aria-labelledby="weekly-title weekly-desc"/);
    expect(html).toContain('<desc id="weekly-desc">2 weeks from 2025-W10 to 2025-W11: 12 requests received and 4 completed.');
    expect(html).toMatch(/<th scope="row">2025-W11<\/th><td>2025-03-10<\/td><td>7<\/td><td>2<\/td>/);
    expect(html).toContain('href="/admin/dashboard.csv?from=2025-03-03&amp;to=2025-03-16"');
    expect(html).toContain('aria-current="page"'); // the nav marks the dashboard
  });

  it("bad dates are a message next to the form (400), not an error page", async () => {
    const res = await get("/admin/dashboard?from=2025-13-01&to=2025-03-16", await sessionCookie(getDb(), processor.id));
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("“From” must be a real date written YYYY-MM-DD");
    expect(html).toMatch(/id="from"[^>]*aria-invalid="true"[^>]*aria-describedby="from-error"|aria-invalid="true"[^>]*aria-describedby="from-error"[^>]*id="from"/);
    expect(html).not.toContain("CCPA §7102 metrics:");
    expect(html).toContain("<caption>Open requests by status</caption>"); // the queue's state is still shown
  });

  it("exports the figures as a CSV attachment, and records who downloaded which period", async () => {
    const res = await get("/admin/dashboard.csv?from=2025-03-03&to=2025-03-16", await sessionCookie(getDb(), processor.id));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present");
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="requests-figures-2025-03-03-to-2025-03-16.csv"; filename*=UTF-8''requests-figures-2025-03-03-to-2025-03-16.csv`,
    );
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.text();
    const lines = body.split("\r\n");
    expect(lines[0]).toBe(
      '"section","group","period_from","period_to","received","complied_in_whole_or_part","denied","ended_without_decision","still_open","median_days_to_respond","mean_days_to_respond","answered_on_time","late_or_overdue","on_time_rate_percent"',
    );
    // In UTC: r3 received 10 March, denied 20 March (10 days); r4 received 10 March, completed 30 May (81 days).
    expect(lines).toContain('"CCPA 7102 (CCPA requests)","Requests to delete","2025-03-03","2025-03-16","2","1","1","0","0","45.5","45.5","2","0","100"');
    expect(lines).toContain('"CCPA 7102 (CCPA requests)","Requests to correct","2025-03-03","2025-03-16","1","0","0","1","0","","","0","0",""');
    expect(lines).toHaveLength(5 + 1 + 8 + 1 + 1 + 1); // header, 5 categories + all, 8 types + all, trailing CRLF
    // The whole body is the model's figures for the app's zone, written by the shared CSV module.
    const expected = dashboardCsv(await loadPeriodFigures(getDb(), makePeriod(day("2025-03-03"), day("2025-03-16"), "UTC"), { timeZone: "UTC" }), "outcomes");
    expect(body).toBe(expected);

    const events = await getDb()
      .select()
      .from(requestEvents)
      .where(and(eq(requestEvents.action, "dashboard.exported"), eq(requestEvents.actorId, processor.id)));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorType: "staff", requestId: null, details: { from: "2025-03-03", to: "2025-03-16", table: "outcomes" } });
  });

  it("exports the weekly volume, and refuses bad parameters with a message (nothing recorded)", async () => {
    const cookie = await sessionCookie(getDb(), auditor.id);
    const weekly = await get("/admin/dashboard.csv?from=2025-03-03&to=2025-03-16&table=weekly", cookie);
    expect(weekly.status).toBe(200);
    expect(await weekly.text()).toBe(
      '"iso_week","week_starting","received","completed","partial_week"\r\n"2025-W10","2025-03-03","5","2","no"\r\n"2025-W11","2025-03-10","7","2","no"\r\n',
    );
    const badTable = await get("/admin/dashboard.csv?from=2025-03-03&to=2025-03-16&table=everything", cookie);
    expect(badTable.status).toBe(400);
    expect(await badTable.text()).toContain("Choose which table to download");
    const badDates = await get("/admin/dashboard.csv?from=2025-03-16&to=2025-03-03", cookie);
    expect(badDates.status).toBe(400);
    expect(await badDates.text()).toContain("“To” must not be before “From”.");
    const events = await getDb()
      .select()
      .from(requestEvents)
      .where(and(eq(requestEvents.action, "dashboard.exported"), eq(requestEvents.actorId, auditor.id)));
    expect(events.map((e) => e.details)).toEqual([{ from: "2025-03-03", to: "2025-03-16", table: "weekly" }]);
  });

  it("anonymous visitors are sent to sign in, for the page and the export", async () => {
    for (const path of ["/admin/dashboard", "/admin/dashboard.csv?preset=previous-year"]) {
      const res = await fetch(web.url + path, { redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toMatch(/^\/admin\/login/);
    }
  });
});
