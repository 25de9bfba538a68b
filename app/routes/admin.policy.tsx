/**
 * Approval policy (admins): per law and request type, is a request that reached its required verification level
 * approved automatically, or does it wait for staff review? Saving needs a step-up; every change is an audit event.
 */
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { approvalModes, getApprovalPolicy, setApprovalPolicy, type ApprovalMode, type ApprovalPolicyChange } from "#app/models/approval-policy.server.ts";
import { DomainError } from "#app/models/errors.ts";
import { regimeLabels } from "#app/models/regions.ts";
import { requestTypeInfo } from "#app/models/request-types.ts";
import { listStaff } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import type { Regime, RequestType } from "#db/schema/index.ts";
import { requireStaff, requireStepUp, ROLES } from "#app/utils/session.server.ts";
import { StaffNav } from "#app/components/staff-nav.tsx";

export const meta: MetaFunction = () => [{ title: "Approval policy — Privacy Center staff" }];

/** Who may use this page (read by tests/integration/admin-authz.test.ts; enforced by requireStaff below). */
export const handle = { staffRoles: ["admin"] };

const modeLabels: Record<ApprovalMode, string> = { automatic: "Approve automatically", review: "Staff review" };
const fieldName = (regime: string, type: string) => `mode.${regime}.${type}`;

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: ROLES.admins });
  const db = getDb();
  const [policy, staff] = await Promise.all([getApprovalPolicy(db), listStaff(db)]);
  const names = new Map(staff.map((s) => [s.id, s.name]));
  const regimes = [...new Set(policy.map((p) => p.regime))];
  const types = [...new Set(policy.map((p) => p.type))];
  return json({
    regimes: regimes.map((r) => ({ value: r, label: regimeLabels[r] })),
    types: types.map((t) => ({ value: t, label: requestTypeInfo[t].label, offeredIn: requestTypeInfo[t].regimes as readonly string[] })),
    modes: approvalModes.map((m) => ({ value: m, label: modeLabels[m] })),
    cells: policy.map((p) => ({
      regime: p.regime,
      type: p.type,
      mode: p.mode,
      isDefault: p.isDefault,
      changed: p.updatedAt ? `${p.updatedAt.toISOString().slice(0, 16).replace("T", " ")} UTC${p.updatedBy ? ` by ${names.get(p.updatedBy) ?? "a former staff member"}` : ""}` : null,
    })),
  });
}

export async function action({ request }: ActionFunctionArgs) {
  await requireStaff(request, { roles: ROLES.admins });
  const { staff } = await requireStepUp(request, { roles: ROLES.admins, returnTo: "/admin/policy" });
  const db = getDb();
  const current = await getApprovalPolicy(db);
  const form = await readForm(request, current.map((c) => fieldName(c.regime, c.type)));
  const changes: ApprovalPolicyChange[] = [];
  const errors: string[] = [];
  for (const cell of current) {
    const value = form.get(fieldName(cell.regime, cell.type));
    if (value === null) continue; // not sent: unchanged
    if (!(approvalModes as readonly string[]).includes(String(value))) {
      errors.push(`${regimeLabels[cell.regime]} — ${requestTypeInfo[cell.type].label}: choose one of the listed modes.`);
      continue;
    }
    changes.push({ regime: cell.regime as Regime, type: cell.type as RequestType, mode: value as ApprovalMode });
  }
  if (errors.length > 0) return json({ errors }, { status: 400 });
  try {
    const made = await setApprovalPolicy(db, { id: staff.id, role: staff.role }, changes);
    return redirect(`/admin/policy?saved=${made.length}`);
  } catch (error) {
    if (error instanceof DomainError) return json({ errors: [error.userMessage] }, { status: error.status });
    throw error;
  }
}

export default function PolicyPage() {
  const { regimes, types, modes, cells } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const [searchParams] = useSearchParams();
  const saved = searchParams.get("saved");
  const cell = (regime: string, type: string) => cells.find((c) => c.regime === regime && c.type === type)!;
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">Approval policy</h1>
        <StaffNav role="admin" current="/admin/policy" />
        <p>
          When a request reaches the verification level its law requires, it is either <strong>approved automatically</strong> and
          goes to processing, or waits for <strong>staff review</strong> in the queue. By default, opt-outs of sale or sharing and limits
          on sensitive data are automatic (they need no verification and must be acted on quickly); everything else is reviewed.
        </p>
        <p className="hint">Saving asks for a fresh authenticator code. Every change is recorded in the audit trail.</p>
        {saved !== null ? (
          <p className="success" role="status">
            {saved === "0" ? "Nothing changed." : `Saved: ${saved} ${saved === "1" ? "change" : "changes"}.`}
          </p>
        ) : null}
        {data?.errors ? (
          <div className="error" role="alert">
            {data.errors.map((e) => (
              <p key={e}>{e}</p>
            ))}
          </div>
        ) : null}
      </div>
      <Form method="post">
        {regimes.map((regime) => (
          <fieldset key={regime.value} className="card">
            <legend>{regime.label}</legend>
            {types.map((type) => {
              const c = cell(regime.value, type.value);
              const id = `mode-${regime.value}-${type.value}`;
              return (
                <div key={type.value}>
                  <label htmlFor={id}>{type.label}</label>
                  <p className="hint" id={`${id}-hint`}>
                    {type.offeredIn.includes(regime.value) ? "" : "Not offered on the request form under this law. "}
                    {c.isDefault ? "The default." : "Changed from the default."}
                    {c.changed ? ` Last changed ${c.changed}.` : ""}
                  </p>
                  <select id={id} name={fieldName(regime.value, type.value)} defaultValue={c.mode} aria-describedby={`${id}-hint`}>
                    {modes.map((m) => (
                      <option key={m.value} value={m.value}>
                        {m.label}
                      </option>
                    ))}
                  </select>
                </div>
              );
            })}
          </fieldset>
        ))}
        <div className="card">
          <button type="submit">Save policy</button>
        </div>
      </Form>
    </section>
  );
}
