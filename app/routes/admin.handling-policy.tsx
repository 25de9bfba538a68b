/**
 * The data-handling policy (ADR 019). Every role reads the current version; admins and processors acknowledge it
 * with one button (until they do, their POSTs to request pages are refused — app/utils/session.server.ts); admins
 * write and publish a new version (step-up) and, with auditors, see the versions and who acknowledged which.
 * `?version=N` shows an older version; `?next=` (a path on this site) is where acknowledging returns to.
 */
import { getFormProps, getTextareaProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { DataTable } from "#app/components/data-table.tsx";
import { StaffPage } from "#app/components/staff-page.tsx";
import {
  acknowledgeHandlingPolicy,
  currentHandlingPolicy,
  getHandlingPolicyVersion,
  HandlingPolicyError,
  listAcknowledgements,
  listHandlingPolicyVersions,
  policyStanding,
  publishHandlingPolicy,
} from "#app/models/handling-policy.server.ts";
import { HANDLING_POLICY_PATH, MAX_POLICY_LENGTH } from "#app/models/handling-policy.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { renderSafeMarkdown } from "#app/utils/markdown.server.ts";
import { hasFreshStepUp, requireStaff, requireStaffSession, requireStepUp, ROLES, safeNextPath, stepUpUrl } from "#app/utils/session.server.ts";
import { getDb } from "#db/client.server.ts";

export const meta: MetaFunction = () => [{ title: "Data-handling policy — Privacy Center staff" }];

const stamp = (d: Date) => `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
const roleLabels = { admin: "admin", processor: "processor", auditor: "auditor" } as const;

const publishSchema = z.object({
  intent: z.enum(["publish", "preview"]),
  body: z
    .string({ error: "Write the policy text." })
    .max(MAX_POLICY_LENGTH, { error: `The policy may be at most ${MAX_POLICY_LENGTH.toLocaleString("en")} characters long.` }),
});

export async function loader({ request }: LoaderFunctionArgs) {
  const context = await requireStaffSession(request);
  const me = context.staff;
  const db = getDb();
  const url = new URL(request.url);
  const seesRecords = me.role === "admin" || me.role === "auditor";
  const current = await currentHandlingPolicy(db);

  const asked = url.searchParams.get("version");
  let shown = current;
  if (asked !== null && current) {
    const number = /^\d{1,9}$/.test(asked) ? Number(asked) : NaN;
    shown = seesRecords || number === current.version ? await getHandlingPolicyVersion(db, number) : null;
    if (!shown) throw json({ message: `There is no policy version "${asked.slice(0, 20)}" to show.` }, { status: 404 });
  }

  const [standing, versions, acknowledgements] = await Promise.all([
    policyStanding(db, me.id),
    seesRecords ? listHandlingPolicyVersions(db) : Promise.resolve([]),
    seesRecords && shown ? listAcknowledgements(db, shown.id) : Promise.resolve([]),
  ]);
  const next = safeNextPath(url.searchParams.get("next"), "");
  return json(
    {
      role: me.role,
      next,
      refused: url.searchParams.get("refused") === "1",
      published: url.searchParams.get("published"),
      acknowledgedNow: url.searchParams.get("acknowledged"),
      stepUpFresh: hasFreshStepUp(context),
      stepUpLink: stepUpUrl(`${HANDLING_POLICY_PATH}#editor`),
      current: current ? { version: current.version } : null,
      shown: shown
        ? {
            version: shown.version,
            isCurrent: shown.version === current?.version,
            html: renderSafeMarkdown(shown.bodyMarkdown),
            published: stamp(shown.createdAt),
            author: shown.authorName ?? "a former staff member",
          }
        : null,
      // Admins start a new version from the current text.
      draft: me.role === "admin" ? (current?.bodyMarkdown ?? "") : "",
      standing: { acknowledged: standing.acknowledged, acknowledgedAt: standing.acknowledgedAt ? stamp(standing.acknowledgedAt) : null },
      versions: versions.map((v) => ({ version: v.version, published: stamp(v.createdAt), author: v.authorName ?? "a former staff member", acknowledgements: v.acknowledgements })),
      acknowledgements: acknowledgements.map((a) => ({ id: a.staffId, name: a.name, email: a.email, role: roleLabels[a.role], at: a.acknowledgedAt ? stamp(a.acknowledgedAt) : null })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export async function action({ request }: ActionFunctionArgs) {
  // Auditors read only; admins and processors acknowledge; admins publish.
  const me = await requireStaff(request, { roles: ROLES.workers });
  const db = getDb();
  const form = await readForm(request, ["intent", "version", "body", "next"]);
  const intent = form.get("intent");

  if (intent === "acknowledge") {
    const raw = String(form.get("version") ?? "");
    if (!/^\d{1,9}$/.test(raw)) return json({ intent: "acknowledge" as const, error: "Acknowledge the version shown on this page.", result: null, previewHtml: null }, { status: 400 });
    try {
      const { version } = await acknowledgeHandlingPolicy(db, { staffId: me.id, version: Number(raw) });
      const next = safeNextPath(String(form.get("next") ?? ""), "");
      return redirect(next || `${HANDLING_POLICY_PATH}?acknowledged=${version.version}`, 303);
    } catch (error) {
      if (!(error instanceof HandlingPolicyError)) throw error;
      return json({ intent: "acknowledge" as const, error: error.userMessage, result: null, previewHtml: null }, { status: error.status });
    }
  }

  await requireStaff(request, { roles: ROLES.admins });
  const submission = parseWithZod(form, { schema: publishSchema });
  if (submission.status !== "success") {
    return json({ intent: "publish" as const, error: null, result: submission.reply(), previewHtml: null }, { status: 400 });
  }
  if (submission.value.intent === "preview") {
    return json({ intent: "publish" as const, error: null, result: submission.reply(), previewHtml: renderSafeMarkdown(submission.value.body) });
  }
  const { staff } = await requireStepUp(request, { roles: ROLES.admins, returnTo: `${HANDLING_POLICY_PATH}#editor` });
  try {
    const published = await publishHandlingPolicy(db, { authorId: staff.id, bodyMarkdown: submission.value.body });
    return redirect(`${HANDLING_POLICY_PATH}?published=${published.version}`, 303);
  } catch (error) {
    if (!(error instanceof HandlingPolicyError)) throw error;
    return json({ intent: "publish" as const, error: null, result: submission.reply({ fieldErrors: { body: [error.userMessage] } }), previewHtml: null }, { status: error.status });
  }
}

export default function HandlingPolicyPage() {
  const data = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const { role, current, shown, standing } = data;
  const mustAcknowledge = role !== "auditor" && current !== null && !standing.acknowledged;
  return (
    <StaffPage
      title="Data-handling policy"
      role={role}
      current={HANDLING_POLICY_PATH}
      head={
        <>
          <p>
            How the privacy team handles personal data. Every administrator and processor acknowledges the current version before
            acting on requests; reading is never blocked.
          </p>
          {data.refused ? (
            <p className="error" role="alert" data-testid="policy-refused">
              Your change was not made: acknowledge the current data-handling policy first
              {data.next ? ", then you will go back to the request" : ""}.
            </p>
          ) : null}
          {data.published ? (
            <p className="success" role="status">
              Version {data.published} is published. Everyone must acknowledge it before acting on requests again.
            </p>
          ) : null}
          {data.acknowledgedNow ? (
            <p className="success" role="status">
              Thank you: you acknowledged version {data.acknowledgedNow}.
            </p>
          ) : null}
          {actionData?.error ? (
            <p className="error" role="alert">
              {actionData.error}
            </p>
          ) : null}
        </>
      }
    >
      <article className="card" aria-labelledby="policy-title">
        {shown ? (
          <>
            <h2 id="policy-title">
              Version {shown.version}
              {shown.isCurrent ? " (current)" : ""}
            </h2>
            <p className="hint">
              Published {shown.published} by {shown.author}.
              {!shown.isCurrent && current ? (
                <>
                  {" "}
                  An older version: <Link to={HANDLING_POLICY_PATH}>read the current one (version {current.version})</Link>.
                </>
              ) : null}
            </p>
            <div className="policy-text" data-testid="policy-text" dangerouslySetInnerHTML={{ __html: shown.html }} />
            {shown.isCurrent ? (
              mustAcknowledge ? (
                <Form method="post">
                  <p className="notice" role="status">
                    You have not acknowledged version {shown.version} yet. Until you do, you can read requests but not act on them.
                  </p>
                  <input type="hidden" name="intent" value="acknowledge" />
                  <input type="hidden" name="version" value={shown.version} />
                  <input type="hidden" name="next" value={data.next} />
                  <button type="submit">I have read version {shown.version} and will follow it</button>
                </Form>
              ) : role !== "auditor" ? (
                <p className="success">You acknowledged this version on {standing.acknowledgedAt}.</p>
              ) : null
            ) : null}
          </>
        ) : (
          <>
            <h2 id="policy-title">No policy yet</h2>
            <p>No data-handling policy has been published yet{role === "admin" ? ": write the first version below" : ""}.</p>
          </>
        )}
      </article>

      {shown && (role === "admin" || role === "auditor") ? <Acknowledgements version={shown.version} entries={data.acknowledgements} /> : null}
      {data.versions.length > 0 ? <Versions versions={data.versions} shownVersion={shown?.version} /> : null}
      {role === "admin" ? <Editor draft={data.draft} stepUpFresh={data.stepUpFresh} stepUpLink={data.stepUpLink} /> : null}
    </StaffPage>
  );
}

function Acknowledgements({ version, entries }: { version: number; entries: { id: string; name: string; email: string; role: string; at: string | null }[] }) {
  // Auditors never act on requests, so they need not acknowledge (they may have, and then it is shown).
  const bound = entries.filter((e) => e.role !== "auditor");
  const done = bound.filter((e) => e.at !== null).length;
  return (
    <div className="card" aria-labelledby="acks-title">
      <h2 id="acks-title">Who acknowledged version {version}</h2>
      <p>{`${done} of ${bound.length} administrators and processors.`}</p>
      <DataTable
        columns={["Name", "Email", "Role", "Acknowledged"]}
        rows={entries}
        row={(e) => (
          <tr key={e.id} data-staff={e.email} data-acknowledged={e.at ? "yes" : "no"}>
            <td>{e.name}</td>
            <td>{e.email}</td>
            <td>{e.role}</td>
            <td>{e.at ?? (e.role === "auditor" ? "not needed (reads only)" : "not yet")}</td>
          </tr>
        )}
      />
    </div>
  );
}

function Versions({ versions, shownVersion }: { versions: { version: number; published: string; author: string; acknowledgements: number }[]; shownVersion?: number }) {
  return (
    <div className="card" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      <DataTable
        columns={["Version", "Published", "By", "Acknowledged by"]}
        rows={versions}
        row={(v) => (
          <tr key={v.version} data-version={v.version}>
            <td>
              <Link to={`${HANDLING_POLICY_PATH}?version=${v.version}`} aria-current={v.version === shownVersion ? "page" : undefined}>
                Version {v.version}
              </Link>
            </td>
            <td>{v.published}</td>
            <td>{v.author}</td>
            <td>{v.acknowledgements}</td>
          </tr>
        )}
      />
    </div>
  );
}

function Editor({ draft, stepUpFresh, stepUpLink }: { draft: string; stepUpFresh: boolean; stepUpLink: string }) {
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "policy-editor",
    lastResult: actionData?.intent === "publish" ? actionData.result : undefined,
    defaultValue: { body: draft },
    shouldValidate: "onBlur",
    onValidate: ({ formData }) => parseWithZod(formData, { schema: publishSchema }),
  });
  const preview = actionData?.intent === "publish" ? actionData.previewHtml : null;
  return (
    <div className="card" id="editor" aria-labelledby="editor-title">
      <h2 id="editor-title">Publish a new version</h2>
      <p className="hint">
        Markdown: headings, lists, emphasis, links (http, https and mailto only). HTML is shown as text. A published version never
        changes; publishing asks everyone to acknowledge the new version.
      </p>
      {stepUpFresh ? null : (
        <p className="notice">
          Publishing asks for a fresh authenticator code. <Link to={stepUpLink}>Confirm it is you now</Link>, before you edit, so no
          text is lost on the way.
        </p>
      )}
      <Form method="post" {...getFormProps(form)}>
        <FieldErrors id={form.errorId} errors={form.errors} />
        <Field
          label="Policy text (Markdown)"
          hint={`Up to ${MAX_POLICY_LENGTH.toLocaleString("en")} characters.`}
          hintId="body-hint"
          htmlFor={fields.body.id}
          errorId={fields.body.errorId}
          errors={fields.body.errors}
        >
          <textarea {...getTextareaProps(fields.body)} rows={16} aria-describedby={`body-hint ${fields.body.errorId}`} />
        </Field>
        <p>
          <button type="submit" name="intent" value="preview" className="secondary">
            Preview
          </button>{" "}
          <button type="submit" name="intent" value="publish">
            Publish new version
          </button>
        </p>
      </Form>
      {preview !== null && preview !== undefined ? (
        <section aria-labelledby="preview-title">
          <h3 id="preview-title">Preview (not published)</h3>
          <div className="policy-text" data-testid="policy-preview" dangerouslySetInnerHTML={{ __html: preview }} />
        </section>
      ) : null}
    </div>
  );
}
