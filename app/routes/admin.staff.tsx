/**
 * Staff management (admins only): the staff list, pending invitations, inviting (the link is emailed by the worker,
 * never shown here), re-sending and revoking invitations, disabling — changes need a step-up.
 */
import { getFormProps, getInputProps, getSelectProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { DataTable } from "#app/components/data-table.tsx";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { ActionHeading, RowActionForm } from "#app/components/row-action.tsx";
import { StaffNav } from "#app/components/staff-nav.tsx";
import { appendEvent } from "#app/models/audit.server.ts";
import { staffRoleLabels as roleLabels, staffRoleList as staffRoles } from "#app/models/staff-roles.ts";
import {
  disableStaff,
  inviteStaffByEmail,
  listPendingInvites,
  listStaff,
  resendStaffInvite,
  revokeStaffInvite,
  StaffInputError,
  StaffInviteError,
} from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { requireStaff, requireStepUp, ROLES } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Staff — Privacy Center staff" }];

/** Who may use this page (read by tests/integration/admin-authz.test.ts; enforced by requireStaff below). */
export const handle = { staffRoles: ["admin"] };

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

type ActionResult = {
  intent: "invite" | "disable" | "resend" | "revoke";
  result: SubmissionResult<string[]> | null;
  notice: string | null;
  error: string | null;
};
const answer = (body: ActionResult, status = 200) => json(body, { status, headers: { "Cache-Control": "no-store" } });
const NOT_QUEUED = " The email could not be queued just now: use “Send again” in a minute.";

export async function action({ request }: ActionFunctionArgs) {
  await requireStaff(request, { roles: ROLES.admins });
  const { staff: me } = await requireStepUp(request, { roles: ROLES.admins, returnTo: "/admin/staff" });
  const form = await readForm(request, ["intent", "staffId", "inviteId", "email", "role"]);
  const db = getDb();
  const intent = form.get("intent");

  if (intent === "disable") {
    const staffId = String(form.get("staffId") ?? "");
    if (staffId === me.id) return answer({ intent: "disable", result: null, notice: null, error: "You cannot disable your own account." }, 400);
    const target = (await listStaff(db)).find((s) => s.id === staffId);
    if (!target) return answer({ intent: "disable", result: null, notice: null, error: "No such staff account." }, 404);
    await disableStaff(db, staffId);
    await appendEvent(db, { actorType: "staff", actorId: me.id, action: "staff.disabled", details: { staffId } });
    return answer({ intent: "disable", result: null, notice: null, error: null });
  }

  if (intent === "resend" || intent === "revoke") {
    const inviteId = String(form.get("inviteId") ?? "");
    try {
      if (intent === "revoke") {
        await revokeStaffInvite(db, { inviteId, by: me.id });
        return answer({ intent, result: null, notice: "The invitation is revoked: its link no longer works.", error: null });
      }
      const { queued } = await resendStaffInvite(db, { inviteId, by: me.id });
      return answer({ intent, result: null, notice: `A new invitation link is on its way; the previous link no longer works.${queued ? "" : NOT_QUEUED}`, error: null });
    } catch (error) {
      if (!(error instanceof StaffInviteError)) throw error;
      return answer({ intent, result: null, notice: null, error: error.userMessage }, error.status);
    }
  }

  const submission = parseWithZod(form, { schema: inviteSchema });
  if (submission.status !== "success") return answer({ intent: "invite", result: submission.reply(), notice: null, error: null }, 400);
  try {
    const { invite, queued } = await inviteStaffByEmail(db, { email: submission.value.email, role: submission.value.role, invitedBy: me.id });
    const notice = `Invitation for ${invite.email} (${invite.role}) created: the link is on its way by email. It works once, for 72 hours.${queued ? "" : NOT_QUEUED}`;
    return answer({ intent: "invite", result: submission.reply({ resetForm: true }), notice, error: null });
  } catch (error) {
    if (!(error instanceof StaffInputError)) throw error;
    return answer({ intent: "invite", result: submission.reply({ fieldErrors: { [error.field]: [error.userMessage] } }), notice: null, error: null }, 400);
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
        <StaffNav role="admin" current="/admin/staff" />
        {data?.error && data.intent === "disable" ? (
          <p className="error" role="alert">
            {data.error}
          </p>
        ) : null}
        <DataTable
          columns={["Name", "Email", "Role", "Two-step", "Since", <ActionHeading key="action" />]}
          rows={staff}
          row={(s) => (
            <tr key={s.id} data-staff={s.email}>
              <td>{s.name}</td>
              <td>{s.email}</td>
              <td>{s.role}</td>
              <td>{s.mfa ? "on" : "not set up yet"}</td>
              <td>{s.since}</td>
              <td>{s.disabled ? "disabled" : s.id === meId ? "you" : <RowActionForm intent="disable" name="staffId" value={s.id} label="Disable" />}</td>
            </tr>
          )}
        />
      </div>

      <div className="card" aria-labelledby="invite-title">
        <h2 id="invite-title">Invite a staff member</h2>
        <p className="hint">The invitation link is emailed to the address below; it works once, for 72 hours, and is never shown here.</p>
        {data?.notice ? (
          <p className="success" role="status" data-testid="invite-notice">
            {data.notice}
          </p>
        ) : null}
        {data?.error && data.intent !== "disable" ? (
          <p className="error" role="alert">
            {data.error}
          </p>
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
          <button type="submit">Send invitation</button>
        </Form>
        {invites.length > 0 ? (
          <>
            <h3>Pending invitations</h3>
            <ul>
              {invites.map((i) => (
                <li key={i.id} data-invite={i.email}>
                  {i.email} — {i.role}, expires {i.expires}{" "}
                  <Form method="post" style={{ display: "inline" }}>
                    <input type="hidden" name="inviteId" value={i.id} />
                    <button type="submit" name="intent" value="resend" className="secondary" aria-label={`Send the invitation for ${i.email} again`}>
                      Send again
                    </button>{" "}
                    <button type="submit" name="intent" value="revoke" className="secondary" aria-label={`Revoke the invitation for ${i.email}`}>
                      Revoke
                    </button>
                  </Form>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
    </section>
  );
}
