import { json, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { confirmAgent, findAgentConfirmation } from "#app/models/agents.server.ts";
import { getDb } from "#db/client.server.ts";
import { rateLimit } from "#app/utils/rate-limit.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — confirm your authorized agent" }, { name: "robots", content: "noindex" }];
export const headers: HeadersFunction = () => ({ "Cache-Control": "no-store" });

/** One answer for a wrong, expired or used link and an unknown reference: it tells nobody which it was. */
const invalidLink = () =>
  json({ view: null, message: "This link is not valid. It may have expired or already been used. If you already confirmed, there is nothing more to do." } as const, {
    status: 404,
    headers: { "Cache-Control": "no-store" },
  });

/** Opening the link changes nothing (mail scanners prefetch links); it shows what the consumer is asked to confirm. */
export async function loader({ params }: LoaderFunctionArgs) {
  const view = await findAgentConfirmation(getDb(), params.reference ?? "", params.token ?? "");
  if (!view) return invalidLink();
  return json({ view, message: null }, { headers: { "Cache-Control": "no-store" } });
}

export async function action({ params, context }: ActionFunctionArgs) {
  const limit = await rateLimit({ bucket: "agent-confirm-ip", key: context.clientIp, limit: 100, windowSeconds: 3600 });
  if (!limit.allowed) throw new Response("Too many attempts", { status: 429 });
  const reference = params.reference ?? "";
  if (!(await confirmAgent(getDb(), reference, params.token ?? ""))) return invalidLink();
  return redirect(`/requests/${reference}/confirmed`);
}

export default function ConfirmAgent() {
  const loaded = useLoaderData<typeof loader>();
  const failed = useActionData<typeof action>();
  const view = failed ? null : loaded.view;
  const message = failed?.message ?? loaded.message;
  if (!view) {
    return (
      <section className="card" aria-labelledby="title">
        <h1 id="title">This link does not work</h1>
        <p role="alert">{message}</p>
      </section>
    );
  }
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Did you ask someone to make this request for you?</h1>
      <p>
        <strong>{view.agentName}</strong> made a privacy request for you and told us that you gave them permission. We act on it
        only if you confirm.
      </p>
      <dl className="facts">
        <dt>Reference</dt>
        <dd>{view.reference}</dd>
        <dt>Request</dt>
        <dd>{view.requestTypeLabel}</dd>
        <dt>Made for you by</dt>
        <dd>{view.agentName}</dd>
      </dl>
      <Form method="post">
        <button type="submit">Yes, I gave permission — confirm the request</button>
      </Form>
      <p className="hint">If you did not give anyone permission, close this page. Nothing happens unless you confirm.</p>
    </section>
  );
}
