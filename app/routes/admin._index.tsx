/**
 * The staff queue: requests with their deadlines; filters, search (reference or exact email, through the blind
 * index), sort and pages in the URL — a GET form that works without JavaScript. Bad parameters get a message (400),
 * never an error page. Every role may read it.
 */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { formatDueDate } from "#app/models/deadlines.ts";
import { effectiveStatus, parseQueueParams, queryQueue, queueSearchString, statusFilters, type QueueParams } from "#app/models/queue.server.ts";
import { regimeLabels } from "#app/models/regions.ts";
import { requestTypeLabels } from "#app/models/request-types.ts";
import { listStaff } from "#app/models/staff.server.ts";
import { PolicyBanner } from "#app/components/policy-banner.tsx";
import { DataTable } from "#app/components/data-table.tsx";
import { FilterForm, FilterInput, FilterSelect, filterFieldErrors } from "#app/components/filter-form.tsx";
import { PagedResults } from "#app/components/pager.tsx";
import { StaffPage } from "#app/components/staff-page.tsx";
import { versionToAcknowledge } from "#app/models/handling-policy.server.ts";
import { getDb } from "#db/client.server.ts";
import type { RequestStatus } from "#db/schema/index.ts";
import { requireStaff } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Requests — Privacy Center staff" }];

const statusLabel = (s: RequestStatus) => s.replaceAll("_", " ");

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  const db = getDb();
  const parsed = parseQueueParams(new URL(request.url).searchParams);
  const workers = (await listStaff(db)).filter((s) => !s.disabledAt && s.role !== "auditor").map((s) => ({ id: s.id, name: s.name }));
  const options = {
    statuses: statusFilters.map((s) => ({ value: s, label: s === "open" ? "Open requests" : s === "all" ? "All requests" : statusLabel(s) })),
    types: Object.entries(requestTypeLabels).map(([value, label]) => ({ value, label })),
    regimes: Object.entries(regimeLabels).map(([value, label]) => ({ value, label })),
    assignees: [
      { value: "me", label: "Me" },
      { value: "none", label: "Nobody (unassigned)" },
      ...workers.filter((w) => w.id !== staff.id).map((w) => ({ value: w.id, label: w.name })),
    ],
  };
  const me = { name: staff.name, role: staff.role, mustAcknowledge: await versionToAcknowledge(db, staff) };
  const headers = { "Cache-Control": "no-store" };
  if (!parsed.ok) {
    return json(
      { me, options, errors: parsed.errors, form: formValues(parsed.params), page: null },
      { status: 400, headers },
    );
  }
  const result = await queryQueue(db, parsed.params, parsed.search, staff.id);
  const link = (page: number) => `/admin${queueSearchString(parsed.params, { page })}`;
  return json(
    {
      me,
      options,
      errors: [] as { field: string; message: string }[],
      form: formValues(parsed.params),
      page: {
        number: result.page,
        total: result.total,
        totalCapped: result.totalCapped,
        first: result.rows.length > 0 ? (result.page - 1) * result.pageSize + 1 : 0,
        last: (result.page - 1) * result.pageSize + result.rows.length,
        previous: result.page > 1 ? link(result.page - 1) : null,
        next: result.hasNext ? link(result.page + 1) : null,
        rows: result.rows.map((r) => ({
          reference: r.reference,
          type: requestTypeLabels[r.type],
          regime: regimeLabels[r.regime],
          jurisdiction: r.jurisdiction,
          status: statusLabel(r.status),
          received: formatDueDate(r.receivedAt),
          due: formatDueDate(r.effectiveDueAt),
          extended: r.extendedDueAt !== null,
          badge: r.badge,
          daysLeft: r.daysLeft,
          assignee: r.assigneeName,
          legalHold: r.legalHold,
        })),
      },
    },
    { headers },
  );
}

/** What the filter form shows (strings, as typed). */
function formValues(p: Partial<QueueParams>) {
  return {
    q: p.q ?? "",
    status: effectiveStatus({ status: p.status, q: p.q }),
    type: p.type ?? "",
    regime: p.regime ?? "",
    within: p.within === undefined ? "" : String(p.within),
    overdue: p.overdue ?? false,
    assignee: p.assignee ?? "",
    sort: p.sort ?? "due",
  };
}

function badgeText(badge: string, daysLeft: number) {
  if (badge === "overdue") return `${-daysLeft} ${-daysLeft === 1 ? "day" : "days"} overdue`;
  if (daysLeft === 0) return "due today";
  return `${daysLeft} ${daysLeft === 1 ? "day" : "days"} left`;
}

const sortLabels = { due: "Due date, soonest first", "-due": "Due date, latest first", received: "Received, oldest first", "-received": "Received, newest first" };
const sortOptions = Object.entries(sortLabels).map(([value, label]) => ({ value, label }));

export default function AdminRequests() {
  const { me, options, errors, form, page } = useLoaderData<typeof loader>();
  const fields = filterFieldErrors(errors);
  return (
    <StaffPage
      title="Requests"
      role={me.role}
      current="/admin"
      signedInAs={me}
      head={
        <>
          <PolicyBanner version={me.mustAcknowledge} back="/admin" />
          <Form method="post" action="/admin/logout">
            <button type="submit" className="secondary">
              Sign out
            </button>
          </Form>
        </>
      }
    >
      <div className="card">
        <FilterForm titleId="filter-title" title="Filter and search" errors={errors} errorsTitle="These filters could not be used:" errorsTestId="queue-errors" submit="Show requests" clear="/admin">
          <FilterInput
            name="q"
            label="Search"
            hint="A request reference (PR-XXXX-XXXX) or a customer's exact email address."
            fields={fields}
            type="text"
            defaultValue={form.q}
            maxLength={320}
            autoComplete="off"
          />

          <FilterSelect name="status" label="Status" options={options.statuses} defaultValue={form.status} fields={fields} />

          <FilterSelect name="type" label="Type" any="Any type" options={options.types} defaultValue={form.type} fields={fields} />

          <FilterSelect name="regime" label="Law" any="Any law" options={options.regimes} defaultValue={form.regime} fields={fields} />

          <FilterInput name="within" label="Due within (days)" fields={fields} type="number" min={0} max={365} step={1} inputMode="numeric" defaultValue={form.within} />

          <label className="choice" htmlFor="overdue">
            <input id="overdue" name="overdue" type="checkbox" value="1" defaultChecked={form.overdue} {...fields.described("overdue")} />
            Overdue only
          </label>
          {fields.fieldError("overdue")}

          <FilterSelect name="assignee" label="Assigned to" any="Anyone or nobody" options={options.assignees} defaultValue={form.assignee} fields={fields} />

          <FilterSelect name="sort" label="Sort by" options={sortOptions} defaultValue={form.sort} fields={fields} />
          {fields.fieldError("page")}
        </FilterForm>
      </div>

      {page ? (
        <PagedResults
          none={page.rows.length === 0 ? "No requests match." : null}
          back={page.previous ? { to: page.previous, label: "← Previous page" } : null}
          current={`Page ${page.number}`}
          forward={page.next ? { to: page.next, label: "Next page →" } : null}
        >
          <DataTable
            summaryId="queue-summary"
            captionClassName="hint"
            caption={`Showing ${page.first}–${page.last} of ${page.totalCapped ? `more than ${page.total.toLocaleString("en")}` : page.total.toLocaleString("en")}; ${sortLabels[form.sort as keyof typeof sortLabels].toLowerCase()}.`}
            columns={["Reference", "Type", "Law", "Status", "Received", "Due", "Assignee"]}
            rows={page.rows}
            row={(r) => (
              <tr key={r.reference} data-reference={r.reference}>
                <td>
                  <Link to={`/admin/requests/${r.reference}`}>{r.reference}</Link>
                  {r.legalHold ? (
                    <>
                      {" "}
                      <span className="badge">legal hold</span>
                    </>
                  ) : null}
                </td>
                <td>{r.type}</td>
                <td>
                  {r.regime} ({r.jurisdiction})
                </td>
                <td>{r.status}</td>
                <td>{r.received}</td>
                <td>
                  {r.due}
                  {r.extended ? " (extended)" : ""}{" "}
                  {r.badge ? (
                    <span className={`badge ${r.badge}`} data-badge={r.badge}>
                      {badgeText(r.badge, r.daysLeft)}
                    </span>
                  ) : null}
                </td>
                <td>{r.assignee ?? "—"}</td>
              </tr>
            )}
          />
        </PagedResults>
      ) : null}
    </StaffPage>
  );
}
