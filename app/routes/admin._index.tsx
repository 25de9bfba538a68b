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
import { StaffNav } from "#app/components/staff-nav.tsx";
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

export default function AdminRequests() {
  const { me, options, errors, form, page } = useLoaderData<typeof loader>();
  const errorFor = (field: string) => errors.find((e) => e.field === field)?.message;
  const described = (field: string) => (errorFor(field) ? { "aria-invalid": true, "aria-describedby": `${field}-error` } : {});
  const fieldError = (field: string) =>
    errorFor(field) ? (
      <p id={`${field}-error`} className="error">
        {errorFor(field)}
      </p>
    ) : null;
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">Requests</h1>
        <p>
          Signed in as {me.name} ({me.role}).
        </p>
        <StaffNav role={me.role} current="/admin" />
        <PolicyBanner version={me.mustAcknowledge} back="/admin" />
        <Form method="post" action="/admin/logout">
          <button type="submit" className="secondary">
            Sign out
          </button>
        </Form>
      </div>

      <div className="card">
        <Form method="get" aria-labelledby="filter-title">
          <h2 id="filter-title">Filter and search</h2>
          {errors.length > 0 ? (
            <div role="alert" className="error" data-testid="queue-errors">
              <p>These filters could not be used:</p>
              <ul>
                {errors.map((e) => (
                  <li key={`${e.field}:${e.message}`}>{e.message}</li>
                ))}
              </ul>
            </div>
          ) : null}
          <label htmlFor="q">Search</label>
          <p className="hint" id="q-hint">
            A request reference (PR-XXXX-XXXX) or a customer&apos;s exact email address.
          </p>
          <input id="q" name="q" type="text" defaultValue={form.q} maxLength={320} autoComplete="off" aria-describedby="q-hint" {...described("q")} />
          {fieldError("q")}

          <label htmlFor="status">Status</label>
          <select id="status" name="status" defaultValue={form.status} {...described("status")}>
            {options.statuses.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
          {fieldError("status")}

          <label htmlFor="type">Type</label>
          <select id="type" name="type" defaultValue={form.type} {...described("type")}>
            <option value="">Any type</option>
            {options.types.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
          {fieldError("type")}

          <label htmlFor="regime">Law</label>
          <select id="regime" name="regime" defaultValue={form.regime} {...described("regime")}>
            <option value="">Any law</option>
            {options.regimes.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
          {fieldError("regime")}

          <label htmlFor="within">Due within (days)</label>
          <input id="within" name="within" type="number" min={0} max={365} step={1} inputMode="numeric" defaultValue={form.within} {...described("within")} />
          {fieldError("within")}

          <label className="choice" htmlFor="overdue">
            <input id="overdue" name="overdue" type="checkbox" value="1" defaultChecked={form.overdue} {...described("overdue")} />
            Overdue only
          </label>
          {fieldError("overdue")}

          <label htmlFor="assignee">Assigned to</label>
          <select id="assignee" name="assignee" defaultValue={form.assignee} {...described("assignee")}>
            <option value="">Anyone or nobody</option>
            {options.assignees.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
          {fieldError("assignee")}

          <label htmlFor="sort">Sort by</label>
          <select id="sort" name="sort" defaultValue={form.sort} {...described("sort")}>
            {Object.entries(sortLabels).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          {fieldError("sort")}
          {fieldError("page")}

          <button type="submit">Show requests</button> <Link to="/admin">Clear filters</Link>
        </Form>
      </div>

      {page ? (
        page.rows.length === 0 ? (
          <p className="card" role="status">
            No requests match.
          </p>
        ) : (
          <>
            <table aria-describedby="queue-summary">
              <caption id="queue-summary" className="hint">
                {`Showing ${page.first}–${page.last} of ${page.totalCapped ? `more than ${page.total.toLocaleString("en")}` : page.total.toLocaleString("en")}; ${sortLabels[form.sort as keyof typeof sortLabels].toLowerCase()}.`}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Reference</th>
                  <th scope="col">Type</th>
                  <th scope="col">Law</th>
                  <th scope="col">Status</th>
                  <th scope="col">Received</th>
                  <th scope="col">Due</th>
                  <th scope="col">Assignee</th>
                </tr>
              </thead>
              <tbody>
                {page.rows.map((r) => (
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
                ))}
              </tbody>
            </table>
            <nav aria-label="Pages" className="card">
              <p>
                {page.previous ? <Link to={page.previous}>← Previous page</Link> : null}
                {page.previous && page.next ? " · " : null}
                <span aria-current="page">Page {page.number}</span>
                {page.next ? (
                  <>
                    {" · "}
                    <Link to={page.next}>Next page →</Link>
                  </>
                ) : null}
              </p>
            </nav>
          </>
        )
      ) : null}
    </section>
  );
}
