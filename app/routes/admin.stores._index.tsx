/**
 * Connected stores (every role reads): kind, enabled, map version, the last connection test and its warnings. Admins
 * add stores from here; admins and processors open a store's dry run.
 */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { StaffNav } from "#app/components/staff-nav.tsx";
import { describeTest, listStoresForStaff, storeKindLabels } from "#app/models/store-admin.server.ts";
import { getDb } from "#db/client.server.ts";
import { requireStaff } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Stores — Privacy Center staff" }];

const dateTime = (d: Date) => d.toISOString().replace("T", " ").slice(0, 16) + " UTC";

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  const stores = await listStoresForStaff(getDb());
  return json(
    {
      me: { name: staff.name, role: staff.role },
      stores: stores.map((s) => ({
        name: s.name,
        title: s.title,
        kind: storeKindLabels[s.kind],
        enabled: s.enabled,
        mapVersion: s.mapVersion,
        updated: dateTime(s.updatedAt),
        lastTest: s.lastTest
          ? {
              at: dateTime(s.lastTest.at),
              by: s.lastTest.by,
              summary: describeTest(s.lastTest),
              ok: s.lastTest.connected && s.lastTest.ok,
              warningCount: s.lastTest.warningCount,
              warnings: s.lastTest.warnings.map((w) => `${w.code.replaceAll("_", " ")}${w.collection ? ` (${w.collection}${w.column ? `.${w.column}` : ""})` : ""}`),
            }
          : null,
      })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export default function StoresList() {
  const { me, stores } = useLoaderData<typeof loader>();
  const canDryRun = me.role === "admin" || me.role === "processor";
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">Stores</h1>
        <p>Signed in as {me.name} ({me.role}).</p>
        <StaffNav role={me.role} current="/admin/stores" />
        <p>
          The company systems the portal finds, exports and erases a customer&apos;s data in. Each is described by a data map
          (docs/data-map.md). Disabled stores take part in no new request.
        </p>
        {me.role === "admin" ? (
          <p>
            <Link to="/admin/stores/new" className="button">
              New store
            </Link>
          </p>
        ) : null}
      </div>
      <div className="card">
        {stores.length === 0 ? (
          <p>
            No stores yet.{" "}
            {me.role === "admin" ? "Add one with “New store”, or with npm run portal -- stores:apply <map.yaml>." : "An admin adds them."}
          </p>
        ) : (
          <table>
            <caption className="hint">{stores.length === 1 ? "1 store" : `${stores.length} stores`}</caption>
            <thead>
              <tr>
                <th scope="col">Store</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Map</th>
                <th scope="col">Last connection test</th>
                {canDryRun ? <th scope="col">Check</th> : null}
              </tr>
            </thead>
            <tbody>
              {stores.map((s) => (
                <tr key={s.name} data-store={s.name}>
                  <td>
                    <Link to={`/admin/stores/${s.name}`}>{s.name}</Link>
                    {s.title ? <div className="hint">{s.title}</div> : null}
                  </td>
                  <td>{s.kind}</td>
                  <td>
                    <span className={`badge ${s.enabled ? "on-time" : "overdue"}`}>{s.enabled ? "enabled" : "disabled"}</span>
                  </td>
                  <td>
                    version {s.mapVersion}
                    <div className="hint">changed {s.updated}</div>
                  </td>
                  <td>
                    {s.lastTest ? (
                      <>
                        <span className={`badge ${s.lastTest.ok ? "on-time" : "overdue"}`}>{s.lastTest.ok ? "ok" : "failed"}</span> {s.lastTest.summary}
                        <div className="hint">
                          {s.lastTest.at}
                          {s.lastTest.by ? ` by ${s.lastTest.by}` : ""}
                        </div>
                        {s.lastTest.warningCount > 0 ? (
                          <div>
                            <span className="badge due-soon">
                              {s.lastTest.warningCount} {s.lastTest.warningCount === 1 ? "warning" : "warnings"}
                            </span>{" "}
                            {s.lastTest.warnings.join("; ")}
                            {s.lastTest.warningCount > s.lastTest.warnings.length ? "; …" : ""}
                          </div>
                        ) : null}
                      </>
                    ) : (
                      "not tested from the console yet"
                    )}
                  </td>
                  {canDryRun ? (
                    <td>
                      <Link to={`/admin/stores/${s.name}/dry-run`} aria-label={`Dry run in ${s.name}`}>
                        Dry run
                      </Link>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
