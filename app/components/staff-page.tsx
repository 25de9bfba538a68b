/**
 * A staff console page: a section named by its one h1 (id "title"), whose first card holds the heading, optionally who
 * is signed in, the staff pages' links and what `head` adds; the page's other cards follow.
 */
import type { ReactNode } from "react";
import { StaffNav } from "#app/components/staff-nav.tsx";
import type { StaffRole } from "#db/schema/index.ts";

type StaffPageProps = {
  title: ReactNode;
  role: StaffRole;
  /** The page's entry in the staff links (marked as current). */
  current: string;
  signedInAs?: { name: string; role: string };
  head?: ReactNode;
  children?: ReactNode;
};

export function StaffPage({ title, role, current, signedInAs, head, children }: StaffPageProps) {
  return (
    <section aria-labelledby="title">
      <div className="card">
        <h1 id="title">{title}</h1>
        {signedInAs ? (
          <p>
            Signed in as {signedInAs.name} ({signedInAs.role}).
          </p>
        ) : null}
        <StaffNav role={role} current={current} />
        {head}
      </div>
      {children}
    </section>
  );
}
