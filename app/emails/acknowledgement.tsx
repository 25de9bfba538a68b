/**
 * Sent once a request is verified: it is on file, here is its reference, what happens next for this kind of request,
 * the date by which we must answer, and the link to the requester's private status page.
 */
import { Layout } from "./components/layout.tsx";
import { Facts, Paragraph, QuoteReference, StatusLink, Subtitle, Title } from "./components/parts.tsx";

export type AcknowledgementProps = {
  orgName: string;
  /** The request reference customers quote, e.g. "PR-7K3M-Q9XD". */
  reference: string;
  /** What was asked for, shown as a labelled value ("Request: Access to my data"). */
  requestTypeLabel: string;
  /** The law the request is handled under, shown as a labelled value ("Handled under: GDPR (EU)"). */
  regimeLabel: string;
  /** Already formatted for the reader, e.g. "14 March 2026". */
  dueDate: string;
  /** The requester's private status page. */
  statusUrl: string;
  /**
   * One or two plain sentences on what we do next for this kind of request, e.g. "We will gather a copy of the
   * personal data we hold about you from each of our systems."
   */
  nextSteps: string;
};

export default function Acknowledgement({
  orgName,
  reference,
  requestTypeLabel,
  regimeLabel,
  dueDate,
  statusUrl,
  nextSteps,
}: AcknowledgementProps) {
  return (
    <Layout orgName={orgName} preview={`Request ${reference}: we will respond by ${dueDate}.`}>
      <Title>We received your request</Title>
      <Paragraph>Thank you. {orgName} has received your privacy request.</Paragraph>
      <Facts
        rows={[
          ["Your reference", reference],
          ["Request", requestTypeLabel],
          ["Handled under", regimeLabel],
          ["We will respond by", dueDate],
        ]}
      />
      <Subtitle>What happens next</Subtitle>
      <Paragraph>1. {nextSteps}</Paragraph>
      <Paragraph>2. If we need anything more from you to be sure it is you, we will email you.</Paragraph>
      <Paragraph>
        3. We will respond by {dueDate}. If the law allows us more time and we need it, we will tell you why before that
        date.
      </Paragraph>
      <StatusLink href={statusUrl} />
      <QuoteReference reference={reference} />
    </Layout>
  );
}

Acknowledgement.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Access my data",
  regimeLabel: "GDPR",
  dueDate: "14 March 2026",
  statusUrl: "http://localhost:3000/status/preview-token",
  nextSteps: "We will gather a copy of the personal data we hold about you from each of our systems.",
} satisfies AcknowledgementProps;
