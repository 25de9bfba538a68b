/**
 * Sent when staff need something more from the requester before they can go on (usually to be sure who they are).
 * The staff message is shown as plain text, never as HTML; the requester answers on the status page, not by email.
 */
import { Layout } from "./components/layout.tsx";
import { Facts, Paragraph, QuoteReference, QuotedText, StatusLink, Title } from "./components/parts.tsx";
import { requiredText, type RequiredText } from "./components/required-text.ts";

export type MoreInformationProps = {
  orgName: string;
  /** The request reference customers quote, e.g. "PR-7K3M-Q9XD". */
  reference: string;
  /** What was asked for, shown as a labelled value ("Request: Access my data"). */
  requestTypeLabel: string;
  /** What staff need, as they typed it (plain text; line breaks kept). Never blank: see `requiredText()`. */
  message: RequiredText;
  /** The requester's private status page, where they answer. */
  respondUrl: string;
  /** The date we ask for the answer by, already formatted for the reader, e.g. "14 March 2026". */
  dueDate: string;
};

export default function MoreInformation({ orgName, reference, requestTypeLabel, message, respondUrl, dueDate }: MoreInformationProps) {
  return (
    <Layout orgName={orgName} preview={`Request ${reference}: we need a little more information from you.`}>
      <Title>We need more information</Title>
      <Paragraph>
        We are working on your privacy request, but we need something more from you before we can go on. Our privacy
        team wrote:
      </Paragraph>
      <QuotedText text={message} />
      <Facts
        rows={[
          ["Your reference", reference],
          ["Request", requestTypeLabel],
          ["Please answer by", dueDate],
        ]}
      />
      <Paragraph>
        Please answer on your private status page, not by replying to this email. Until we hear from you, we cannot
        complete your request.
      </Paragraph>
      <StatusLink href={respondUrl} intro="To answer, open your status page:" label="Answer on my status page" />
      <QuoteReference reference={reference} />
    </Layout>
  );
}

MoreInformation.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Access my data",
  message: requiredText(
    "We could not match the details you gave to an account.\n\nPlease tell us the postcode of the address your last order was delivered to.",
  ),
  respondUrl: "http://localhost:3000/status/preview-token",
  dueDate: "14 March 2026",
} satisfies MoreInformationProps;
