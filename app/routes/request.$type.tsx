import { getFormProps, getInputProps, getSelectProps, useForm, type FieldMetadata } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { Field, FieldErrors, TextArea, TextField } from "#app/components/field.tsx";
import { SendRequest } from "#app/components/send-request.tsx";
import { intakeSchemaFor, type IntakeValues } from "#app/models/intake.ts";
import { regions } from "#app/models/regions.ts";
import { requestTypeFromSlug, requestTypeInfo } from "#app/models/request-types.ts";
import { newReference, submitInputFrom, submitRequest } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";
import { fieldsOf, readForm } from "#app/utils/forms.server.ts";
import { rateLimits } from "#app/utils/rate-limit.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Privacy Center — ${data?.label ?? "make a request"}` }];

/** Global Privacy Control (Sec-GPC: 1) — honoured on the opt-out forms. */
const gpcSignal = (request: Request) => request.headers.get("sec-gpc")?.trim() === "1";

function typeOf(slug: string | undefined) {
  const type = requestTypeFromSlug(slug ?? "");
  if (!type) throw new Response("Not found", { status: 404 });
  return type;
}

export async function loader({ params, request }: LoaderFunctionArgs) {
  const type = typeOf(params.type);
  const info = requestTypeInfo[type];
  return json({
    type,
    label: info.label,
    summary: info.summary,
    regions: regions.filter((r) => info.regimes.includes(r.regime)).map((r) => ({ code: r.code, label: r.label })),
    gpc: (type === "opt_out" || type === "limit_sensitive") && gpcSignal(request),
  });
}

export async function action({ params, request, context }: ActionFunctionArgs) {
  const type = typeOf(params.type);
  const schema = intakeSchemaFor(type);
  const formData = await readForm(request, fieldsOf(schema, "website"));
  const submission = parseWithZod(formData, { schema });
  if (submission.status !== "success") return json(submission.reply(), { status: 400 });
  const values = submission.value as IntakeValues;
  const region = regions.find((r) => r.code === values.region);
  if (!region || !requestTypeInfo[type].regimes.includes(region.regime)) {
    return json(submission.reply({ fieldErrors: { region: ["This request is not available where you live."] } }), { status: 400 });
  }

  // A filled honeypot gets the same answer a person would, and nothing is recorded.
  if (String(formData.get("website") ?? "") !== "") return redirect(`/requests/${newReference()}/verify`);

  const [byIp, byEmail] = await rateLimits([
    { bucket: "intake-ip", key: context.clientIp, limit: 20, windowSeconds: 3600 },
    { bucket: "intake-email", key: values.email.toLowerCase(), limit: 5, windowSeconds: 3600 },
  ]);
  if (!byIp!.allowed || !byEmail!.allowed) {
    return json(submission.reply({ formErrors: ["You have made several requests in a short time. Please try again in an hour."] }), { status: 429 });
  }

  const gpc = (type === "opt_out" || type === "limit_sensitive") && gpcSignal(request);
  const result = await submitRequest(getDb(), submitInputFrom(type, values, new Date(), gpc));
  return redirect(result.verificationRequired ? `/requests/${result.reference}/verify` : `/requests/${result.reference}/confirmed`);
}

export default function RequestForm() {
  const data = useLoaderData<typeof loader>();
  const lastResult = useActionData<typeof action>();
  const schema = intakeSchemaFor(data.type);
  const [form, fields] = useForm<Record<string, string>>({
    lastResult,
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    defaultValue: data.type === "access" ? { accessScope: "categories" } : {},
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
  });
  const f = fields as unknown as Record<string, FieldMetadata<string | undefined>>;
  const field = (name: string) => f[name]!;
  const dataPointErrors = ["phone", "postalCode", "orderNumber", "accountId"].some((k) => (field(k).errors?.length ?? 0) > 0);

  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">{data.label}</h1>
      <p>{data.summary}</p>
      {data.gpc ? (
        <p className="success" role="status">
          Your browser sent a Global Privacy Control signal. We honour it: submitting this form applies your choice to the
          personal data linked to the email address you give below.
        </p>
      ) : null}
      <Form method="post" {...getFormProps(form)}>
        <FieldErrors id={form.errorId} errors={form.errors} />
        <TextField meta={field("email")} label="Email address" type="email" autoComplete="email" hint="The address you use with us. We write to you there." />
        <TextField meta={field("name")} label="Your name (optional)" autoComplete="name" />
        <Field label="Where do you live?" meta={field("region")}
          hint="This decides which privacy law applies to your request.">
          <select {...getSelectProps(field("region"))}>
            <option value="">Choose…</option>
            {data.regions.map((r) => (
              <option key={r.code} value={r.code}>
                {r.label}
              </option>
            ))}
          </select>
        </Field>

        {data.type === "access" ? (
          <>
            <fieldset aria-describedby={field("accessScope").errorId}>
              <legend>What would you like to receive? (California residents)</legend>
              <label className="choice">
                <input {...getInputProps(field("accessScope"), { type: "radio", value: "categories" })} />
                <span>The categories of personal data we collected about you, where it came from, why, and with whom we shared it.</span>
              </label>
              <label className="choice">
                <input {...getInputProps(field("accessScope"), { type: "radio", value: "specific" })} />
                <span>A copy of the specific pieces of personal data. This needs stronger proof of identity and a signed declaration.</span>
              </label>
              <FieldErrors id={field("accessScope").errorId} errors={field("accessScope").errors} />
            </fieldset>
            <fieldset>
              <legend>Declaration (only for specific pieces)</legend>
              <p className="hint">
                I declare under penalty of perjury under the laws of the State of California that I am the consumer whose
                personal information is the subject of this request.
              </p>
              <TextField meta={field("declarationName")} label="Type your full name to sign" autoComplete="name" />
              <label className="choice">
                <input {...getInputProps(field("declarationAccepted"), { type: "checkbox", value: "on" })} />
                <span>I sign this declaration.</span>
              </label>
              <FieldErrors id={field("declarationAccepted").errorId} errors={field("declarationAccepted").errors} />
            </fieldset>
          </>
        ) : null}

        {data.type === "correction" ? (
          <>
            <TextArea meta={field("incorrect")} label="What is wrong" hint="Which data is inaccurate, and where you saw it." />
            <TextArea meta={field("correct")} label="What it should say" />
          </>
        ) : null}

        {data.type === "objection" || data.type === "restriction" ? (
          <TextArea meta={field("reason")} label="Your reason" hint="Which use of your data this is about, and why." />
        ) : null}

        <details className="optional" open={dataPointErrors}>
          <summary>Help us confirm it is you (optional)</summary>
          <p className="hint">Details we can match against our records. They make your request faster to verify.</p>
          <TextField meta={field("phone")} label="Phone number" type="tel" autoComplete="tel" />
          <TextField meta={field("postalCode")} label="Postal code" autoComplete="postal-code" />
          <TextField meta={field("orderNumber")} label="A recent order number" />
          <TextField meta={field("accountId")} label="Account ID" />
        </details>

        <SendRequest />
      </Form>
    </section>
  );
}
