/**
 * The staff dashboard: open requests by status, the overdue and due-soon lists (the queue's own query), and for a
 * chosen period (a GET form; presets as plain links) how the requests received were answered — by type and as the
 * CCPA §7102 metrics — with a weekly volume chart drawn on the server and CSV downloads. Every role may read it;
 * bad dates are a message next to the form (400), never an error page. Definitions: app/models/dashboard.server.ts.
 */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { DataTable } from "#app/components/data-table.tsx";
import { FilterForm, FilterInput, filterFieldErrors } from "#app/components/filter-form.tsx";
import { StaffPage } from "#app/components/staff-page.tsx";
import { VolumeChart } from "#app/components/volume-chart.tsx";
import { loadCurrent, loadPeriodFigures, parsePeriod, periodPresets, periodSearch, presetLabels, type Outcomes } from "#app/models/dashboard.server.ts";
import type { QueueRow } from "#app/models/queue.server.ts";
import { formatDueDate } from "#app/models/deadlines.ts";
import { requestTypeLabels } from "#app/models/request-types.ts";
import { getDb } from "#db/client.server.ts";
import { requireStaff } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Dashboard — Privacy Center staff" }];

const statusLabel = (s: string) => s.replaceAll("_", " ");

type ListRow = { reference: string; type: string; status: string; due: string; daysLeft: number; assignee: string | null };

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  const parsed = parsePeriod(new URL(request.url).searchParams);
  const me = { name: staff.name, role: staff.role };
  const presets = periodPresets.map((p) => ({ value: p, label: presetLabels[p], href: `/admin/dashboard${periodSearch({ preset: p, from: "", to: "" })}` }));
  const headers = { "Cache-Control": "no-store" };
  const db = getDb();
  const summary = (r: QueueRow): ListRow => ({
    reference: r.reference,
    type: requestTypeLabels[r.type],
    status: statusLabel(r.status),
    due: formatDueDate(r.effectiveDueAt),
    daysLeft: r.daysLeft,
    assignee: r.assigneeName,
  });
  // The queue's state is shown whatever the period; a bad period only replaces the period's figures with a message.
  const [c, figures] = await Promise.all([loadCurrent(db, staff.id), parsed.ok ? loadPeriodFigures(db, parsed.period) : null]);
  const current = {
    timeZone: c.timeZone,
    dueSoonDays: c.dueSoonDays,
    open: c.current.open,
    overdue: c.current.overdue,
    dueSoon: c.current.dueSoon,
    byStatus: c.current.openByStatus.map((s) => ({ status: statusLabel(s.status), count: s.count })),
    overdueList: c.current.overdueList.map(summary),
    dueSoonList: c.current.dueSoonList.map(summary),
  };
  if (!parsed.ok || !figures) {
    const form = parsed.ok ? { from: parsed.period.from, to: parsed.period.to } : parsed.form;
    return json({ me, presets, errors: parsed.ok ? [] : parsed.errors, form: { from: form.from, to: form.to }, current, data: null }, { status: 400, headers });
  }
  const search = periodSearch(parsed.period);
  return json(
    {
      me,
      presets,
      errors: [] as { field: string; message: string }[],
      form: { from: parsed.period.from, to: parsed.period.to },
      current,
      data: {
        period: { from: parsed.period.from, to: parsed.period.to, preset: parsed.period.preset ? presetLabels[parsed.period.preset] : null },
        csv: { outcomes: `/admin/dashboard.csv${search}`, weekly: `/admin/dashboard.csv${search}&table=weekly` },
        byType: figures.byType,
        ccpa: figures.ccpa,
        weeks: figures.weeks,
      },
    },
    { headers },
  );
}

const number = (n: number | null) => (n === null ? "—" : n.toLocaleString("en"));
const percent = (rate: number | null) => (rate === null ? "—" : `${(Math.round(rate * 1000) / 10).toLocaleString("en")} %`);

function OutcomeTable({ id, caption, rows, total }: { id: string; caption: string; rows: ({ key: string; label: string } & Outcomes)[]; total: Outcomes }) {
  const cells = (o: Outcomes) => (
    <>
      <td>{number(o.received)}</td>
      <td>{number(o.complied)}</td>
      <td>{number(o.denied)}</td>
      <td>{number(o.endedWithoutDecision)}</td>
      <td>{number(o.open)}</td>
      <td>{number(o.medianDays)}</td>
      <td>{number(o.meanDays)}</td>
      <td>{`${percent(o.onTimeRate)}${o.onTime + o.late > 0 ? ` (${number(o.onTime)} of ${number(o.onTime + o.late)})` : ""}`}</td>
    </>
  );
  return (
    <DataTable
      id={id}
      caption={caption}
      columns={["Request type", "Received", "Complied with in whole or in part", "Denied", "Ended without a decision", "Still open", "Median days to respond", "Mean days to respond", "On time"]}
      rows={rows}
      row={(r) => (
        <tr key={r.key} data-key={r.key}>
          <th scope="row">{r.label}</th>
          {cells(r)}
        </tr>
      )}
      foot={
        <tr data-key="total">
          <th scope="row">All</th>
          {cells(total)}
        </tr>
      }
    />
  );
}

function RequestList({ id, caption, rows, empty }: { id: string; caption: string; rows: ListRow[]; empty: string }) {
  if (rows.length === 0) return <p id={id}>{empty}</p>;
  return (
    <DataTable
      id={id}
      caption={caption}
      columns={["Reference", "Type", "Status", "Due", "Assignee"]}
      rows={rows}
      row={(r) => (
        <tr key={r.reference} data-reference={r.reference}>
          <th scope="row">
            <Link to={`/admin/requests/${r.reference}`}>{r.reference}</Link>
          </th>
          <td>{r.type}</td>
          <td>{r.status}</td>
          <td>{`${r.due} (${r.daysLeft < 0 ? `${-r.daysLeft} ${r.daysLeft === -1 ? "day" : "days"} overdue` : r.daysLeft === 0 ? "due today" : `${r.daysLeft} ${r.daysLeft === 1 ? "day" : "days"} left`})`}</td>
          <td>{r.assignee ?? "—"}</td>
        </tr>
      )}
    />
  );
}

export default function Dashboard() {
  const { me, presets, errors, form, current, data } = useLoaderData<typeof loader>();
  const fields = filterFieldErrors(errors, "all");
  return (
    <StaffPage title="Dashboard" role={me.role} current="/admin/dashboard" signedInAs={me}>
      <div className="card" aria-labelledby="now-title">
        <h2 id="now-title">Open requests now</h2>
        <p data-testid="now-summary">
          {`${number(current.open)} open: ${number(current.overdue)} overdue, ${number(current.dueSoon)} due within ${current.dueSoonDays} days.`}
        </p>
        <DataTable
          id="open-by-status"
          caption="Open requests by status"
          columns={["Status", "Requests"]}
          rows={current.byStatus}
          empty="No open requests."
          row={(s) => (
            <tr key={s.status}>
              <th scope="row">{s.status}</th>
              <td>{number(s.count)}</td>
            </tr>
          )}
        />
        <h3 id="overdue-title">Overdue</h3>
        <RequestList id="overdue-list" caption="Overdue requests, the longest overdue first" rows={current.overdueList} empty="No request is overdue." />
        {current.overdue > current.overdueList.length ? (
          <p>
            <Link to="/admin?overdue=1">All {number(current.overdue)} overdue requests in the queue</Link>
          </p>
        ) : null}
        <h3 id="due-soon-title">Due within {current.dueSoonDays} days</h3>
        <RequestList id="due-soon-list" caption={`Requests due within ${current.dueSoonDays} days, soonest first`} rows={current.dueSoonList} empty="Nothing is due soon." />
        {current.dueSoon > current.dueSoonList.length ? (
          <p>
            <Link to={`/admin?within=${current.dueSoonDays}`}>All {number(current.dueSoon)} requests due soon in the queue</Link>
          </p>
        ) : null}
      </div>

      <div className="card">
        <FilterForm
          titleId="period-title"
          title="Period"
          intro={<p className="hint">Requests received from the first to the last day given, in the organisation&apos;s time zone ({current.timeZone}).</p>}
          errors={errors}
          errorsTitle="This period could not be used:"
          errorsTestId="period-errors"
          submit="Show figures"
        >
          <FilterInput name="from" label="From (YYYY-MM-DD)" fields={fields} type="date" defaultValue={form.from} required />
          <FilterInput name="to" label="To (YYYY-MM-DD)" fields={fields} type="date" defaultValue={form.to} required />
          {fields.fieldError("preset")}
        </FilterForm>
        <nav aria-label="Period presets">
          <p>
            Or choose:{" "}
            {presets.map((p, i) => (
              <span key={p.value}>
                {i > 0 ? " · " : null}
                <Link to={p.href} aria-current={data?.period.preset === p.label ? "true" : undefined}>
                  {p.label}
                </Link>
              </span>
            ))}
          </p>
        </nav>
      </div>

      {data ? (
        <>
          <div className="card" aria-labelledby="figures-title">
            <h2 id="figures-title">
              Requests received {data.period.from} to {data.period.to}
              {data.period.preset ? ` (${data.period.preset.toLowerCase()})` : ""}
            </h2>
            <p>
              Download as CSV: <a href={data.csv.outcomes}>figures by type and §7102 metrics</a> · <a href={data.csv.weekly}>weekly volume</a>
            </p>
            <OutcomeTable
              id="ccpa-metrics"
              caption="CCPA §7102 metrics: California (CCPA) requests received in the period, by request type"
              rows={data.ccpa.rows}
              total={data.ccpa.total}
            />
            <OutcomeTable id="by-type" caption="All requests received in the period (every law), by request type" rows={data.byType.rows} total={data.byType.total} />
            <details>
              <summary>How these figures are counted</summary>
              <dl>
                <dt>Received</dt>
                <dd>Requests whose receipt falls in the period (days in {current.timeZone}). Each is counted once, by where it stands now, so the columns add up to it.</dd>
                <dt>Complied with in whole or in part</dt>
                <dd>Completed requests (an erasure that kept some data for a legal reason counts here).</dd>
                <dt>Denied</dt>
                <dd>Denied by staff, for any reason, including a requester whose identity could not be verified.</dd>
                <dt>Ended without a decision</dt>
                <dd>Cancelled by the requester, expired unverified, or closed (duplicate, withdrawn, resolved otherwise, information not provided). Neither complied with nor denied; left out of the days and of the on-time rate.</dd>
                <dt>Days to respond</dt>
                <dd>Calendar days from the day of receipt (day 0) to the day of completion or denial (the denial&apos;s audit event). Median and mean over the requests answered.</dd>
                <dt>On time</dt>
                <dd>Answered by the due date in force (the extended one after an extension). Late: answered after it, or still open and past it now. Open requests not yet due are not counted either way.</dd>
                <dt>§7102 request types</dt>
                <dd>CCPA requests only: to know = access and portability; to delete; to correct; to opt out of sale/sharing; to limit. Objection and restriction are not CCPA rights.</dd>
              </dl>
            </details>
          </div>
          <div className="card" aria-labelledby="weekly-title">
            <h2 id="weekly-title">Weekly volume</h2>
            <VolumeChart id="weekly" weeks={data.weeks} caption={`Requests received and completed per ISO week, ${data.period.from} to ${data.period.to}`} />
          </div>
        </>
      ) : null}
    </StaffPage>
  );
}
