/**
 * The staff console's page links, one place for every admin page. Links a role may not use are left out (the server
 * refuses them anyway: this only keeps the page honest). `current` marks the page being shown.
 */
import { Link } from "@remix-run/react";
import type { StaffRole } from "#db/schema/index.ts";

type Page = { to: string; label: string; roles: readonly StaffRole[] };

const ALL: readonly StaffRole[] = ["admin", "processor", "auditor"];

export const staffPages: readonly Page[] = [
  { to: "/admin", label: "Requests", roles: ALL },
  { to: "/admin/dashboard", label: "Dashboard", roles: ALL },
  { to: "/admin/stores", label: "Stores", roles: ALL },
  { to: "/admin/audit", label: "Audit log", roles: ["admin", "auditor"] },
  { to: "/admin/schedules", label: "Schedules", roles: ["admin", "auditor"] },
  { to: "/admin/handling-policy", label: "Data-handling policy", roles: ALL },
  { to: "/admin/policy", label: "Approval policy", roles: ["admin"] },
  { to: "/admin/staff", label: "Staff", roles: ["admin"] },
  { to: "/admin/account", label: "Your account", roles: ALL },
];

export function StaffNav({ role, current }: { role: StaffRole; current?: string }) {
  const pages = staffPages.filter((p) => p.roles.includes(role));
  return (
    <nav aria-label="Staff pages">
      <p>
        {pages.map((p, i) => (
          <span key={p.to}>
            {i > 0 ? " · " : null}
            <Link to={p.to} aria-current={p.to === current ? "page" : undefined}>
              {p.label}
            </Link>
          </span>
        ))}
      </p>
    </nav>
  );
}
