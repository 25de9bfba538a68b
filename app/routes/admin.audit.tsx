/**
 * The audit log viewer (admins and auditors): every event, newest first, filtered by request reference, actor,
 * action and date range, paged by id; and "Verify integrity", which walks the hash chain and reports the first
 * broken link. Read-only — also the verification, a GET (auditors may run it; their POSTs are refused everywhere).
 */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { auditActors, parseAuditParams, searchAuditLog, verifyAuditChainFor, type AuditParams } from "#app/models/audit-log.server.ts";
import { getDb } from "#db/client.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { requireStaff } from "#app/utils/session.server.ts";
import { StaffNav } from "#app/components/staff-nav.tsx";

export const meta: MetaFunction = () => [{ title: "Audit log — Privacy Center staff" }];

/** Who may use this page (read by tests/integration/admin-authz.test.ts; enforced by requireStaff below). */
export const handle = { staffRoles: ["admin", "auditor"] };
const ALLOWED = ["admin", "auditor"] as const;

function linkWith(params: Partial<AuditParams>, changes: Record<string, string | number | undefined>) {
  const merged: Record<string, unknown> = { ...params, verify: undefined, ...changes };
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(merged)) if (v !== undefined && v !== "") out.set(k, String(v));
  const s = out.toString();
  return `/admin/audit${s ? `?${s}` : ""}`;
}

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ALLOWED });
  const db = getDb();
  const parsed = parseAuditParams(new URL(request.url).searchParams);
  const actors = [
    { value: "subject", label: "The requester (subject)" },
    { value: "agent", label: "An authorized agent" },
    { value: "system", label: "The portal (system jobs)" },
    ...(await auditActors(db)),
  ];
  const headers = { "Cache-Control": "no-store" };
  if (!parsed.ok) {
    return json(
      { me: { role: staff.role }, actors, errors: parsed.errors, form: parsed.raw as Record<string, string>, page: null, verification: null },
      { status: 400, headers },
    );
  }
  const p = parsed.params;
  const verification = p.verify ? await verifyAuditChainFor(db, staff.id) : null;
  const page = await searchAuditLog(db, p, getEnv().ORG_TIMEZONE);
  return json(
    {
      me: { role: staff.role },
      actors,
      errors: [] as { field: string; message: string }[],
      form: { reference: p.reference ?? "", actor: p.actor ?? "", action: p.action ?? "", from: p.from ?? "", to: p.to ?? "" } as Record<string, string>,
      verification,
      page: {
        unknownReference: page.unknownReference,
        entries: page.entries.map((e) => ({
          id: e.id,
          at: e.createdAt.toISOString().replace("T", " ").slice(0, 23) + " UTC",
          reference: e.reference,
          actor: e.actorType,
          actorLabel: e.actorName ?? e.actorId,
          action: e.action,
          details: JSON.stringify(e.details),
          hash: e.hash.slice(0, 12),
        })),
        older: page.olderBefore ? linkWith(p, { before: page.olderBefore }) : null,
        newest: p.before ? linkWith(p, { before: undefined }) : null,
      },
    },
    { headers },
  );
}

const reasons = {
  hash_mismatch: "its content no longer matches its hash: the row was edited",
  prev_hash_mismatch: "it does not point at the event before it: an event before it was deleted or inserted, or a hash rewritten",
  gap: "a gap in the chain",
} as const;

export default function AuditLog() {
  const { me, actors, errors, form, page, verification } = useLoaderData<typeof loader>();
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
        <h1 id="title">Audit log</h1>
        <StaffNav role={me.role} current="/admin/audit" />
        <p>
          Every state change and staff action, append-only and hash-chained: each event carries the hash of the one before, so an
          edited or deleted event breaks the chain.
        </p>
        {verification ? (
          verification.ok ? (
            <p className="success" role="status" data-testid="verification">
              {`Integrity verified: all ${verification.count.toLocaleString("en")} events are intact and linked.`}
            </p>
          ) : (
            <p className="error" role="alert" data-testid="verification">
              {`The chain is broken at event ${verification.brokenAtId} (after checking ${verification.count.toLocaleString("en")} events): ${reasons[verification.reason]}.`}
            </p>
          )
        ) : null}
        {page ? (
          <Form method="get" action="/admin/audit">
            {Object.entries(form).map(([k, v]) => (v ? <input key={k} type="hidden" name={k} value={v} /> : null))}
            <input type="hidden" name="verify" value="1" />
            <button type="submit" className="secondary">
              Verify integrity
            </button>
          </Form>
        ) : null}
      </div>

      <div className="card">
        <Form method="get" aria-labelledby="filter-title">
          <h2 id="filter-title">Filter</h2>
          {errors.length > 0 ? (
            <div role="alert" className="error">
              <p>These filters could not be used:</p>
              <ul>
                {errors.map((e) => (
                  <li key={`${e.field}:${e.message}`}>{e.message}</li>
                ))}
              </ul>
            </div>
          ) : null}
          <label htmlFor="reference">Request reference</label>
          <input id="reference" name="reference" type="text" defaultValue={form.reference ?? ""} placeholder="PR-XXXX-XXXX" autoComplete="off" {...described("reference")} />
          {fieldError("reference")}
          <label htmlFor="actor">Actor</label>
          <select id="actor" name="actor" defaultValue={form.actor ?? ""} {...described("actor")}>
            <option value="">Anyone</option>
            {actors.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
          </select>
          {fieldError("actor")}
          <label htmlFor="action">Action</label>
          <p className="hint" id="action-hint">
            Exact, e.g. request.denied — or ending with * for all that start so, e.g. request.*
          </p>
          <input id="action" name="action" type="text" defaultValue={form.action ?? ""} autoComplete="off" aria-describedby="action-hint" {...described("action")} />
          {fieldError("action")}
          <label htmlFor="from">From (date)</label>
          <input id="from" name="from" type="date" defaultValue={form.from ?? ""} {...described("from")} />
          {fieldError("from")}
          <label htmlFor="to">To (date)</label>
          <input id="to" name="to" type="date" defaultValue={form.to ?? ""} {...described("to")} />
          {fieldError("to")}
          {fieldError("before")}
          {fieldError("verify")}
          <button type="submit">Show events</button> <Link to="/admin/audit">Clear filters</Link>
        </Form>
      </div>

      {page ? (
        page.unknownReference ? (
          <p className="card" role="status">
            No request has that reference.
          </p>
        ) : page.entries.length === 0 ? (
          <p className="card" role="status">
            No events match.
          </p>
        ) : (
          <>
            <table>
              <caption className="hint">Newest first</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Request</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {page.entries.map((e) => (
                  <tr key={e.id} data-event={e.id}>
                    <td title={`hash ${e.hash}…`}>{e.id}</td>
                    <td>{e.at}</td>
                    <td>{e.reference ? <Link to={`/admin/requests/${e.reference}`}>{e.reference}</Link> : "—"}</td>
                    <td>
                      {e.actor}
                      {e.actorLabel ? ` (${e.actorLabel})` : ""}
                    </td>
                    <td>{e.action}</td>
                    <td>
                      <code>{e.details}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <nav aria-label="Pages" className="card">
              <p>
                {page.newest ? <Link to={page.newest}>← Newest events</Link> : null}
                {page.newest && page.older ? " · " : null}
                {page.older ? <Link to={page.older}>Older events →</Link> : null}
              </p>
            </nav>
          </>
        )
      ) : null}
    </section>
  );
}
