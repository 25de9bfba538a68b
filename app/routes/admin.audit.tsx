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
import { AuditEventCells } from "#app/components/audit-event.tsx";
import { DataTable } from "#app/components/data-table.tsx";
import { FilterForm, FilterInput, FilterSelect, filterFieldErrors } from "#app/components/filter-form.tsx";
import { PagedResults } from "#app/components/pager.tsx";
import { StaffPage } from "#app/components/staff-page.tsx";

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
  const fields = filterFieldErrors(errors);
  return (
    <StaffPage
      title="Audit log"
      role={me.role}
      current="/admin/audit"
      head={
        <>
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
        </>
      }
    >
      <div className="card">
        <FilterForm titleId="filter-title" title="Filter" errors={errors} errorsTitle="These filters could not be used:" submit="Show events" clear="/admin/audit">
          <FilterInput name="reference" label="Request reference" fields={fields} type="text" defaultValue={form.reference ?? ""} placeholder="PR-XXXX-XXXX" autoComplete="off" />
          <FilterSelect name="actor" label="Actor" any="Anyone" options={actors} defaultValue={form.actor ?? ""} fields={fields} />
          <FilterInput
            name="action"
            label="Action"
            hint="Exact, e.g. request.denied — or ending with * for all that start so, e.g. request.*"
            fields={fields}
            type="text"
            defaultValue={form.action ?? ""}
            autoComplete="off"
          />
          <FilterInput name="from" label="From (date)" fields={fields} type="date" defaultValue={form.from ?? ""} />
          <FilterInput name="to" label="To (date)" fields={fields} type="date" defaultValue={form.to ?? ""} />
          {fields.fieldError("before")}
          {fields.fieldError("verify")}
        </FilterForm>
      </div>

      {page ? (
        <PagedResults
          none={page.unknownReference ? "No request has that reference." : page.entries.length === 0 ? "No events match." : null}
          back={page.newest ? { to: page.newest, label: "← Newest events" } : null}
          forward={page.older ? { to: page.older, label: "Older events →" } : null}
        >
          <DataTable
            caption="Newest first"
            captionClassName="hint"
            columns={["#", "When", "Request", "Actor", "Action", "Details"]}
            rows={page.entries}
            row={(e) => (
              <tr key={e.id} data-event={e.id}>
                <td title={`hash ${e.hash}…`}>{e.id}</td>
                <td>{e.at}</td>
                <td>{e.reference ? <Link to={`/admin/requests/${e.reference}`}>{e.reference}</Link> : "—"}</td>
                <AuditEventCells actor={e.actor} actorName={e.actorLabel} action={e.action} details={e.details} />
              </tr>
            )}
          />
        </PagedResults>
      ) : null}
    </StaffPage>
  );
}
