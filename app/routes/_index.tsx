import { getFormProps, getInputProps, getSelectProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useNavigation } from "@remix-run/react";
import { Field, FieldErrors, Honeypot } from "#app/components/field.tsx";
import { intakeSchema } from "#app/models/intake.ts";
import { regions } from "#app/models/regions.ts";
import { requestTypeLabels } from "#app/models/request-types.ts";
import { newReference, submitRequest } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";
import { rateLimit } from "#app/utils/rate-limit.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — make a request" }];

export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await request.formData();
  const submission = parseWithZod(formData, { schema: intakeSchema });
  if (submission.status !== "success") return json(submission.reply(), { status: 400 });

  // A filled honeypot gets the same answer as a person would, and nothing is recorded.
  if (String(formData.get("website") ?? "") !== "") return redirect(`/requests/${newReference()}/verify`);

  const byIp = await rateLimit({ bucket: "intake-ip", key: context.clientIp, limit: 20, windowSeconds: 3600 });
  const byEmail = await rateLimit({ bucket: "intake-email", key: submission.value.email.toLowerCase(), limit: 5, windowSeconds: 3600 });
  if (!byIp.allowed || !byEmail.allowed) {
    return json(submission.reply({ formErrors: ["You have made several requests in a short time. Please try again in an hour."] }), { status: 429 });
  }

  const { reference } = await submitRequest(getDb(), submission.value);
  return redirect(`/requests/${reference}/verify`);
}

export default function RequestForm() {
  const lastResult = useActionData<typeof action>();
  const navigation = useNavigation();
  const [form, fields] = useForm({
    lastResult,
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    defaultValue: { type: "access" },
    onValidate: ({ formData }) => parseWithZod(formData, { schema: intakeSchema }),
  });

  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Your privacy rights</h1>
      <p>
        You can ask us what personal data we hold about you and receive a copy. We will first confirm that the request
        comes from you by sending a code to your email address.
      </p>
      <Form method="post" {...getFormProps(form)}>
        <FieldErrors id={form.errorId} errors={form.errors} />
        <fieldset aria-describedby={fields.type.errorId}>
          <legend>What would you like us to do?</legend>
          <label className="choice">
            <input {...getInputProps(fields.type, { type: "radio", value: "access" })} />
            <span>
              <strong>{requestTypeLabels.access}</strong>
              <br />
              <span className="hint">We will send you a copy of the personal data we hold about you and explain how we use it.</span>
            </span>
          </label>
          <FieldErrors id={fields.type.errorId} errors={fields.type.errors} />
        </fieldset>

        <Field label="Email address" htmlFor={fields.email.id} errorId={fields.email.errorId} errors={fields.email.errors}
          hint="The address you use with us. We send the verification code there." hintId={`${fields.email.id}-hint`}>
          <input {...getInputProps(fields.email, { type: "email" })} autoComplete="email" />
        </Field>

        <Field label="Where do you live?" htmlFor={fields.region.id} errorId={fields.region.errorId} errors={fields.region.errors}
          hint="This decides which privacy law applies to your request." hintId={`${fields.region.id}-hint`}>
          <select {...getSelectProps(fields.region)}>
            <option value="">Choose…</option>
            {regions.map((r) => (
              <option key={r.code} value={r.code}>
                {r.label}
              </option>
            ))}
          </select>
        </Field>

        <Honeypot />
        <button type="submit" disabled={navigation.state === "submitting"}>
          Send request
        </button>
      </Form>
    </section>
  );
}
