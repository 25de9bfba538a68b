/**
 * The frame of every request page (everything under /admin/requests/): a banner for a staff member who has not
 * acknowledged the current data-handling policy, above the page itself. The refusal of their POSTs is in
 * `requireStaffSession` (app/utils/session.server.ts); this only tells them before they try (ADR 019).
 * /admin/requests on its own has no page: it goes to the queue.
 */
import { json, redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { Outlet, useLoaderData, useLocation } from "@remix-run/react";
import { PolicyBanner } from "#app/components/policy-banner.tsx";
import { versionToAcknowledge } from "#app/models/handling-policy.server.ts";
import { REQUEST_PAGES_PATH, requireStaff } from "#app/utils/session.server.ts";
import { getDb } from "#db/client.server.ts";

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  const path = new URL(request.url).pathname.toLowerCase().replace(/\/+$/, "");
  if (path === REQUEST_PAGES_PATH) throw redirect("/admin");
  return json({ mustAcknowledge: await versionToAcknowledge(getDb(), staff) });
}

export default function RequestPagesFrame() {
  const { mustAcknowledge } = useLoaderData<typeof loader>();
  const location = useLocation();
  return (
    <>
      <PolicyBanner version={mustAcknowledge} back={`${location.pathname}${location.search}`} />
      <Outlet />
    </>
  );
}
