/**
 * The second sign-in step: enrol an authenticator app (first sign-in) or enter its code — or a recovery code.
 * Reached only with a session whose password was accepted; on success the session is marked MFA-verified and its
 * token rotated. After enrolment the recovery codes are shown once on /admin/mfa/recovery-codes.
 */
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { FieldErrors } from "#app/components/field.tsx";
import { TotpCodeField } from "#app/components/totp-field.tsx";
import { appendEvent } from "#app/models/audit.server.ts";
import {
  checkMfaAttempt,
  clearMfaAttempts,
  confirmTotpEnrolment,
  qrCodePath,
  startTotpEnrolment,
  redeemRecoveryCode,
  verifyTotpCode,
} from "#app/models/mfa.server.ts";
import { getDb } from "#db/client.server.ts";
import { completeMfa, getStaffSessionFromRequest, loginUrl, recoveryCodesFlash, safeNextPath } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Two-step verification — Privacy Center staff" }];

const messages = {
  invalid: "That code is not right. Enter the 6-digit code your authenticator app shows now.",
  replayed: "That code was already used. Wait for the next code in your app and enter that one.",
  recovery: "That recovery code is not right or was already used.",
  tooMany: "Too many attempts. Please wait a few minutes and try again.",
  gone: "Your sign-in has expired. Please sign in again.",
} as const;

async function requirePendingSession(request: Request) {
  const url = new URL(request.url);
  const next = safeNextPath(url.searchParams.get("next"));
  const context = await getStaffSessionFromRequest(request);
  if (!context) throw redirect(loginUrl(next));
  return { context, next };
}

export async function loader({ request }: LoaderFunctionArgs) {
  const { context, next } = await requirePendingSession(request);
  if (context.session.mfaVerifiedAt) throw redirect(next);
  if (context.mfaEnrolled) return json({ mode: "verify" as const, name: context.staff.name, enrolment: null });
  const enrolment = await startTotpEnrolment(getDb(), context.staff.id);
  return json(
    { mode: "enrol" as const, name: context.staff.name, enrolment: { manualKey: enrolment.manualKey, uri: enrolment.uri, qr: qrCodePath(enrolment.uri) } },
    { headers: { "Cache-Control": "no-store" } },
  );
}

type ActionData = { intent: "code" | "recovery"; error: string };

export async function action({ request, context: { clientIp } }: ActionFunctionArgs) {
  const { context, next } = await requirePendingSession(request);
  if (context.session.mfaVerifiedAt) throw redirect(next);
  const form = await request.formData();
  const intent = form.get("intent") === "recovery" ? "recovery" : "code";
  const fail = (error: string, status = 400) => json<ActionData>({ intent, error }, { status });

  const attempt = await checkMfaAttempt({ staffId: context.staff.id, ip: clientIp });
  if (!attempt.allowed) return fail(messages.tooMany, 429);

  const db = getDb();
  const staffId = context.staff.id;
  const value = String(form.get(intent === "recovery" ? "recoveryCode" : "code") ?? "").slice(0, 100);
  const failed = (reason: string) => appendEvent(db, { actorType: "system", action: "staff.sign_in_failed", details: { reason, staffId } });

  if (intent === "recovery") {
    if (!context.mfaEnrolled || !(await redeemRecoveryCode(db, staffId, value))) {
      await failed("wrong_recovery_code");
      return fail(messages.recovery);
    }
    const cookie = await completeMfa(context, { stepUp: false });
    if (!cookie) return fail(messages.gone, 401);
    await clearMfaAttempts(staffId);
    await appendEvent(db, { actorType: "staff", actorId: staffId, action: "staff.signed_in", details: { method: "recovery_code" } });
    return redirect(next, { headers: { "Set-Cookie": cookie } });
  }

  if (!context.mfaEnrolled) {
    const enrolled = await confirmTotpEnrolment(db, staffId, value);
    if (!enrolled) {
      await failed("wrong_mfa_code");
      return fail(messages.invalid);
    }
    const cookie = await completeMfa(context, { stepUp: true });
    if (!cookie) return fail(messages.gone, 401);
    await clearMfaAttempts(staffId);
    await appendEvent(db, { actorType: "staff", actorId: staffId, action: "staff.signed_in", details: { method: "totp", enrolled: true } });
    const headers = new Headers({ "Set-Cookie": cookie });
    headers.append("Set-Cookie", recoveryCodesFlash.serialize(context.session.id, enrolled.recoveryCodes));
    return redirect(`/admin/mfa/recovery-codes?next=${encodeURIComponent(next)}`, { headers });
  }

  const outcome = await verifyTotpCode(db, staffId, value);
  if (outcome !== "ok") {
    await failed(outcome === "replayed" ? "replayed_mfa_code" : "wrong_mfa_code");
    return fail(messages[outcome]);
  }
  const cookie = await completeMfa(context, { stepUp: true });
  if (!cookie) return fail(messages.gone, 401);
  await clearMfaAttempts(staffId);
  await appendEvent(db, { actorType: "staff", actorId: staffId, action: "staff.signed_in", details: { method: "totp" } });
  return redirect(next, { headers: { "Set-Cookie": cookie } });
}

function CodeForm({ error, label, button }: { error?: string; label: string; button: string }) {
  return (
    <Form method="post">
      <input type="hidden" name="intent" value="code" />
      <TotpCodeField label={label} error={error} />
      <button type="submit">{button}</button>
    </Form>
  );
}

export default function Mfa() {
  const { mode, name, enrolment } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const codeError = data?.intent === "code" ? data.error : undefined;
  const recoveryError = data?.intent === "recovery" ? data.error : undefined;

  if (mode === "enrol" && enrolment) {
    return (
      <section className="card" aria-labelledby="title">
        <h1 id="title">Set up two-step verification</h1>
        <p>
          {name}, staff accounts need a second step at every sign-in: a 6-digit code from an authenticator app on your
          phone or computer (for example Aegis, FreeOTP, Google Authenticator, Microsoft Authenticator, 1Password or Bitwarden).
        </p>
        <ol>
          <li>In the app, add an account and scan this QR code — or type the key below.</li>
          <li>Enter the 6-digit code the app then shows.</li>
        </ol>
        <svg
          className="qr"
          role="img"
          aria-label="QR code with your authenticator key"
          viewBox={`0 0 ${enrolment.qr.size} ${enrolment.qr.size}`}
          width={enrolment.qr.size * 4}
          height={enrolment.qr.size * 4}
          shapeRendering="crispEdges"
        >
          <rect width="100%" height="100%" fill="#fff" />
          <path d={enrolment.qr.path} fill="#000" />
        </svg>
        <p>
          Key (type it if you cannot scan): <code data-testid="manual-key" className="manual-key">{enrolment.manualKey}</code>
        </p>
        <p className="hint">
          Time-based, 6 digits, every 30 seconds (SHA-1) — the app&apos;s defaults. On a phone you can also{" "}
          <a href={enrolment.uri}>open the key in your authenticator app</a>.
        </p>
        <CodeForm error={codeError} label="Code from your app" button="Turn on two-step verification" />
        <SignOut />
      </section>
    );
  }

  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Two-step verification</h1>
      <p>Enter the 6-digit code from your authenticator app.</p>
      <CodeForm error={codeError} label="Authentication code" button="Verify" />
      <details open={recoveryError ? true : undefined}>
        <summary>Lost your phone? Use a recovery code</summary>
        <Form method="post">
          <input type="hidden" name="intent" value="recovery" />
          <FieldErrors id="recovery-error" errors={recoveryError ? [recoveryError] : undefined} />
          <label htmlFor="recoveryCode">Recovery code</label>
          <input id="recoveryCode" name="recoveryCode" type="text" autoComplete="off" spellCheck={false} required aria-describedby="recovery-error" />
          <button type="submit" className="secondary">
            Use recovery code
          </button>
        </Form>
      </details>
      <SignOut />
    </section>
  );
}

function SignOut() {
  return (
    <Form method="post" action="/admin/logout">
      <button type="submit" className="secondary">
        Cancel and sign out
      </button>
    </Form>
  );
}
