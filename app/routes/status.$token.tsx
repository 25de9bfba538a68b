import { json, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { formatDueDate } from "#app/models/deadlines.ts";
import { DomainError } from "#app/models/errors.ts";
import { regimeLabels } from "#app/models/regions.ts";
import { requestTypeInfo } from "#app/models/request-types.ts";
import { CANCELLABLE, cancelRequest, getRequestByStatusToken, publicTimeline } from "#app/models/status.server.ts";
import { getDb } from "#db/client.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — your request" }, { name: "robots", content: "noindex" }];
export const headers: HeadersFunction = () => ({ "Cache-Control": "no-store" });

const statusText: Record<string, string> = {
  pending_verification: "Waiting for you to confirm your email address",
  verified: "Received — waiting for our privacy team",
  in_review: "Being reviewed by our privacy team",
  approved: "Approved — being processed",
  processing: "Being processed",
  action_required: "Being processed",
  completed: "Completed",
  denied: "Not carried out",
  cancelled: "Cancelled by you",
  expired: "Expired (not confirmed in time)",
  closed: "Closed",
};

const notFound = () => new Response("Not found", { status: 404 });

export async function loader({ params }: LoaderFunctionArgs) {
  const db = getDb();
  const request = await getRequestByStatusToken(db, params.token ?? "");
  if (!request) throw notFound();
  const timeline = await publicTimeline(db, request.id);
  return json(
    {
      reference: request.reference,
      type: requestTypeInfo[request.type].label,
      nextSteps: requestTypeInfo[request.type].nextSteps,
      regime: regimeLabels[request.regime],
      status: statusText[request.status] ?? request.status,
      dueDate: formatDueDate(request.dueAt),
      extendedDueDate: request.extendedDueAt ? formatDueDate(request.extendedDueAt) : null,
      extensionReason: request.extensionReason,
      outcomeReason: request.status === "denied" ? request.outcomeReason : null,
      needsMoreVerification: request.verificationLevel < request.requiredVerificationLevel && request.status === "verified",
      cancellable: CANCELLABLE.includes(request.status),
      timeline: timeline.map((t) => ({ at: t.at.toISOString(), text: t.text })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export async function action({ params, request }: ActionFunctionArgs) {
  const form = await request.formData();
  if (form.get("intent") !== "cancel") return json({ error: "Unknown action." }, { status: 400 });
  if (form.get("confirm") !== "yes") return json({ error: "Please tick the box to confirm that you want to cancel." }, { status: 400 });
  try {
    await cancelRequest(getDb(), params.token ?? "");
  } catch (error) {
    if (error instanceof DomainError && error.code === "not_found") throw notFound();
    if (error instanceof DomainError) return json({ error: error.userMessage }, { status: error.status });
    throw error;
  }
  return redirect(`/status/${params.token}`);
}

const dateTime = (iso: string) =>
  new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC", timeZoneName: "short" }).format(new Date(iso));

export default function Status() {
  const r = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Your request {r.reference}</h1>
      <dl className="facts">
        <dt>Request</dt>
        <dd>{r.type}</dd>
        <dt>Law</dt>
        <dd>{r.regime}</dd>
        <dt>Status</dt>
        <dd data-testid="status">{r.status}</dd>
        <dt>We will respond by</dt>
        <dd>
          {r.extendedDueDate ? (
            <>
              <s>{r.dueDate}</s> {r.extendedDueDate}
            </>
          ) : (
            r.dueDate
          )}
        </dd>
        {r.extendedDueDate && r.extensionReason ? (
          <>
            <dt>Why we need more time</dt>
            <dd>{r.extensionReason}</dd>
          </>
        ) : null}
        {r.outcomeReason ? (
          <>
            <dt>Why</dt>
            <dd>{r.outcomeReason}</dd>
          </>
        ) : null}
      </dl>
      {r.needsMoreVerification ? (
        <p className="notice">To protect your data we may need more information to confirm your identity. We will contact you by email.</p>
      ) : null}
      <h2>Timeline</h2>
      <ol className="timeline">
        {r.timeline.map((t, i) => (
          <li key={i}>
            <time dateTime={t.at}>{dateTime(t.at)}</time>
            {t.text}
          </li>
        ))}
      </ol>
      {r.cancellable ? (
        <Form method="post">
          <h2>Cancel this request</h2>
          <p className="hint">You can cancel until we start processing it.</p>
          <label className="choice">
            <input type="checkbox" name="confirm" value="yes" />
            <span>Yes, cancel my request.</span>
          </label>
          {result && "error" in result ? (
            <p className="error" role="alert">
              {result.error}
            </p>
          ) : null}
          <button type="submit" name="intent" value="cancel" className="secondary">
            Cancel request
          </button>
        </Form>
      ) : null}
    </section>
  );
}
