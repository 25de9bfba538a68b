/**
 * A new store from a data map (admins, after a step-up): the map's errors are listed with their line, nothing is
 * saved until it is valid; secrets go in write-only fields (or as env:NAME) and are never shown back.
 */
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { StaffPage } from "#app/components/staff-page.tsx";
import { StoreMapForm, type StoreMapFormData } from "#app/components/store-map-editor.tsx";
import { NEW_STORE_TEMPLATE, saveStoreMapForm, secretFieldLabels, secretFormFields, SECRET_FIELDS, STORE_MAP_FORM_FIELDS, stepUpExpiredReply } from "#app/models/store-admin.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { hasFreshStepUp, requireStaffSession, requireStepUp, ROLES, stepUpUrl } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "New store — Privacy Center staff" }];

/** Who may use this page (read by tests/integration/admin-authz.test.ts; enforced by requireStaff below). */
export const handle = { staffRoles: ["admin"] };

const PATH = "/admin/stores/new";

export async function loader({ request }: LoaderFunctionArgs) {
  // The step-up comes first, so a map is never typed and then lost to the step-up round trip.
  const { staff } = await requireStepUp(request, { roles: ROLES.admins });
  return json(
    {
      me: { name: staff.name, role: staff.role },
      text: NEW_STORE_TEMPLATE,
      secretFields: SECRET_FIELDS.map((f) => ({ name: secretFormFields[f], label: secretFieldLabels[f], hint: "Leave empty to use the map's env:NAME." })),
      stepUpHref: stepUpUrl(PATH),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export async function action({ request }: ActionFunctionArgs) {
  const context = await requireStaffSession(request, { roles: ROLES.admins });
  const form = await readForm(request, STORE_MAP_FORM_FIELDS);
  const noStore = { "Cache-Control": "no-store" };
  if (!hasFreshStepUp(context)) return json<StoreMapFormData>(stepUpExpiredReply(form), { status: 401, headers: noStore });
  const saved = await saveStoreMapForm(getDb(), form, { create: true }, context.staff.id);
  if (!saved.ok) return json<StoreMapFormData>(saved.reply, { status: saved.status, headers: noStore });
  return redirect(`/admin/stores/${saved.store.name}?saved=created`);
}

export default function NewStore() {
  const { me, text, secretFields, stepUpHref } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>() as StoreMapFormData | undefined;
  return (
    <StaffPage
      title="New store"
      role={me.role}
      current="/admin/stores"
      head={
        <>
          <p>
            <Link to="/admin/stores">All stores</Link>
          </p>
          <p className="hint">
            Describe the store in its data map: how to reach it, the collections that hold personal data, the fields that identify a
            customer and what erasure does to each. The store is created enabled; test its connection on the next page. Every change
            is recorded in the audit trail (without secrets).
          </p>
        </>
      }
    >
      <div className="card">
        <StoreMapForm text={text} data={data} secretFields={secretFields} submitLabel="Create store" stepUpHref={stepUpHref} />
      </div>
    </StaffPage>
  );
}
