import { getFormProps, getInputProps, getSelectProps, useForm, type FieldMetadata } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData } from "@remix-run/react";
import { Field, FieldErrors, TextArea, TextField } from "#app/components/field.tsx";
import { SendRequest } from "#app/components/send-request.tsx";
import {
  MAX_PERMISSION_BYTES,
  agentFormSchema,
  agentRegions,
  agentRequestTypes,
  agentTypeAvailable,
  fileTooLargeMessage,
  fileTypeMessage,
  type AgentFormValues,
} from "#app/models/agent-intake.ts";
import { submitAgentRequest } from "#app/models/agents.server.ts";
import { readUploadForm } from "#app/models/documents.server.ts";
import { fieldsOf, sanitizeForm } from "#app/utils/forms.server.ts";
import { newReference } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";
import { rateLimit } from "#app/utils/rate-limit.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — request as an authorized agent" }];

const submittedPath = (reference: string) => `/requests/${reference}/agent-submitted`;

export async function action({ request, context }: ActionFunctionArgs) {
  const upload = await readUploadForm(request, { fileField: "permission", maxFileBytes: MAX_PERMISSION_BYTES });
  const formData = sanitizeForm(upload.formData, fieldsOf(agentFormSchema, "website"), { files: ["permission"] });
  const submission = parseWithZod(formData, { schema: agentFormSchema });
  const fieldErrors: Record<string, string[]> = {};
  if (upload.fileTooLarge) fieldErrors.permission = [fileTooLargeMessage];
  else if (upload.file && !upload.file.contentType) fieldErrors.permission = [fileTypeMessage];
  if (submission.status === "success") {
    const v = submission.value as AgentFormValues;
    if (!agentTypeAvailable(v.type, v.region)) fieldErrors.type = ["This request is not available where the consumer lives."];
  }
  if (upload.malformed) {
    return json(submission.reply({ formErrors: ["We could not read the form. Please check your answers and send it again."], fieldErrors }), { status: 400 });
  }
  if (submission.status !== "success" || Object.keys(fieldErrors).length > 0) {
    return json(Object.keys(fieldErrors).length > 0 ? submission.reply({ fieldErrors }) : submission.reply(), { status: 400 });
  }
  const values = submission.value as AgentFormValues;
  const file = upload.file!;

  // A filled honeypot gets the same answer a person would, and nothing is recorded.
  if (String(formData.get("website") ?? "") !== "") return redirect(submittedPath(newReference()));

  // The intake form's limits and buckets: an agent's request counts against the same budget as the consumer's own.
  const byIp = await rateLimit({ bucket: "intake-ip", key: context.clientIp, limit: 20, windowSeconds: 3600 });
  const byEmail = await rateLimit({ bucket: "intake-email", key: values.consumerEmail.toLowerCase(), limit: 5, windowSeconds: 3600 });
  if (!byIp.allowed || !byEmail.allowed) {
    return json(submission.reply({ formErrors: ["You have made several requests in a short time. Please try again in an hour."] }), { status: 429 });
  }

  const result = await submitAgentRequest(getDb(), {
    type: values.type,
    consumerEmail: values.consumerEmail,
    region: values.region,
    agent: { name: values.agentName, email: values.agentEmail, ...(values.agentOrganisation ? { organisation: values.agentOrganisation } : {}) },
    ...(values.type === "correction" && values.incorrect && values.correct ? { corrections: { incorrect: values.incorrect, correct: values.correct } } : {}),
    document: { bytes: file.bytes, contentType: file.contentType! },
  });
  return redirect(submittedPath(result.reference));
}

export default function AgentRequestForm() {
  const lastResult = useActionData<typeof action>();
  const [form, fields] = useForm({
    lastResult,
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    onValidate: ({ formData }) => parseWithZod(formData, { schema: agentFormSchema }),
  });
  const f = fields as unknown as Record<string, FieldMetadata<string | undefined>>;
  const field = (name: string) => f[name]!;
  const permission = field("permission");

  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Make a request as an authorized agent</h1>
      <p>
        If a consumer has given you signed permission to make a privacy request for them (California Consumer Privacy Act
        and similar US state laws), you can send it here. We then ask the consumer to confirm directly with us, by email,
        that they gave you permission. We act on the request only after they confirm, and we reply to the consumer.
      </p>
      <Form method="post" encType="multipart/form-data" {...getFormProps(form)}>
        <FieldErrors id={form.errorId} errors={form.errors} />
        <fieldset>
          <legend>About you, the agent</legend>
          <TextField meta={field("agentName")} label="Your name" autoComplete="name" />
          <TextField meta={field("agentOrganisation")} label="Your organisation (optional)" autoComplete="organization" hint="If you act for a business registered with the California Secretary of State." />
          <TextField meta={field("agentEmail")} label="Your email address" type="email" autoComplete="email" />
        </fieldset>
        <fieldset>
          <legend>About the consumer</legend>
          <TextField meta={field("consumerEmail")} label="The consumer's email address" type="email" autoComplete="off" hint="The address the consumer uses with us. We ask them to confirm there." />
          <Field label="Where does the consumer live?" meta={field("region")}
            hint="Authorized agents can act under California and other US state privacy laws.">
            <select {...getSelectProps(field("region"))}>
              <option value="">Choose…</option>
              {agentRegions.map((r) => (
                <option key={r.code} value={r.code}>
                  {r.label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="What does the consumer ask for?" htmlFor={field("type").id} errorId={field("type").errorId} errors={field("type").errors}>
            <select {...getSelectProps(field("type"))}>
              <option value="">Choose…</option>
              {Object.entries(agentRequestTypes).map(([type, label]) => (
                <option key={type} value={type}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <details className="optional" open={Boolean(field("incorrect").errors?.length || field("correct").errors?.length)}>
            <summary>For a correction: what is wrong and what it should say</summary>
            <TextArea meta={field("incorrect")} label="What is wrong" />
            <TextArea meta={field("correct")} label="What it should say" />
          </details>
        </fieldset>
        <Field label="The consumer's signed permission" meta={permission}
          hint="A PDF, PNG or JPEG file of at most 5 MB: the consumer's written permission for you to make this request, signed by them.">
          <input {...getInputProps(permission, { type: "file" })} accept="application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg" />
        </Field>
        <SendRequest />
      </Form>
    </section>
  );
}
