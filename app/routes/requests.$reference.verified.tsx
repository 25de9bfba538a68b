import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { formatDueDate } from "#app/models/deadlines.ts";
import { regimeLabels } from "#app/models/regions.ts";
import { requestTypeLabels } from "#app/models/request-types.ts";
import { getRequestByReference } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — request confirmed" }];

export async function loader({ params }: LoaderFunctionArgs) {
  const request = await getRequestByReference(getDb(), params.reference ?? "");
  if (!request?.verifiedAt) throw new Response("Not found", { status: 404 });
  return json({
    reference: request.reference,
    type: requestTypeLabels[request.type],
    regime: regimeLabels[request.regime],
    dueDate: formatDueDate(request.extendedDueAt ?? request.dueAt),
  });
}

export default function Verified() {
  const r = useLoaderData<typeof loader>();
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Thank you — your request is confirmed</h1>
      <p className="success" role="status">
        We have confirmed your email address and sent you an acknowledgement.
      </p>
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
