/**
 * The scheduled jobs at a glance (admins and auditors): each scheduler's timing, last run (when, how it ended, what
 * it counted), next run, and a warning when one has not run when it should have. Read-only.
 */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { formatZonedIso } from "#app/models/deadlines.ts";
import { getScheduleStatuses, type ScheduleHealth } from "#app/models/schedules.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { requireStaff } from "#app/utils/session.server.ts";
import { DataTable } from "#app/components/data-table.tsx";
import { StaffPage } from "#app/components/staff-page.tsx";
import { getDb } from "#db/client.server.ts";

export const meta: MetaFunction = () => [{ title: "Schedules — Privacy Center staff" }];

/** Who may see this page (read by tests/integration/admin-authz.test.ts; enforced by requireStaff below). */
export const handle = { staffRoles: ["admin", "auditor"] as const };

const healthText: Record<ScheduleHealth, string> = {
  ok: "on time",
  late: "LATE — has not run when it should have",
  failing: "last run failed",
  not_registered: "not registered — no worker has started with it",
  waiting_first_run: "waiting for its first run",
};

function duration(ms: number | null) {
  if (ms === null) return "—";
  const min = Math.round(ms / 60_000);
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (min < 120) return `${min} min`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`;
}

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: handle.staffRoles });
  const tz = getEnv().ORG_TIMEZONE;
  const at = (d: Date | null) => (d ? formatZonedIso(d, tz).slice(0, 19).replace("T", " ") : null);
  const statuses = await getScheduleStatuses(getDb());
  return json(
    {
      role: staff.role,
      timeZone: tz,
      schedules: statuses.map((s) => ({
        id: s.id,
        description: s.description,
        timing: s.pattern ? `cron "${s.pattern}" (${s.timeZone ?? "UTC"})` : s.every ? `every ${duration(s.every)}` : "—",
        configKey: s.configKey,
        interval: duration(s.intervalMs),
        next: at(s.nextRunAt),
        health: s.health,
        late: s.late,
        lastRun: s.lastRun
          ? {
              started: at(s.lastRun.startedAt),
              took: s.lastRun.finishedAt ? duration(s.lastRun.finishedAt.getTime() - s.lastRun.startedAt.getTime()) : null,
              outcome: s.lastRun.outcome,
              counts: Object.entries(s.lastRun.counts)
                .filter(([, n]) => n !== 0)
                .map(([k, n]) => `${k}: ${n}`)
                .join(", "),
              error: s.lastRun.error,
            }
          : null,
        lastSuccess: at(s.lastSuccessAt),
      })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export default function SchedulesPage() {
  const { role, timeZone, schedules } = useLoaderData<typeof loader>();
  const late = schedules.filter((s) => s.late);
  return (
    <StaffPage
      title="Schedules"
      role={role}
      current="/admin/schedules"
      head={
        <>
          <p className="hint">
            Times are in {timeZone}. A scheduler is late when its last run started more than two intervals ago, or its next run
            is more than an interval overdue — usually no worker is running.
          </p>
          {late.length > 0 ? (
            <p className="error" role="alert">
              {late.length === 1 ? "1 schedule has" : `${late.length} schedules have`} not run when expected: {late.map((s) => s.id).join(", ")}.
            </p>
          ) : null}
        </>
      }
    >
      <DataTable
        columns={["Schedule", "Timing", "Last run", "Next run", "State"]}
        rows={schedules}
        row={(s) => (
          <tr key={s.id} data-schedule={s.id} data-health={s.health}>
            <td>
              <strong>{s.id}</strong>
              <br />
              <span className="hint">{s.description}</span>
            </td>
            <td>
              {s.timing}
              {s.configKey ? (
                <>
                  <br />
                  <span className="hint">set by {s.configKey}</span>
                </>
              ) : null}
            </td>
            <td>
              {s.lastRun ? (
                <>
                  {s.lastRun.started} — {s.lastRun.outcome}
                  {s.lastRun.took ? ` in ${s.lastRun.took}` : ""}
                  {s.lastRun.counts ? (
                    <>
                      <br />
                      <span className="hint">{s.lastRun.counts}</span>
                    </>
                  ) : null}
                  {s.lastRun.error ? (
                    <>
                      <br />
                      <span className="error">{s.lastRun.error}</span>
                    </>
                  ) : null}
                  {s.lastRun.outcome !== "succeeded" && s.lastSuccess ? (
                    <>
                      <br />
                      <span className="hint">last success {s.lastSuccess}</span>
                    </>
                  ) : null}
                </>
              ) : (
                "never"
              )}
            </td>
            <td>{s.next ?? "—"}</td>
            <td>
              <span className={`badge ${s.late ? "overdue" : s.health === "ok" ? "on-time" : "due-soon"}`}>{healthText[s.health]}</span>
            </td>
          </tr>
        )}
      />
    </StaffPage>
  );
}
