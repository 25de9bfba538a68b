/**
 * Sent when a request is done. Access: the data package is ready on the status page until a date. Deletion: what was
 * deleted, masked or kept in each of our systems and why (counts only, never the data itself). Correction and
 * opt-out: what was updated in each system (counts and the names of what changed, never the values). Anything else:
 * done.
 */
import { Fragment } from "react";
import { Layout, paragraph } from "./components/layout.tsx";
import { Facts, Paragraph, QuoteReference, StatusLink, Subtitle, Title } from "./components/parts.tsx";

/** What erasure did in one connected store: record counts and the reasons anything was kept. */
export type ErasureSummaryRow = {
  /** The store's name as the requester would know it, e.g. "Online shop" or "Newsletter service". */
  store: string;
  deleted: number;
  masked: number;
  kept: number;
  /** Why records were kept, in plain words, e.g. "Invoices must be kept for 6 years for tax law." */
  keptReasons: string[];
};

/** What a correction or an opt-out did in one connected store: counts and names of attributes/preferences only. */
export type UpdateSummaryRow = {
  store: string;
  /** Records that now hold the corrected details / the opt-out; undefined: done by hand, no count recorded. */
  updated?: number;
  /** Records left unchanged because they also concern another person. */
  shared: number;
  /** In plain words, e.g. ["name", "email address"] or ["sale or sharing of your data"]. */
  what: string[];
  /** A person in our team updated this system by hand (counts as they recorded them). */
  byHand?: boolean;
};

export type CompletionProps = {
  orgName: string;
  /** The request reference customers quote, e.g. "PR-7K3M-Q9XD". */
  reference: string;
  /** What was asked for, shown as a labelled value ("Request: Access my data"). */
  requestTypeLabel: string;
  kind: "access" | "deletion" | "correction" | "opt_out" | "other";
  /** The requester's private status page (where an access package is downloaded). */
  statusUrl: string;
  /** access: the last day the package can be downloaded, already formatted, e.g. "28 March 2026". */
  downloadExpiresOn?: string;
  /** deletion: one row per store; an empty list means none of our systems held data about the requester. */
  erasureSummary?: ErasureSummaryRow[];
  /** correction / opt_out: one row per store. */
  updateSummary?: UpdateSummaryRow[];
};

const records = (n: number) => `${n} record${n === 1 ? "" : "s"}`;

function AccessReady({ statusUrl, downloadExpiresOn }: { statusUrl: string; downloadExpiresOn?: string }) {
  return (
    <>
      <Paragraph>
        A copy of the personal data we hold about you is ready. You can download it from your private status page. For
        your security, we may ask you to confirm it is you again before the download starts.
      </Paragraph>
      {downloadExpiresOn ? (
        <Paragraph>
          The download is available until <strong>{downloadExpiresOn}</strong>. After that we delete the file; if you
          need another copy, you can make a new request.
        </Paragraph>
      ) : null}
      <StatusLink href={statusUrl} intro="To download your data, open your status page:" label="Download my data" />
    </>
  );
}

function ErasureReport({ rows }: { rows: ErasureSummaryRow[] }) {
  if (rows.length === 0) {
    return <Paragraph>None of our systems held personal data about you, so there was nothing to delete.</Paragraph>;
  }
  return (
    <>
      <Subtitle>What we did in each of our systems</Subtitle>
      <Paragraph>
        Deleted means the record is gone. Masked means we removed the details that identify you but kept the rest (for
        example, a sale we must keep in our accounts). Kept means we still hold the record, for the reason given.
      </Paragraph>
      {rows.map((row, i) => (
        <Fragment key={i}>
          <Paragraph style={row.kept > 0 && row.keptReasons.length > 0 ? { margin: "0 0 4px" } : undefined}>
            <strong>{row.store}</strong>: {records(row.deleted)} deleted, {records(row.masked)} masked,{" "}
            {records(row.kept)} kept.
          </Paragraph>
          {row.kept > 0 && row.keptReasons.length > 0 ? (
            <>
              <Paragraph style={{ margin: "0 0 4px" }}>Why we kept {row.kept === 1 ? "it" : "them"}:</Paragraph>
              <ul style={{ ...paragraph, paddingLeft: "24px" }}>
                {row.keptReasons.map((reason, j) => (
                  <li key={j}>{reason}</li>
                ))}
              </ul>
            </>
          ) : null}
        </Fragment>
      ))}
    </>
  );
}

function UpdateReport({ rows, kind }: { rows: UpdateSummaryRow[]; kind: "correction" | "opt_out" }) {
  const touched = rows.filter((r) => (r.updated ?? 0) > 0 || r.shared > 0 || r.byHand);
  if (touched.length === 0) {
    return (
      <Paragraph>
        {kind === "correction"
          ? "None of our systems held the details you asked us to correct."
          : "None of our systems held data your choice applies to, so there was nothing to change."}
      </Paragraph>
    );
  }
  return (
    <>
      <Subtitle>What we did in each of our systems</Subtitle>
      {touched.map((row, i) => (
        <Paragraph key={i}>
          <strong>{row.store}</strong>:{" "}
          {row.updated === undefined ? "handled by a member of our team" : `${records(row.updated)} ${kind === "correction" ? "corrected" : "updated"}`}
          {row.what.length > 0 ? ` (${row.what.join(", ")})` : ""}
          {row.byHand && row.updated !== undefined ? ", by a member of our team" : ""}.
          {row.shared > 0 ? ` ${records(row.shared)} also concerning another person ${row.shared === 1 ? "was" : "were"} left unchanged.` : ""}
        </Paragraph>
      ))}
    </>
  );
}

export default function Completion({
  orgName,
  reference,
  requestTypeLabel,
  kind,
  statusUrl,
  downloadExpiresOn,
  erasureSummary,
  updateSummary,
}: CompletionProps) {
  return (
    <Layout orgName={orgName} preview={`Request ${reference} is complete.`}>
      <Title>Your request is complete</Title>
      <Paragraph>{orgName} has finished working on your privacy request.</Paragraph>
      <Facts
        rows={[
          ["Your reference", reference],
          ["Request", requestTypeLabel],
        ]}
      />
      {kind === "access" ? <AccessReady statusUrl={statusUrl} downloadExpiresOn={downloadExpiresOn} /> : null}
      {kind === "deletion" ? (
        <>
          <Paragraph>We have deleted your personal data, except where the law requires or allows us to keep it.</Paragraph>
          {erasureSummary ? <ErasureReport rows={erasureSummary} /> : null}
        </>
      ) : null}
      {kind === "correction" ? (
        <>
          <Paragraph>We have corrected your details wherever we hold them.</Paragraph>
          {updateSummary ? <UpdateReport rows={updateSummary} kind="correction" /> : null}
        </>
      ) : null}
      {kind === "opt_out" ? (
        <>
          <Paragraph>We have recorded your choice in our systems.</Paragraph>
          {updateSummary ? <UpdateReport rows={updateSummary} kind="opt_out" /> : null}
        </>
      ) : null}
      {kind === "other" ? <Paragraph>We have done what you asked.</Paragraph> : null}
      {kind === "access" ? null : <StatusLink href={statusUrl} />}
      <QuoteReference reference={reference} />
    </Layout>
  );
}

Completion.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Delete my data",
  kind: "deletion",
  statusUrl: "http://localhost:3000/status/preview-token",
  erasureSummary: [
    { store: "Online shop", deleted: 12, masked: 3, kept: 0, keptReasons: [] },
    {
      store: "Accounting",
      deleted: 0,
      masked: 0,
      kept: 4,
      keptReasons: ["Invoices must be kept for 6 years under tax law.", "An open warranty claim needs your order details."],
    },
    { store: "Newsletter service", deleted: 1, masked: 0, kept: 0, keptReasons: [] },
  ],
} satisfies CompletionProps;
