import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { formatDueDate } from "#app/models/deadlines.ts";
import { regimeLabels } from "#app/models/regions.ts";
import { requestTypeInfo } from "#app/models/request-types.ts";
import { getRequestByReference } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — request confirmed" }];

/** Shown once a request is verified (or needed no verification). Reveals no personal data. */
export async function loader({ params }: LoaderFunctionArgs) {
  const request = await getRequestByReference(getDb(), params.reference ?? "");
  if (!request || request.status === "pending_verification") throw new Response("Not found", { status: 404 });
  const info = requestTypeInfo[request.type];
  return json({
    reference: request.reference,
    type: info.label,
    nextSteps: info.nextSteps,
    regime: regimeLabels[request.regime],
    dueDate: formatDueDate(request.extendedDueAt ?? request.dueAt),
    verified: request.verifiedAt !== null,
    gpc: request.gpc,
  });
}

export default function Confirmed() {
  const r = useLoaderData<typeof loader>();
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">{r.verified ? "Thank you — your request is confirmed" : "Thank you — your request is recorded"}</h1>
      <p className="success" role="status">
        {r.verified ? "We have confirmed your email address. " : ""}We have emailed you an acknowledgement with a private link
        where you can follow your request.
      </p>
      {r.gpc ? <p className="notice">We also honoured the Global Privacy Control signal your browser sent.</p> : null}
      <p>{r.nextSteps}</p>
      <dl className="facts">
        <dt>Reference</dt>
        <dd>{r.reference}</dd>
        <dt>Request</dt>
        <dd>{r.type}</dd>
        <dt>Law</dt>
        <dd>{r.regime}</dd>
        <dt>We will respond by</dt>
        <dd>{r.dueDate}</dd>
      </dl>
    </section>
  );
}
