import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { referencePattern } from "#app/models/requests.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — we asked the consumer to confirm" }];

/** Shown to the agent after submitting. The same page for every well-formed reference: it looks nothing up. */
export async function loader({ params }: LoaderFunctionArgs) {
  const reference = params.reference ?? "";
  if (!referencePattern.test(reference)) throw new Response("Not found", { status: 404 });
  return json({ reference });
}

export default function AgentSubmitted() {
  const { reference } = useLoaderData<typeof loader>();
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">We asked the consumer to confirm</h1>
      <p className="success" role="status">
        Thank you. We have received the request and the signed permission, and we have emailed the consumer to ask them to
        confirm directly with us that they gave you permission to act for them.
      </p>
      <p>
        The request reference is <strong>{reference}</strong>. Please quote it if you contact us.
      </p>
      <p>
        We act on the request only after the consumer confirms. From then on we write to the consumer directly about it,
        including our acknowledgement and our response. If the consumer does not confirm, nothing happens.
      </p>
    </section>
  );
}
