/**
 * Accepting an invitation: the invitee sets their name and password, then enrols MFA (/admin/mfa) at once.
 * Public (the token is the credential): single-use, 72 hours, only its hash is stored.
 */
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { NewPasswordFields } from "#app/components/password-fields.tsx";
import { acceptStaffInvite, findStaffInvite, InviteInvalidError, StaffInputError } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { rateLimit } from "#app/utils/rate-limit.server.ts";
import { MFA_PATH, startStaffSession } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Join the staff — Privacy Center" }, { name: "robots", content: "noindex" }];

const INVALID = "This invitation link is not valid any more: it was used already or it expired. Ask an administrator for a new one.";

export async function loader({ params }: LoaderFunctionArgs) {
  const invite = await findStaffInvite(getDb(), params.token ?? "");
  if (!invite) return json({ valid: false as const, email: null, role: null }, { status: 404, headers: { "Cache-Control": "no-store" } });
  return json({ valid: true as const, email: invite.email, role: invite.role }, { headers: { "Cache-Control": "no-store" } });
}

type Errors = { form?: string; name?: string; password?: string; confirm?: string };

export async function action({ request, params, context }: ActionFunctionArgs) {
  const limit = await rateLimit({ bucket: "invite-ip", key: context.clientIp, limit: 20, windowSeconds: 900 });
  if (!limit.allowed) return json<{ errors: Errors }>({ errors: { form: "Too many attempts. Please wait 15 minutes." } }, { status: 429 });
  const form = await request.formData();
  const name = String(form.get("name") ?? "").slice(0, 500);
  const password = String(form.get("password") ?? "").slice(0, 1024);
  const confirm = String(form.get("confirmPassword") ?? "").slice(0, 1024);
  if (password !== confirm) return json<{ errors: Errors }>({ errors: { confirm: "The two passwords are not the same." } }, { status: 400 });
  try {
    const staff = await acceptStaffInvite(getDb(), params.token ?? "", { name, password });
    const cookie = await startStaffSession(staff.id, request);
    return redirect(MFA_PATH, { headers: { "Set-Cookie": cookie } });
  } catch (error) {
    if (error instanceof InviteInvalidError) return json<{ errors: Errors }>({ errors: { form: INVALID } }, { status: 410 });
    if (error instanceof StaffInputError) {
      const key = error.field === "name" ? "name" : error.field === "password" ? "password" : "form";
      return json<{ errors: Errors }>({ errors: { [key]: error.userMessage } }, { status: 400 });
    }
    throw error;
  }
}

export default function AcceptInvite() {
  const { valid, email, role } = useLoaderData<typeof loader>();
  const errors = useActionData<typeof action>()?.errors ?? {};
  if (!valid) {
    return (
      <section className="card" aria-labelledby="title">
        <h1 id="title">Invitation not valid</h1>
        <p>{INVALID}</p>
      </section>
    );
  }
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Join the privacy team</h1>
      <p>
        You were invited as <strong>{role}</strong> with the address <strong>{email}</strong>. Choose your name and a password;
        next you will set up two-step verification with an authenticator app.
      </p>
      <Form method="post">
        <FieldErrors id="form-error" errors={errors.form ? [errors.form] : undefined} />
        <input type="text" name="username" autoComplete="username" defaultValue={email} hidden readOnly />
        <Field label="Your name" htmlFor="name" errorId="name-error" errors={errors.name ? [errors.name] : undefined}>
          <input id="name" name="name" type="text" autoComplete="name" maxLength={200} required />
        </Field>
        <NewPasswordFields name="password" idPrefix="password" label="Password" confirmLabel="Password again" passwordError={errors.password} confirmError={errors.confirm} />
        <button type="submit">Create my account</button>
      </Form>
    </section>
  );
}
