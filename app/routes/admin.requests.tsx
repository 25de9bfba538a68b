/**
 * The frame of every request page (everything under /admin/requests/): a banner for a staff member who has not
 * acknowledged the current data-handling policy, above the page itself. The refusal of their POSTs is in
 * `requireStaffSession` (app/utils/session.server.ts); this only tells them before they try (ADR 019).
 * /admin/requests on its own has no page: it goes to the queue.
 */
import { json, redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { Link, Outlet, useLoaderData, useLocation } from "@remix-run/react";
import { policyStanding } from "#app/models/handling-policy.server.ts";
import { HANDLING_POLICY_PATH } from "#app/models/handling-policy.ts";
import { REQUEST_PAGES_PATH, requireStaff } from "#app/utils/session.server.ts";
import { getDb } from "#db/client.server.ts";

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  const path = new URL(request.url).pathname.toLowerCase().replace(/\/+$/, "");
  if (path === REQUEST_PAGES_PATH) throw redirect("/admin");
  // Auditors never act on requests, so there is nothing for them to acknowledge here.
  if (staff.role === "auditor") return json({ mustAcknowledge: null });
  const standing = await policyStanding(getDb(), staff.id);
  return json({ mustAcknowledge: standing.acknowledged ? null : standing.currentVersion });
}

export default function RequestPagesFrame() {
  const { mustAcknowledge } = useLoaderData<typeof loader>();
  const location = useLocation();
  const back = encodeURIComponent(`${location.pathname}${location.search}`);
  return (
    <>
      {mustAcknowledge !== null ? (
        <p className="notice" role="status" data-testid="policy-banner">
          You have not acknowledged the current data-handling policy (version {mustAcknowledge}). You can read requests, but changes
          are refused until you do: <Link to={`${HANDLING_POLICY_PATH}?next=${back}`}>read and acknowledge the policy</Link>.
        </p>
      ) : null}
      <Outlet />
    </>
  );
}
