/**
 * One store: its data map (every role reads it — there is no secret in it; admins edit it after a step-up), the
 * connection test with index warnings and their fix (admins and processors), enable/disable (admins, step-up).
 * Auditors never post.
 */
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { StaffNav } from "#app/components/staff-nav.tsx";
import { MapText, StoreMapForm, type StoreMapFormData } from "#app/components/store-map-editor.tsx";
import { DomainError } from "#app/models/errors.ts";
import {
  describeTest,
  requireStoreForEditor,
  saveStoreMapForm,
  secretFieldLabels,
  secretFormFields,
  setStoreEnabled,
  STORE_MAP_FORM_FIELDS,
  stepUpExpiredReply,
  storeKindLabels,
  testStoreForStaff,
  type StoreTestOutcome,
} from "#app/models/store-admin.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { hasFreshStepUp, requireStaff, requireStaffSession, requireStepUp, ROLES, stepUpUrl } from "#app/utils/session.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.store.name ?? "Store"} — Privacy Center staff` }];

const dateTime = (d: Date) => d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
const pathOf = (name: string) => `/admin/stores/${encodeURIComponent(name)}`;

export async function loader({ request, params }: LoaderFunctionArgs) {
  const context = await requireStaffSession(request);
  const { staff } = context;
  const name = params.name ?? "";
  const s = await requireStoreForEditor(getDb(), name);
  const stateHint = (state: string, env?: string) =>
    state === "stored" ? "A value is stored (encrypted). Leave empty to keep it." : state === "env" ? `Read from the environment variable ${env}. A value typed here replaces that.` : "Not set.";
  return json(
    {
      me: { name: staff.name, role: staff.role },
      canEdit: staff.role === "admin",
      canTest: staff.role === "admin" || staff.role === "processor",
      stepUpFresh: staff.role === "admin" && hasFreshStepUp(context),
      stepUpHref: stepUpUrl(pathOf(name)),
      store: {
        name: s.store.name,
        title: s.store.title,
        kind: storeKindLabels[s.store.kind],
        enabled: s.store.disabledAt === null,
        mapVersion: s.store.mapVersion,
        updated: dateTime(s.store.updatedAt),
      },
      text: s.text,
      secretFields: s.secrets.map((x) => ({ name: secretFormFields[x.field], label: secretFieldLabels[x.field], hint: stateHint(x.state, x.env) })),
      lastTest: s.lastTest ? { at: dateTime(s.lastTest.at), by: s.lastTest.by, summary: describeTest(s.lastTest), warningCount: s.lastTest.warningCount } : null,
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

type ActionData = ({ intent: "save" } & StoreMapFormData) | { intent: "test"; test: StoreTestOutcome; summary: string } | { intent: null; error: string };

export async function action({ request, params }: ActionFunctionArgs) {
  // Auditors never post; processors may only test the connection.
  const context = await requireStaffSession(request, { roles: ROLES.workers });
  const name = params.name ?? "";
  const db = getDb();
  const noStore = { "Cache-Control": "no-store" };
  const form = await readForm(request, STORE_MAP_FORM_FIELDS);
  const intent = String(form.get("intent") ?? "");
  try {
    if (intent === "test") {
      const test = await testStoreForStaff(db, { name, staffId: context.staff.id });
      const summary = describeTest({ ...test, errors: test.errors.length, latencyMs: test.latencyMs ?? null });
      return json<ActionData>({ intent: "test", test, summary }, { headers: noStore });
    }
    if (intent === "enable" || intent === "disable") {
      const { staff } = await requireStepUp(request, { roles: ROLES.admins, returnTo: pathOf(name) });
      const { changed } = await setStoreEnabled(db, { name, enabled: intent === "enable", staffId: staff.id });
      return redirect(`${pathOf(name)}?saved=${changed ? intent + "d" : "unchanged"}`);
    }
    if (intent === "save") {
      await requireStaff(request, { roles: ROLES.admins });
      if (!hasFreshStepUp(context)) return json<ActionData>({ intent: "save", ...stepUpExpiredReply(form) }, { status: 401, headers: noStore });
      const saved = await saveStoreMapForm(db, form, { name }, context.staff.id);
      if (!saved.ok) return json<ActionData>({ intent: "save", ...saved.reply }, { status: saved.status, headers: noStore });
      return redirect(`${pathOf(saved.store.name)}?saved=${saved.changed ? "saved" : "unchanged"}`);
    }
  } catch (error) {
    if (error instanceof DomainError) return json<ActionData>({ intent: null, error: error.userMessage }, { status: error.status });
    throw error;
  }
  return json<ActionData>({ intent: null, error: "Unknown action." }, { status: 400 });
}

const savedMessages: Record<string, string> = {
  created: "Store created. Test its connection to check the map against the store.",
  saved: "Map saved: a new map version.",
  unchanged: "Nothing changed.",
  enabled: "Store enabled: new requests include it.",
  disabled: "Store disabled: new requests leave it out.",
};

function TestResult({ test, summary }: { test: StoreTestOutcome; summary: string }) {
  return (
    <div role="status" className={test.connected && test.ok ? "success" : "notice"} id="test-result">
      <h3>Connection test: {summary}</h3>
      {test.server ? <p className="hint">Server: {test.server}</p> : null}
      {test.errors.length > 0 ? (
        <>
          <h4>Problems</h4>
          <ul>
            {test.errors.map((e, i) => (
              <li key={i} className="error">
                {e.path ? <code>{e.path}</code> : null} {e.message}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {test.warnings.length > 0 ? (
        <>
          <h4>
            {test.warnings.length} {test.warnings.length === 1 ? "warning" : "warnings"}
          </h4>
          <ul className="store-warnings">
            {test.warnings.map((w, i) => (
              <li key={i}>
                <span className="badge due-soon">{w.code.replaceAll("_", " ")}</span> {w.message}
                {w.fix ? (
                  <>
                    <div className="hint">Fix:</div>
                    <pre>
                      <code>{w.fix}</code>
                    </pre>
                  </>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : test.connected ? (
        <p>No warnings.</p>
      ) : null}
      {test.collections.length > 0 ? <p className="hint">Collections checked: {test.collections.map((c) => `${c.name} (${c.table})`).join(", ")}</p> : null}
    </div>
  );
}

export default function StorePage() {
  const { me, canEdit, canTest, stepUpFresh, stepUpHref, store, text, secretFields, lastTest } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>() as ActionData | undefined;
  const [params] = useSearchParams();
  const saved = params.get("saved");
  const editing = canEdit && (stepUpFresh || data?.intent === "save");
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">Store {store.name}</h1>
        <StaffNav role={me.role} current="/admin/stores" />
        <p>
          <Link to="/admin/stores">All stores</Link>
          {canTest ? (
            <>
              {" · "}
              <Link to={`${pathOf(store.name)}/dry-run`}>Dry run for an identity</Link>
            </>
          ) : null}
        </p>
        {saved && savedMessages[saved] ? (
          <p className="success" role="status">
            {savedMessages[saved]}
          </p>
        ) : null}
        {data?.intent === null ? (
          <p className="error" role="alert">
            {data.error}
          </p>
        ) : null}
        <dl className="facts">
          <dt>Title</dt>
          <dd>{store.title ?? "—"}</dd>
          <dt>Kind</dt>
          <dd>{store.kind}</dd>
          <dt>Status</dt>
          <dd>
            <span className={`badge ${store.enabled ? "on-time" : "overdue"}`} data-testid="store-status">
              {store.enabled ? "enabled" : "disabled"}
            </span>
          </dd>
          <dt>Map</dt>
          <dd>
            version {store.mapVersion}, changed {store.updated}
          </dd>
          <dt>Last test</dt>
          <dd>
            {lastTest
              ? `${lastTest.summary}${lastTest.warningCount > 0 ? `, ${lastTest.warningCount} ${lastTest.warningCount === 1 ? "warning" : "warnings"}` : ""} — ${lastTest.at}${lastTest.by ? ` by ${lastTest.by}` : ""}`
              : "not tested from the console yet"}
          </dd>
        </dl>
        {canEdit ? (
          <Form method="post">
            <input type="hidden" name="intent" value={store.enabled ? "disable" : "enable"} />
            <p className="hint">
              {store.enabled ? "Disabling leaves this store out of every request approved from now on." : "Enabling includes this store in requests approved from now on."}{" "}
              Needs a fresh authenticator code.
            </p>
            <button type="submit" className="secondary">
              {store.enabled ? "Disable store" : "Enable store"}
            </button>
          </Form>
        ) : null}
      </div>

      {canTest ? (
        <div className="card">
          <h2>Connection</h2>
          <p className="hint">Connects to the store and checks the map against it: tables, columns, indexes (with the statement that adds a missing one), foreign keys, TLS.</p>
          <Form method="post">
            <input type="hidden" name="intent" value="test" />
            <button type="submit">Test connection</button>
          </Form>
          {data?.intent === "test" ? <TestResult test={data.test} summary={data.summary} /> : null}
        </div>
      ) : null}

      <div className="card">
        <h2>Data map</h2>
        {editing ? (
          <StoreMapForm text={text} data={data?.intent === "save" ? data : undefined} secretFields={secretFields} submitLabel="Save map" stepUpHref={stepUpHref} />
        ) : (
          <>
            {canEdit ? (
              <p className="notice">
                Editing the map or its secrets needs a fresh authenticator code. <a href={stepUpHref}>Confirm it is you to edit</a>
              </p>
            ) : null}
            <MapText text={text} readOnly label="Data map (read only)" hint="Secrets kept by the portal show as stored; they are never displayed." />
          </>
        )}
      </div>
    </section>
  );
}
