/**
 * Your account: active sessions (sign out one, or everywhere), password change, recovery codes. Self-service, so
 * every role may use it; new recovery codes need a step-up.
 */
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { DataTable } from "#app/components/data-table.tsx";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { NewPasswordFields } from "#app/components/password-fields.tsx";
import { RecoveryCodeList } from "#app/components/recovery-codes.tsx";
import { ActionHeading, RowActionForm } from "#app/components/row-action.tsx";
import { appendEvent } from "#app/models/audit.server.ts";
import { countRecoveryCodes, regenerateRecoveryCodes } from "#app/models/mfa.server.ts";
import {
  destroyAllStaffSessions,
  destroyStaffSessionById,
  isPasswordExpired,
  listStaffSessions,
  setStaffPassword,
  StaffInputError,
  verifyStaffPassword,
} from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { rateLimit } from "#app/utils/rate-limit.server.ts";
import { clearStaffCookie, LOGIN_PATH, requireStaffSession, requireStepUp } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Your account — Privacy Center staff" }];

const when = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ") + " UTC";

export async function loader({ request }: LoaderFunctionArgs) {
  const context = await requireStaffSession(request, { allowExpiredPassword: true });
  const db = getDb();
  const [sessions, recoveryCodesLeft] = await Promise.all([listStaffSessions(db, context.staff.id), countRecoveryCodes(db, context.staff.id)]);
  return json({
    staff: { name: context.staff.name, email: context.staff.email, role: context.staff.role },
    passwordExpired: isPasswordExpired(context.passwordChangedAt, new Date()),
    recoveryCodesLeft,
    sessions: sessions.map((s) => ({
      id: s.id,
      current: s.id === context.session.id,
      createdAt: when(s.createdAt),
      lastSeenAt: when(s.lastSeenAt),
      userAgent: s.userAgent ?? "unknown",
    })),
  });
}

type ActionData =
  | { intent: "password"; ok: boolean; errors: { current?: string; password?: string; confirm?: string } }
  | { intent: "recovery-codes"; codes: string[] }
  | { intent: "revoke"; ok: boolean };

export async function action({ request }: ActionFunctionArgs) {
  const context = await requireStaffSession(request, { allowExpiredPassword: true });
  const form = await request.formData();
  const intent = String(form.get("intent") ?? "");
  const db = getDb();
  const staffId = context.staff.id;

  if (intent === "revoke") {
    const sessionId = String(form.get("sessionId") ?? "");
    const ended = await destroyStaffSessionById(db, staffId, sessionId);
    if (ended) await appendEvent(db, { actorType: "staff", actorId: staffId, action: "staff.session_revoked", details: { scope: "one", sessionId, count: 1 } });
    if (sessionId === context.session.id) return redirect(LOGIN_PATH, { headers: { "Set-Cookie": clearStaffCookie() } });
    return json<ActionData>({ intent: "revoke", ok: ended });
  }

  if (intent === "revoke-all") {
    const count = await destroyAllStaffSessions(db, staffId);
    await appendEvent(db, { actorType: "staff", actorId: staffId, action: "staff.session_revoked", details: { scope: "all", count } });
    return redirect(LOGIN_PATH, { headers: { "Set-Cookie": clearStaffCookie() } });
  }

  if (intent === "password") {
    const current = String(form.get("currentPassword") ?? "").slice(0, 1024);
    const password = String(form.get("newPassword") ?? "").slice(0, 1024);
    const confirm = String(form.get("confirmPassword") ?? "").slice(0, 1024);
    const fail = (errors: { current?: string; password?: string; confirm?: string }, status = 400) =>
      json<ActionData>({ intent: "password", ok: false, errors }, { status });
    // The current password is checked here outside the sign-in lockout, so guesses through a session are limited too.
    const limit = await rateLimit({ bucket: "password-change", key: staffId, limit: 10, windowSeconds: 900 });
    if (!limit.allowed) return fail({ current: "Too many attempts. Please wait 15 minutes." }, 429);
    if (!(await verifyStaffPassword(db, staffId, current))) return fail({ current: "Your current password is not correct." });
    if (password !== confirm) return fail({ confirm: "The two new passwords are not the same." });
    if (password === current) return fail({ password: "Choose a password different from the current one." });
    try {
      await setStaffPassword(db, staffId, password, { keepSessionId: context.session.id });
    } catch (error) {
      if (error instanceof StaffInputError) return fail({ password: error.userMessage });
      throw error;
    }
    return json<ActionData>({ intent: "password", ok: true, errors: {} });
  }

  if (intent === "recovery-codes") {
    await requireStepUp(request, { returnTo: "/admin/account", allowExpiredPassword: true });
    const codes = await regenerateRecoveryCodes(db, staffId);
    return json<ActionData>({ intent: "recovery-codes", codes }, { headers: { "Cache-Control": "no-store" } });
  }

  return json({ error: "unknown intent" }, { status: 400 });
}

export default function Account() {
  const { staff, sessions, recoveryCodesLeft, passwordExpired } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>() as ActionData | { error: string } | undefined;
  const pw = data && "intent" in data && data.intent === "password" ? data : undefined;
  const codes = data && "intent" in data && data.intent === "recovery-codes" ? data.codes : undefined;
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">Your account</h1>
        <p>
          {staff.name} ({staff.email}), role: <strong>{staff.role}</strong>. <Link to="/admin">Back to the requests</Link>
        </p>
      </div>

      <div className="card" aria-labelledby="sessions-title">
        <h2 id="sessions-title">Your active sessions</h2>
        <DataTable
          columns={["Signed in", "Last seen", "Browser", <ActionHeading key="action" />]}
          rows={sessions}
          row={(s) => (
            <tr key={s.id} data-session={s.current ? "current" : "other"}>
              <td>{s.createdAt}</td>
              <td>{s.lastSeenAt}</td>
              <td>
                {s.userAgent} {s.current ? <span className="badge">this session</span> : null}
              </td>
              <td>
                <RowActionForm intent="revoke" name="sessionId" value={s.id} label="Sign out" />
              </td>
            </tr>
          )}
        />
        <Form method="post">
          <input type="hidden" name="intent" value="revoke-all" />
          <button type="submit">Sign out everywhere</button>
        </Form>
      </div>

      <div className="card" aria-labelledby="password-title" id="password">
        <h2 id="password-title">Change your password</h2>
        {passwordExpired ? (
          <p className="notice" role="alert">
            Your password has reached the maximum age set for this portal. Choose a new one to continue.
          </p>
        ) : null}
        {pw?.ok ? (
          <p className="success" role="status">
            Your password was changed. Your other sessions were signed out.
          </p>
        ) : null}
        <Form method="post">
          <input type="hidden" name="intent" value="password" />
          <input type="text" name="username" autoComplete="username" defaultValue={staff.email} hidden readOnly />
          <Field label="Current password" htmlFor="currentPassword" errorId="current-error" errors={pw?.errors.current ? [pw.errors.current] : undefined}>
            <input id="currentPassword" name="currentPassword" type="password" autoComplete="current-password" required />
          </Field>
          <NewPasswordFields
            name="newPassword"
            idPrefix="new"
            label="New password"
            confirmLabel="New password again"
            passwordError={pw?.errors.password}
            confirmError={pw?.errors.confirm}
          />
          <button type="submit">Change password</button>
        </Form>
      </div>

      <div className="card" aria-labelledby="codes-title">
        <h2 id="codes-title">Recovery codes</h2>
        {codes ? (
          <>
            <p className="success" role="status">
              New recovery codes — the old ones no longer work. Store these somewhere safe; they are shown only now.
            </p>
            <RecoveryCodeList codes={codes} />
          </>
        ) : (
          <p>
            You have <strong>{recoveryCodesLeft}</strong> unused recovery {recoveryCodesLeft === 1 ? "code" : "codes"}.
          </p>
        )}
        <FieldErrors id="codes-error" />
        <Form method="post">
          <input type="hidden" name="intent" value="recovery-codes" />
          <button type="submit" className="secondary">
            Make new recovery codes
          </button>
        </Form>
      </div>
    </section>
  );
}
