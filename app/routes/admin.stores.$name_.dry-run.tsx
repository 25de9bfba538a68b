/**
 * Dry run in one store (admins and processors): for an identity typed here, what access would return (rows per
 * collection and which fields — never values) and what erasure would do (rows per collection and action, the legal
 * bases of what is kept). Changes nothing in the store. The identity is personal data: it is POSTed (never in a URL),
 * not logged, not kept, not shown back, and the form is rate-limited per staff member.
 */
import { getFormProps, getInputProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { DataTable } from "#app/components/data-table.tsx";
import { StaffPage } from "#app/components/staff-page.tsx";
import { DomainError } from "#app/models/errors.ts";
import { dryRunForStaff, requireStoreForEditor, storeKindLabels, type AccessPreview, type ErasurePreview } from "#app/models/store-admin.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { rateLimit } from "#app/utils/rate-limit.server.ts";
import { requireStaff, ROLES } from "#app/utils/session.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Dry run: ${data?.store.name ?? "store"} — Privacy Center staff` }];

/** Who may use this page (read by tests/integration/admin-authz.test.ts; enforced by requireStaff below). */
export const handle = { staffRoles: ["admin", "processor"] };

/** Dry runs per staff member per window: each one queries a company system for a person. */
const DRY_RUN_LIMIT = { limit: 30, windowSeconds: 15 * 60 };

const identityLabels = { email: "Email address", phone: "Phone number", accountId: "Account id" } as const;
const identityTypes = { email: "email", phone: "tel", accountId: "text" } as const;
type IdentityField = keyof typeof identityLabels;
const FIELDS = Object.keys(identityLabels) as IdentityField[];

const schema = z.object({
  email: z.string().max(320, { error: "At most 320 characters." }).optional(),
  phone: z.string().max(40, { error: "At most 40 characters." }).optional(),
  accountId: z.string().max(200, { error: "At most 200 characters." }).optional(),
});

export async function loader({ request, params }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ROLES.workers });
  const s = await requireStoreForEditor(getDb(), params.name ?? "");
  return json(
    {
      me: { name: staff.name, role: staff.role },
      store: { name: s.store.name, kind: storeKindLabels[s.store.kind], enabled: s.store.disabledAt === null },
      identityKinds: s.identityKinds,
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

type ActionData = {
  result: SubmissionResult<string[]>;
  run: { access: AccessPreview; erasure: ErasurePreview; identityKinds: string[] } | null;
};

export async function action({ request, params }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: ROLES.workers });
  const name = params.name ?? "";
  const noStore = { "Cache-Control": "no-store" };
  const form = await readForm(request, FIELDS);
  const submission = parseWithZod(form, { schema });
  // conform's reply never carries the identity back to the page.
  const reply = (options: Parameters<typeof submission.reply>[0] = {}) => submission.reply({ ...options, hideFields: FIELDS });
  const limited = await rateLimit({ bucket: "store-dry-run", key: staff.id, ...DRY_RUN_LIMIT });
  if (!limited.allowed) {
    return json<ActionData>(
      { result: reply({ formErrors: [`Too many dry runs. Please wait ${Math.ceil(limited.retryAfterSeconds / 60)} minutes.`] }), run: null },
      { status: 429, headers: { ...noStore, "Retry-After": String(limited.retryAfterSeconds) } },
    );
  }
  if (submission.status !== "success") return json<ActionData>({ result: reply(), run: null }, { status: 400, headers: noStore });
  let outcome;
  try {
    outcome = await dryRunForStaff(getDb(), { name, staffId: staff.id, identity: submission.value });
  } catch (error) {
    if (error instanceof DomainError) return json<ActionData>({ result: reply({ formErrors: [error.userMessage] }), run: null }, { status: error.status, headers: noStore });
    throw error;
  }
  if (!outcome.ok) {
    const { form: formError, ...fieldErrors } = outcome.fieldErrors;
    return json<ActionData>(
      { result: reply({ ...(formError ? { formErrors: [formError] } : {}), fieldErrors: Object.fromEntries(Object.entries(fieldErrors).map(([k, v]) => [k, [v]])) }), run: null },
      { status: 400, headers: noStore },
    );
  }
  return json<ActionData>({ result: reply({ resetForm: true }), run: { access: outcome.access, erasure: outcome.erasure, identityKinds: outcome.identityKinds } }, { headers: noStore });
}

function Task({ preview }: { preview: { instructions: string; team?: string } }) {
  return (
    <div className="notice">
      <p>A person handles this store{preview.team ? ` (${preview.team})` : ""}. They would be asked:</p>
      <pre>{preview.instructions}</pre>
    </div>
  );
}

function Access({ preview }: { preview: AccessPreview }) {
  if (preview.kind === "error") return <p className="error">The store could not be searched: {preview.message}</p>;
  if (preview.kind === "task") return <Task preview={preview} />;
  const total = preview.collections.reduce((n, c) => n + c.rows, 0);
  return (
    <>
      <p data-testid="access-summary">
        {preview.found === "unknown" ? "The store cannot tell whether it holds records of this person." : preview.found ? `Found: ${total} ${total === 1 ? "row" : "rows"} in total.` : "No records found."}
      </p>
      <DataTable
        columns={["Collection", "Rows", "Fields exported"]}
        rows={preview.collections}
        row={(c) => (
          <tr key={c.name} data-collection={c.name}>
            <th scope="row">{c.name}</th>
            <td data-testid={`access-rows-${c.name}`}>{c.rows}</td>
            <td>
              {c.fields.join(", ") || "—"}
              {c.omitted.length > 0 ? <div className="hint">Never exported: {c.omitted.join(", ")}</div> : null}
            </td>
          </tr>
        )}
      />
    </>
  );
}

function Erasure({ preview }: { preview: ErasurePreview }) {
  if (preview.kind === "error") return <p className="error">The erasure could not be planned: {preview.message}</p>;
  if (preview.kind === "task") return <Task preview={preview} />;
  const t = preview.totals;
  return (
    <>
      <p data-testid="erasure-summary">
        {t.matched === 0 ? "Nothing to erase." : `${t.matched} rows found: ${t.deleted} would be deleted, ${t.masked} kept with fields cleared, ${t.kept} kept as they are.`}
      </p>
      <DataTable
        columns={["Collection", "Found", "Deleted", "Fields cleared", "Kept"]}
        rows={preview.collections}
        row={(c) => (
          <tr key={c.name} data-collection={c.name}>
            <th scope="row">{c.name}</th>
            <td data-testid={`erasure-matched-${c.name}`}>{c.matched}</td>
            <td data-testid={`erasure-deleted-${c.name}`}>{c.deleted}</td>
            <td data-testid={`erasure-masked-${c.name}`}>
              {c.masked}
              {c.masked > 0 && c.rewrites.length > 0 ? <div className="hint">{c.rewrites.map((r) => `${r.field} → ${r.action}`).join(", ")}</div> : null}
            </td>
            <td data-testid={`erasure-kept-${c.name}`}>
              {c.kept}
              {c.bases.map((b) => (
                <div key={b.basis} className="hint">
                  {b.rows} kept: {b.basis}
                </div>
              ))}
            </td>
          </tr>
        )}
      />
    </>
  );
}

export default function DryRun() {
  const { me, store, identityKinds } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>() as ActionData | undefined;
  const [form, fields] = useForm<Record<string, string>>({ id: "dry-run", lastResult: data?.result, shouldValidate: "onSubmit" });
  return (
    <StaffPage
      title={<>Dry run in {store.name}</>}
      role={me.role}
      current="/admin/stores"
      head={
        <>
          <p>
            <Link to="/admin/stores">All stores</Link> · <Link to={`/admin/stores/${store.name}`}>Store {store.name}</Link>
          </p>
          <p>
            What an access request would return and what an erasure would do in this store ({store.kind}
            {store.enabled ? "" : ", disabled"}) for one person — counts per collection and action and which fields, never the values.
            Nothing in the store changes.
          </p>
          <p className="hint">
            The identity you type is sent to the store only for this check: it is not kept, not logged and not shown again. Each dry run
            is recorded in the audit trail (which kinds of identity, not their values).
          </p>
          <Form method="post" {...getFormProps(form)} autoComplete="off">
            <FieldErrors id={form.errorId} errors={form.errors} />
            {FIELDS.filter((k) => identityKinds.includes(k)).map((k) => {
              const field = fields[k]!;
              return (
                <Field key={k} label={identityLabels[k]} htmlFor={field.id} errorId={field.errorId} errors={field.errors}>
                  <input {...getInputProps(field, { type: identityTypes[k] })} defaultValue="" autoComplete="off" aria-describedby={field.errors ? field.errorId : undefined} />
                </Field>
              );
            })}
            <button type="submit">Run dry run</button>
          </Form>
        </>
      }
    >
      {data?.run ? (
        <div className="card" role="status" aria-labelledby="results-title">
          <h2 id="results-title" tabIndex={-1}>
            Results (searched by {data.run.identityKinds.map((k) => identityLabels[k as IdentityField].toLowerCase()).join(" and ")})
          </h2>
          <h3>Access</h3>
          <Access preview={data.run.access} />
          <h3>Erasure</h3>
          <Erasure preview={data.run.erasure} />
        </div>
      ) : null}
    </StaffPage>
  );
}
