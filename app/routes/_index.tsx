import type { MetaFunction } from "@remix-run/node";
import { Link } from "@remix-run/react";
import { offeredTypes, requestTypeInfo } from "#app/models/request-types.ts";
import { regimeLabels } from "#app/models/regions.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — your privacy rights" }];

export default function Index() {
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Your privacy rights</h1>
      <p>
        Choose what you would like us to do. Making a request is free. We first confirm that the request comes from you,
        usually with a code sent to your email address.
      </p>
      <ul className="choices">
        {offeredTypes.map((type) => {
          const info = requestTypeInfo[type];
          return (
            <li key={type}>
              <Link to={`/request/${info.slug}`} className="choice-link">
                {info.label}
              </Link>
              <p className="hint">{info.summary}</p>
              {info.regimes.length < 4 ? (
                <p className="hint">Available under: {info.regimes.map((r) => regimeLabels[r]).join(", ")}.</p>
              ) : null}
            </li>
          );
        })}
      </ul>
      <p>
        Are you an authorized agent acting for a California (or other US state) consumer?{" "}
        <Link to="/request/agent">Submit a request on their behalf</Link>.
      </p>
    </section>
  );
}
