/**
 * Sent when a request ends without an answer because we were waiting on the requester: the email address was never
 * confirmed (status `expired`, after UNVERIFIED_EXPIRY_DAYS), or the information we asked for never came (status
 * `closed`, after INFO_REQUEST_EXPIRY_DAYS). Says what happened, that nothing more will be done, and how to ask again.
 */
import { Layout } from "./components/layout.tsx";
import { ActionButton } from "./components/layout.tsx";
import { Facts, Paragraph, QuoteReference, Title } from "./components/parts.tsx";

export type RequestExpiredReason = "not_verified" | "information_not_provided";

export type RequestExpiredProps = {
  orgName: string;
  /** The request reference customers quote, e.g. "PR-7K3M-Q9XD". */
  reference: string;
  /** What was asked for ("Delete my data"). */
  requestTypeLabel: string;
  reason: RequestExpiredReason;
  /** How long we waited, in days (UNVERIFIED_EXPIRY_DAYS or INFO_REQUEST_EXPIRY_DAYS). */
  afterDays: number;
  /** Where a new request can be made (the portal's start page). */
  newRequestUrl: string;
};

export default function RequestExpired({ orgName, reference, requestTypeLabel, reason, afterDays, newRequestUrl }: RequestExpiredProps) {
  const unverified = reason === "not_verified";
  return (
    <Layout
      orgName={orgName}
      preview={unverified ? `Request ${reference} expired: the email address was not confirmed.` : `Request ${reference} was closed: we did not receive the information we asked for.`}
    >
      <Title>{unverified ? "Your request has expired" : "Your request has been closed"}</Title>
      {unverified ? (
        <Paragraph>
          We could not act on your privacy request because the email address it was made with was not confirmed within{" "}
          {afterDays} days. To protect your data, we only act on requests once we know they come from you.
        </Paragraph>
      ) : (
        <Paragraph>
          We asked you for more information to carry out your privacy request and did not receive it within {afterDays} days,
          so we have closed the request.
        </Paragraph>
      )}
      <Facts
        rows={[
          ["Your reference", reference],
          ["Request", requestTypeLabel],
          ["Status", unverified ? "Expired" : "Closed"],
        ]}
      />
      <Paragraph>We will not do anything more with this request. You are welcome to make a new request at any time:</Paragraph>
      <ActionButton href={newRequestUrl}>Make a new request</ActionButton>
      <Paragraph>If you did not make this request, you can ignore this email.</Paragraph>
      <QuoteReference reference={reference} />
    </Layout>
  );
}

RequestExpired.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Delete my data",
  reason: "not_verified",
  afterDays: 14,
  newRequestUrl: "http://localhost:3000/",
} satisfies RequestExpiredProps;
