import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData } from "@remix-run/react";
import { z } from "zod";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { appendEvent } from "#app/models/audit.server.ts";
import { authenticateStaff } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { rateLimit, resetRateLimit } from "#app/utils/rate-limit.server.ts";
import { getStaffFromRequest, safeNextPath, startStaffSession } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Staff sign-in — Privacy Center" }];

const schema = z.object({
  email: z.string({ error: "Enter your email address." }).trim().max(254).pipe(z.email({ error: "Enter a valid email address." })),
  password: z.string({ error: "Enter your password." }).max(1024, "That password is too long."),
});

export async function loader({ request }: LoaderFunctionArgs) {
  if (await getStaffFromRequest(request)) throw redirect("/admin");
  return json({});
}

export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await request.formData();
  const submission = parseWithZod(formData, { schema });
  if (submission.status !== "success") return json(submission.reply({ hideFields: ["password"] }), { status: 400 });

  const byIp = await rateLimit({ bucket: "login-ip", key: context.clientIp, limit: 30, windowSeconds: 900 });
  const byAccount = await rateLimit({ bucket: "login-account", key: submission.value.email.toLowerCase(), limit: 10, windowSeconds: 900 });
  if (!byIp.allowed || !byAccount.allowed) {
    return json(submission.reply({ formErrors: ["Too many sign-in attempts. Please wait 15 minutes."], hideFields: ["password"] }), { status: 429 });
  }

  const db = getDb();
  const staff = await authenticateStaff(db, submission.value.email, submission.value.password);
  if (!staff) {
    await appendEvent(db, { actorType: "system", action: "staff.sign_in_failed", details: {} });
    return json(submission.reply({ formErrors: ["Email or password is not correct."], hideFields: ["password"] }), { status: 401 });
  }
  await appendEvent(db, { actorType: "staff", actorId: staff.id, action: "staff.signed_in", details: {} });
  await resetRateLimit({ bucket: "login-account", key: submission.value.email.toLowerCase() });
  const cookie = await startStaffSession(staff.id, request);
  return redirect(safeNextPath(new URL(request.url).searchParams.get("next")), { headers: { "Set-Cookie": cookie } });
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
        <Field label="Email" htmlFor={fields.email.id} errorId={fields.email.errorId} errors={fields.email.errors}>
          <input {...getInputProps(fields.email, { type: "email" })} autoComplete="username" />
        </Field>
        <Field label="Password" htmlFor={fields.password.id} errorId={fields.password.errorId} errors={fields.password.errors}>
          <input {...getInputProps(fields.password, { type: "password" })} autoComplete="current-password" />
        </Field>
        <button type="submit">Sign in</button>
      </Form>
    </section>
  );
}
