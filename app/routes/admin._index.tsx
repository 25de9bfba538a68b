import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { formatDueDate } from "#app/models/deadlines.ts";
import { regimeLabels } from "#app/models/regions.ts";
import { requestTypeLabels } from "#app/models/request-types.ts";
import { listRequests } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";
import { requireStaff } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Requests — Privacy Center staff" }];

const DAY = 86_400_000;

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  const now = Date.now();
  const rows = await listRequests(getDb(), { limit: 100 });
  return json({
    staff: { name: staff.name },
    requests: rows.map((r) => {
      const due = (r.extendedDueAt ?? r.dueAt).getTime();
      const daysLeft = Math.ceil((due - now) / DAY);
      const open = !["completed", "denied", "cancelled", "expired", "closed"].includes(r.status);
      return {
        reference: r.reference,
        type: requestTypeLabels[r.type],
        regime: regimeLabels[r.regime],
        status: r.status.replaceAll("_", " "),
        received: formatDueDate(r.receivedAt),
        due: formatDueDate(new Date(due)),
        badge: !open ? null : daysLeft < 0 ? "overdue" : daysLeft <= 7 ? "due-soon" : "on-time",
        daysLeft,
      };
    }),
  });
}

export default function AdminRequests() {
  const { staff, requests } = useLoaderData<typeof loader>();
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">Requests</h1>
        <p>
          Signed in as {staff.name}.{" "}
        </p>
        <Form method="post" action="/admin/logout">
          <button type="submit" className="secondary">
            Sign out
          </button>
        </Form>
      </div>
      {requests.length === 0 ? (
        <p className="card">No requests yet.</p>
      ) : (
        <table>
          <caption className="hint">Newest first</caption>
          <thead>
            <tr>
              <th scope="col">Reference</th>
              <th scope="col">Type</th>
              <th scope="col">Law</th>
              <th scope="col">Status</th>
              <th scope="col">Received</th>
              <th scope="col">Due</th>
            </tr>
          </thead>
          <tbody>
            {requests.map((r) => (
              <tr key={r.reference} data-reference={r.reference}>
                <td>
                  <Link to={`/admin/requests/${r.reference}`}>{r.reference}</Link>
                </td>
                <td>{r.type}</td>
                <td>{r.regime}</td>
                <td>{r.status}</td>
                <td>{r.received}</td>
                <td>
                  {r.due}{" "}
                  {r.badge ? (
                    <span className={`badge ${r.badge}`}>
                      {r.badge === "overdue" ? `${-r.daysLeft} days overdue` : `${r.daysLeft} days left`}
                    </span>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
