/**
 * Step-up: before a sensitive action (managing staff, new recovery codes), a signed-in staff member enters a fresh
 * TOTP code; it covers such actions for 10 minutes (`requireStepUp` in session.server.ts). Comes back to `next`.
 */
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { TotpCodeField } from "#app/components/totp-field.tsx";
import { appendEvent } from "#app/models/audit.server.ts";
import { checkMfaAttempt, clearMfaAttempts, verifyTotpCode } from "#app/models/mfa.server.ts";
import { markStaffSessionStepUp } from "#app/models/staff.server.ts";
import { getDb } from "#db/client.server.ts";
import { hasFreshStepUp, requireStaffSession, safeNextPath } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Confirm it is you — Privacy Center staff" }];

const messages = {
  invalid: "That code is not right. Enter the 6-digit code your authenticator app shows now.",
  replayed: "That code was already used. Wait for the next code in your app and enter that one.",
  tooMany: "Too many attempts. Please wait a few minutes and try again.",
} as const;

const nextOf = (request: Request) => safeNextPath(new URL(request.url).searchParams.get("next"));

export async function loader({ request }: LoaderFunctionArgs) {
  const context = await requireStaffSession(request);
  if (hasFreshStepUp(context)) throw redirect(nextOf(request));
  return json({ name: context.staff.name });
}

export async function action({ request, context: { clientIp } }: ActionFunctionArgs) {
  const context = await requireStaffSession(request);
  const attempt = await checkMfaAttempt({ staffId: context.staff.id, ip: clientIp });
  if (!attempt.allowed) return json({ error: messages.tooMany }, { status: 429 });
  const form = await request.formData();
  const db = getDb();
  const outcome = await verifyTotpCode(db, context.staff.id, String(form.get("code") ?? "").slice(0, 100));
  if (outcome !== "ok") {
    await appendEvent(db, { actorType: "staff", actorId: context.staff.id, action: "staff.step_up_failed", details: { reason: outcome } });
    return json({ error: messages[outcome] }, { status: 400 });
  }
  await markStaffSessionStepUp(db, context.session.id);
  await clearMfaAttempts(context.staff.id);
  await appendEvent(db, { actorType: "staff", actorId: context.staff.id, action: "staff.step_up", details: { sessionId: context.session.id } });
  return redirect(nextOf(request));
}

export default function StepUp() {
  const { name } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const error = data?.error;
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Confirm it is you</h1>
      <p>{name}, this action needs a fresh code from your authenticator app. It then stays confirmed for 10 minutes.</p>
      <Form method="post">
        <TotpCodeField label="Authentication code" error={error} />
        <button type="submit">Confirm</button>
      </Form>
    </section>
  );
}
