/**
 * Tells a staff member who has not acknowledged the current data-handling policy that changes to requests are refused
 * until they do (the refusal itself is in `requireStaffSession`, ADR 019). Shown above the queue and every request
 * page; `version` null shows nothing.
 */
import { Link } from "@remix-run/react";
import { HANDLING_POLICY_PATH } from "#app/models/handling-policy.ts";

export function PolicyBanner({ version, back }: { version: number | null; back: string }) {
  if (version === null) return null;
  return (
    <p className="notice" role="status" data-testid="policy-banner">
      You have not acknowledged the current data-handling policy (version {version}). You can read requests, but changes are
      refused until you do: <Link to={`${HANDLING_POLICY_PATH}?next=${encodeURIComponent(back)}`}>read and acknowledge the policy</Link>.
    </p>
  );
}
