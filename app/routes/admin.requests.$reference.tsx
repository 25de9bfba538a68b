import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { agentSummaryForStaff } from "#app/models/agents.server.ts";
import { listEvents } from "#app/models/audit.server.ts";
import { formatDueDate } from "#app/models/deadlines.ts";
import { regimeLabels } from "#app/models/regions.ts";
import { requestTypeInfo } from "#app/models/request-types.ts";
import { decryptDetails, decryptIdentity, getRequestByReference, listSubjectHistory, maskEmail } from "#app/models/requests.server.ts";
import { getDb } from "#db/client.server.ts";
import { requireStaff } from "#app/utils/session.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.reference ?? "Request"} — Privacy Center staff` }];

/** One request for staff: masked identity, what was asked, verification, the audit timeline, the subject's history. */
export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireStaff(request);
  const db = getDb();
  const row = await getRequestByReference(db, params.reference ?? "");
  if (!row) throw new Response("Not found", { status: 404 });
  const identity = decryptIdentity(row);
  const details = decryptDetails(row);
  const [events, history, agent] = await Promise.all([listEvents(db, row.id), listSubjectHistory(db, row), agentSummaryForStaff(db, row)]);
  return json(
    {
      reference: row.reference,
      type: requestTypeInfo[row.type].label,
      regime: regimeLabels[row.regime],
      jurisdiction: row.jurisdiction,
      status: row.status.replaceAll("_", " "),
      submittedBy: row.submittedBy,
      maskedEmail: maskEmail(identity.email),
      hasName: Boolean(identity.name),
      received: formatDueDate(row.receivedAt),
      due: formatDueDate(row.extendedDueAt ?? row.dueAt),
      acknowledgeBy: row.acknowledgeBy ? formatDueDate(row.acknowledgeBy) : null,
      verification: { level: row.verificationLevel, required: row.requiredVerificationLevel, supplied: row.suppliedDataPoints, matched: row.matchedDataPoints },
      accessScope: row.accessScope,
      gpc: row.gpc,
      corrections: details.corrections ?? null,
      reason: details.reason ?? null,
      declaration: details.declaration ? { signedAt: details.declaration.signedAt } : null,
      agent,
      events: events.map((e) => ({ id: e.id, at: e.createdAt.toISOString(), actor: e.actorType, action: e.action, details: JSON.stringify(e.details) })),
      history: history
        .filter((h) => h.reference !== row.reference)
        .map((h) => ({ reference: h.reference, type: requestTypeInfo[h.type].label, status: h.status.replaceAll("_", " "), received: formatDueDate(h.receivedAt) })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export default function AdminRequest() {
  const r = useLoaderData<typeof loader>();
  return (
    <section aria-labelledby="title">
      <p>
        <Link to="/admin">← All requests</Link>
      </p>
      <div className="card">
        <h1 id="title">
          {r.reference} — {r.type}
        </h1>
        <dl className="facts">
          <dt>Status</dt>
          <dd>{r.status}</dd>
          <dt>Law</dt>
          <dd>
            {r.regime} ({r.jurisdiction})
          </dd>
          <dt>Subject</dt>
          <dd>
            {r.maskedEmail}
            {r.submittedBy === "agent" ? " (submitted by an authorized agent)" : ""}
          </dd>
          <dt>Received</dt>
          <dd>{r.received}</dd>
          {r.acknowledgeBy ? (
            <>
              <dt>Acknowledge by</dt>
              <dd>{r.acknowledgeBy}</dd>
            </>
          ) : null}
          <dt>Due</dt>
          <dd>{r.due}</dd>
          <dt>Verification</dt>
          <dd>
            level {r.verification.level} of {r.verification.required} required
            {r.verification.supplied.length > 0 ? `; data points supplied: ${r.verification.supplied.join(", ")}` : ""}
            {r.verification.matched.length > 0 ? `; matched: ${r.verification.matched.join(", ")}` : ""}
          </dd>
          {r.accessScope ? (
            <>
              <dt>Access scope</dt>
              <dd>
                {r.accessScope === "specific" ? "specific pieces" : "categories"}
                {r.declaration ? ` — declaration signed ${new Date(r.declaration.signedAt).toUTCString()}` : ""}
              </dd>
            </>
          ) : null}
          {r.gpc ? (
            <>
              <dt>Global Privacy Control</dt>
              <dd>signal received with the request</dd>
            </>
          ) : null}
        </dl>
        {r.corrections ? (
          <>
            <h2>Correction asked</h2>
            <h3>What is wrong</h3>
            <pre>{r.corrections.incorrect}</pre>
            <h3>What it should say</h3>
            <pre>{r.corrections.correct}</pre>
          </>
        ) : null}
        {r.reason ? (
          <>
            <h2>Reason given</h2>
            <pre>{r.reason}</pre>
          </>
        ) : null}
      </div>

      {r.agent ? (
        <div className="card" aria-labelledby="agent-title">
          <h2 id="agent-title">Authorized agent</h2>
          <dl className="facts">
            <dt>Agent</dt>
            <dd>
              {r.agent.name}
              {r.agent.organisation ? ` (${r.agent.organisation})` : ""}
            </dd>
            <dt>Agent email</dt>
            <dd>{r.agent.maskedEmail}</dd>
            <dt>Consumer confirmed</dt>
            <dd>{r.agent.confirmedAt ? new Date(r.agent.confirmedAt).toUTCString() : "not yet — waiting for the consumer"}</dd>
            <dt>Signed permission</dt>
            <dd>
              {r.agent.documents.length === 0
                ? "none"
                : r.agent.documents.map((d) => (
                    <a key={d.id} href={`/admin/requests/${r.reference}/documents/${d.id}`} download>
                      Download ({d.contentType}, {Math.max(1, Math.round(d.sizeBytes / 1024)).toLocaleString("en")} KB)
                    </a>
                  ))}
            </dd>
          </dl>
          <p className="hint">Every download is recorded in the audit trail.</p>
        </div>
      ) : null}

      <div className="card">
        <h2>Other requests from this subject</h2>
        {r.history.length === 0 ? (
          <p>None.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Reference</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Received</th>
              </tr>
            </thead>
            <tbody>
              {r.history.map((h) => (
                <tr key={h.reference}>
                  <td>
                    <Link to={`/admin/requests/${h.reference}`}>{h.reference}</Link>
                  </td>
                  <td>{h.type}</td>
                  <td>{h.status}</td>
                  <td>{h.received}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>

      <div className="card">
        <h2>Audit trail</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {r.events.map((e) => (
              <tr key={e.id}>
                <td>{e.at.replace("T", " ").slice(0, 19)}</td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>
                  <code>{e.details}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
