import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData } from "@remix-run/react";
import { z } from "zod";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { signInWithPassword } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { rateLimit } from "#app/utils/rate-limit.server.ts";
import { getStaffFromRequest, mfaUrl, safeNextPath, startStaffSession } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Staff sign-in — Privacy Center" }];

/** One message for an unknown email, a wrong password and a locked account: none of them is revealed. */
const FAILED = "Email or password is not correct.";

const schema = z.object({
  email: z.string({ error: "Enter your email address." }).trim().max(254).pipe(z.email({ error: "Enter a valid email address." })),
  password: z.string({ error: "Enter your password." }).max(1024, "That password is too long."),
});

export async function loader({ request }: LoaderFunctionArgs) {
  if (await getStaffFromRequest(request)) throw redirect(safeNextPath(new URL(request.url).searchParams.get("next")));
  return json({});
}

export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await readForm(request, ["email", "password"]);
  const submission = parseWithZod(formData, { schema });
  if (submission.status !== "success") return json(submission.reply({ hideFields: ["password"] }), { status: 400 });

  // Per IP only: a per-account limit here would let anyone lock any account out. Accounts have their own short,
  // capped lockout (staff.server.ts), which answers with the same message as a wrong password.
  const byIp = await rateLimit({ bucket: "login-ip", key: context.clientIp, limit: 30, windowSeconds: 900 });
  if (!byIp.allowed) {
    return json(submission.reply({ formErrors: ["Too many sign-in attempts. Please wait 15 minutes."], hideFields: ["password"] }), { status: 429 });
  }

  const result = await signInWithPassword(getDb(), submission.value.email, submission.value.password);
  if (!result.ok) return json(submission.reply({ formErrors: [FAILED], hideFields: ["password"] }), { status: 401 });

  // First factor done: a session that reaches only the MFA page until the code is shown (token rotated again then).
  const cookie = await startStaffSession(result.staff.id, request);
  const next = safeNextPath(new URL(request.url).searchParams.get("next"));
  return redirect(mfaUrl(next), { headers: { "Set-Cookie": cookie } });
}

export default function Login() {
  const lastResult = useActionData<typeof action>();
  const [form, fields] = useForm({
    lastResult,
    shouldValidate: "onBlur",
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
  });
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Staff sign-in</h1>
      <Form method="post" {...getFormProps(form)}>
        <FieldErrors id={form.errorId} errors={form.errors} />
        <Field label="Email" meta={fields.email}>
          <input {...getInputProps(fields.email, { type: "email" })} autoComplete="username" />
        </Field>
        <Field label="Password" meta={fields.password}>
          <input {...getInputProps(fields.password, { type: "password" })} autoComplete="current-password" />
        </Field>
        <button type="submit">Sign in</button>
      </Form>
      <p className="hint">After your password you will be asked for the 6-digit code from your authenticator app.</p>
    </section>
  );
}
