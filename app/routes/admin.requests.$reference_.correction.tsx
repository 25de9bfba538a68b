/**
 * Confirming a correction (docs/decisions/015-correction-and-opt-out.md): what the requester says is wrong and what
 * is right (decrypted — so the page needs a fresh step-up, and viewing it is an audit event), and a form where an
 * admin or processor confirms or edits the new value of each subject attribute. Only confirmed values are ever
 * written into the stores; the request can be approved once they are confirmed. Values never reach a URL, a log line
 * or the audit trail (the event names the attributes).
 */
import { getFormProps, getInputProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { Field } from "#app/components/field.tsx";
import { StaffNav } from "#app/components/staff-nav.tsx";
import { correctionAttributeLabels, correctionFormSchema } from "#app/models/correction-form.ts";
import { confirmCorrection, viewCorrection } from "#app/models/corrections.server.ts";
import { subjectAttributes, type SubjectAttribute } from "#app/models/data-map.ts";
import { DomainError } from "#app/models/errors.ts";
import { getRequestByReference } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { requireStaff, requireStepUp, ROLES } from "#app/utils/session.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Correction ${data?.reference ?? ""} — Privacy Center staff` }];

const noStore = { "Cache-Control": "no-store" };
/** The page shows identity data: never cached (the document response too, not only its data requests). */
export const headers: HeadersFunction = () => noStore;
const FIELDS = [...subjectAttributes];
const inputModes: Partial<Record<SubjectAttribute, "email" | "tel">> = { email: "email", phone: "tel" };

async function correctionRequestOr404(reference: string) {
  const row = await getRequestByReference(getDb(), reference);
  if (!row || row.type !== "correction") throw json({ message: "No correction request with this reference." }, { status: 404 });
  return row;
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireStaff(request);
  const path = `/admin/requests/${params.reference}/correction`;
  const { staff } = await requireStepUp(request, { returnTo: path });
  const row = await correctionRequestOr404(params.reference ?? "");
  const view = await viewCorrection(getDb(), { requestId: row.id, actor: staff });
  return json(
    {
      me: { role: staff.role },
      reference: row.reference,
      status: row.status.replaceAll("_", " "),
      requested: view.requested ?? null,
      confirmed: view.confirmed
        ? { values: view.confirmed.values, attributes: view.confirmed.attributes, at: `${view.confirmed.confirmedAt.toISOString().slice(0, 16).replace("T", " ")} UTC` }
        : null,
      editable: view.editable && staff.role !== "auditor",
      labels: correctionAttributeLabels,
    },
    { headers: noStore },
  );
}

export async function action({ request, params }: ActionFunctionArgs) {
  await requireStaff(request, { roles: ROLES.workers });
  const path = `/admin/requests/${params.reference}/correction`;
  const { staff } = await requireStepUp(request, { roles: ROLES.workers, returnTo: path });
  const row = await correctionRequestOr404(params.reference ?? "");
  const form = await readForm(request, FIELDS);
  const submission = parseWithZod(form, { schema: correctionFormSchema });
  if (submission.status !== "success") return json({ result: submission.reply() as SubmissionResult<string[]> }, { status: 400, headers: noStore });
  try {
    const { resumed } = await confirmCorrection(getDb(), { requestId: row.id, actor: { id: staff.id, role: staff.role }, values: submission.value });
    return redirect(`${path}?confirmed=${resumed ? "resumed" : "1"}`, { headers: noStore });
  } catch (error) {
    if (error instanceof DomainError) {
      return json({ result: submission.reply({ formErrors: [error.userMessage] }) as SubmissionResult<string[]> }, { status: error.status, headers: noStore });
    }
    throw error;
  }
}

export default function CorrectionPage() {
  const data = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [searchParams] = useSearchParams();
  const confirmedNow = searchParams.get("confirmed");
  const [form, fields] = useForm({
    id: "correction",
    lastResult: actionData?.result,
    defaultValue: data.confirmed?.values ?? {},
    onValidate: ({ formData }) => parseWithZod(formData, { schema: correctionFormSchema }),
    // Validated when submitted (then again as the fields change): a blur never sends anything to the server.
    shouldValidate: "onSubmit",
    shouldRevalidate: "onInput",
  });
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">Correction {data.reference}</h1>
        <StaffNav role={data.me.role} current="/admin" />
        <p>
          <Link to={`/admin/requests/${data.reference}`}>Back to the request</Link> (status: {data.status})
        </p>
        {confirmedNow ? (
          <p className="success" role="status">
            {confirmedNow === "resumed" ? "Values confirmed. The approved correction is being carried out in every store." : "Values confirmed. The request can now be approved."}
          </p>
        ) : null}
      </div>
      <div className="card">
        <h2>What the requester asked</h2>
        {data.requested ? (
          <>
            <h3>What is wrong</h3>
            <pre>{data.requested.incorrect}</pre>
            <h3>What it should say</h3>
            <pre>{data.requested.correct}</pre>
          </>
        ) : (
          <p>The request carries no description of the correction.</p>
        )}
        <p className="hint">
          {data.confirmed
            ? `Values confirmed ${data.confirmed.at}: ${data.confirmed.attributes.map((a) => data.labels[a as SubjectAttribute].toLowerCase()).join(", ")}.`
            : "No values confirmed yet: nothing is changed in our systems until a person confirms them here."}
        </p>
      </div>
      {data.editable ? (
        <Form method="post" {...getFormProps(form)} className="card" aria-labelledby="confirm-title">
          <h2 id="confirm-title">Confirm the new values</h2>
          <p className="hint" id="correction-hint">
            Fill in only what changes; leave the rest empty. Each value is written into every field our data maps mark with that
            attribute, for this person only. Phone numbers in international format (+44 …). Saving asks for a fresh authenticator code
            if the last one is older than ten minutes.
          </p>
          <div id={form.errorId} role="alert">
            {form.errors?.map((e) => (
              <p key={e} className="error">
                {e}
              </p>
            ))}
          </div>
          {FIELDS.map((attribute) => {
            const field = fields[attribute];
            return (
              <Field key={attribute} label={data.labels[attribute]} htmlFor={field.id} errorId={field.errorId} errors={field.errors}>
                <input
                  {...getInputProps(field, { type: "text" })}
                  inputMode={inputModes[attribute]}
                  autoComplete="off"
                  aria-describedby={`correction-hint ${field.errorId}`}
                />
              </Field>
            );
          })}
          <button type="submit">{data.confirmed ? "Confirm the changed values" : "Confirm these values"}</button>
        </Form>
      ) : (
        <div className="card">
          <p>{data.me.role === "auditor" ? "Auditors can read the correction but not confirm it." : "The values can no longer be changed: the correction has been carried out or closed."}</p>
        </div>
      )}
    </section>
  );
}
