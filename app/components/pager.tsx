/**
 * The pages of a long list (the queue, the audit log): `Pager`, the links between them — a link back, the page shown,
 * a link on, whichever there are, separated by " · ", in a `nav` named "Pages"; `PagedResults`, one page of results
 * followed by its pager, or the message that says why there are none.
 */
import { Link } from "@remix-run/react";
import { Fragment, type ReactNode } from "react";

type PageLink = { to: string; label: string } | null;

type PagerProps = { back: PageLink; current?: string; forward: PageLink };

export function Pager({ back, current, forward }: PagerProps) {
  const parts: { key: string; node: ReactNode }[] = [];
  if (back) parts.push({ key: "back", node: <Link to={back.to}>{back.label}</Link> });
  if (current !== undefined) parts.push({ key: "current", node: <span aria-current="page">{current}</span> });
  if (forward) parts.push({ key: "forward", node: <Link to={forward.to}>{forward.label}</Link> });
  return (
    <nav aria-label="Pages" className="card">
      <p>
        {parts.map((p, i) => (
          <Fragment key={p.key}>
            {i > 0 ? " · " : null}
            {p.node}
          </Fragment>
        ))}
      </p>
    </nav>
  );
}

/** `none`, when set, is shown instead (announced as a status); otherwise the results and their pager. */
export function PagedResults({ none, children, ...pager }: { none: string | null; children: ReactNode } & PagerProps) {
  if (none !== null) {
    return (
      <p className="card" role="status">
        {none}
      </p>
    );
  }
  return (
    <>
      {children}
      <Pager {...pager} />
    </>
  );
}
