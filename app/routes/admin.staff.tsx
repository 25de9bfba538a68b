/** Staff management (admins only): the staff list, pending invitations, inviting and disabling — changes need a step-up. */
import { getFormProps, getInputProps, getSelectProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { appendEvent } from "#app/models/audit.server.ts";
import { createStaffInvite, disableStaff, listPendingInvites, listStaff, staffInviteUrl, StaffInputError } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { requireStaff, requireStepUp, ROLES } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Staff — Privacy Center staff" }];

/** Who may use this page (read by tests/integration/admin-authz.test.ts; enforced by requireStaff below). */
export const handle = { staffRoles: ["admin"] };

/** The roles (as in db/schema/staff.ts), kept here so the page does not bundle the schema into the browser. */
const staffRoles = ["admin", "processor", "auditor"] as const;
const roleLabels = { admin: "Admin — everything, including staff", processor: "Processor — works on requests", auditor: "Auditor — reads only" } as const;
const day = (d: Date) => d.toISOString().slice(0, 10);

const inviteSchema = z.object({
  intent: z.literal("invite"),
  email: z.string({ error: "Enter the email address to invite." }).trim().max(254).pipe(z.email({ error: "Enter a valid email address." })),
  role: z.enum(staffRoles, { error: "Choose a role." }),
});

export async function loader({ request }: LoaderFunctionArgs) {
  const me = await requireStaff(request, { roles: ROLES.admins });
  const db = getDb();
  const [staff, invites] = await Promise.all([listStaff(db), listPendingInvites(db)]);
  return json({
    meId: me.id,
    staff: staff.map((s) => ({ id: s.id, name: s.name, email: s.email, role: s.role, mfa: s.mfaEnrolled, since: day(s.createdAt), disabled: s.disabledAt !== null })),
    invites: invites.map((i) => ({ id: i.id, email: i.email, role: i.role, expires: i.expiresAt.toISOString().slice(0, 16).replace("T", " ") + " UTC" })),
  });
}

export async function action({ request }: ActionFunctionArgs) {
  await requireStaff(request, { roles: ROLES.admins });
  const { staff: me } = await requireStepUp(request, { roles: ROLES.admins, returnTo: "/admin/staff" });
  const form = await request.formData();
  const db = getDb();

  if (form.get("intent") === "disable") {
    const staffId = String(form.get("staffId") ?? "");
    if (staffId === me.id) return json({ intent: "disable" as const, result: null, invite: null, error: "You cannot disable your own account." }, { status: 400 });
    const target = (await listStaff(db)).find((s) => s.id === staffId);
    if (!target) return json({ intent: "disable" as const, result: null, invite: null, error: "No such staff account." }, { status: 404 });
    await disableStaff(db, staffId);
    await appendEvent(db, { actorType: "staff", actorId: me.id, action: "staff.disabled", details: { staffId } });
    return json({ intent: "disable" as const, result: null, invite: null, error: null });
  }

  const submission = parseWithZod(form, { schema: inviteSchema });
  if (submission.status !== "success") return json({ intent: "invite" as const, result: submission.reply(), invite: null, error: null }, { status: 400 });
  try {
    const { token, invite } = await createStaffInvite(db, { email: submission.value.email, role: submission.value.role, invitedBy: me.id });
    return json(
      { intent: "invite" as const, result: submission.reply({ resetForm: true }), invite: { url: staffInviteUrl(token), email: invite.email, role: invite.role }, error: null },
      { headers: { "Cache-Control": "no-store" } },
    );
  } catch (error) {
    if (!(error instanceof StaffInputError)) throw error;
    return json({ intent: "invite" as const, result: submission.reply({ fieldErrors: { [error.field]: [error.userMessage] } }), invite: null, error: null }, { status: 400 });
  }
}

export default function StaffPage() {
  const { meId, staff, invites } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const [form, fields] = useForm({
    lastResult: data?.intent === "invite" ? data.result : undefined,
    shouldValidate: "onBlur",
    onValidate: ({ formData }) => parseWithZod(formData, { schema: inviteSchema }),
  });
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">Staff</h1>
        <p>
          <Link to="/admin">Requests</Link> · <Link to="/admin/account">Your account</Link>
        </p>
        {data?.error ? (
          <p className="error" role="alert">
            {data.error}
          </p>
        ) : null}
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Two-step</th>
              <th scope="col">Since</th>
              <th scope="col">
                <span className="hint">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {staff.map((s) => (
              <tr key={s.id} data-staff={s.email}>
                <td>{s.name}</td>
                <td>{s.email}</td>
                <td>{s.role}</td>
                <td>{s.mfa ? "on" : "not set up yet"}</td>
                <td>{s.since}</td>
                <td>
                  {s.disabled ? (
                    "disabled"
                  ) : s.id === meId ? (
                    "you"
                  ) : (
                    <Form method="post">
                      <input type="hidden" name="intent" value="disable" />
                      <input type="hidden" name="staffId" value={s.id} />
                      <button type="submit" className="secondary">
                        Disable
                      </button>
                    </Form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <div className="card" aria-labelledby="invite-title">
        <h2 id="invite-title">Invite a staff member</h2>
        {data?.invite ? (
          <div className="success" role="status">
            <p>
              Invitation for {data.invite.email} ({data.invite.role}) created. Send them this link; it works once, for 72 hours,
              and is shown only now:
            </p>
            <p>
              <code data-testid="invite-url">{data.invite.url}</code>
            </p>
          </div>
        ) : null}
        <Form method="post" {...getFormProps(form)}>
          <input type="hidden" name="intent" value="invite" />
          <FieldErrors id={form.errorId} errors={form.errors} />
          <Field label="Email" htmlFor={fields.email.id} errorId={fields.email.errorId} errors={fields.email.errors}>
            <input {...getInputProps(fields.email, { type: "email" })} autoComplete="off" />
          </Field>
          <Field label="Role" htmlFor={fields.role.id} errorId={fields.role.errorId} errors={fields.role.errors}>
            <select {...getSelectProps(fields.role)} defaultValue="processor">
              {staffRoles.map((r) => (
                <option key={r} value={r}>
                  {roleLabels[r]}
                </option>
              ))}
            </select>
          </Field>
          <button type="submit">Create invitation link</button>
        </Form>
        {invites.length > 0 ? (
          <>
            <h3>Pending invitations</h3>
            <ul>
              {invites.map((i) => (
                <li key={i.id}>
                  {i.email} — {i.role}, expires {i.expires}
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
    </section>
  );
}
