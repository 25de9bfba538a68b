/**
 * Sent before the original due date when we take the extra time the law allows (GDPR / UK GDPR Art. 12(3): up to two
 * further months; CCPA regulations §7021(b): up to 45 more days): that we need more time, why, and the new date.
 */
import { Layout } from "./components/layout.tsx";
import { Facts, Paragraph, QuoteReference, QuotedText, StatusLink, Subtitle, Title } from "./components/parts.tsx";
import { requiredText, type RequiredText } from "./components/required-text.ts";

export type ExtensionNoticeProps = {
  orgName: string;
  /** The request reference customers quote, e.g. "PR-7K3M-Q9XD". */
  reference: string;
  /** What was asked for, shown as a labelled value ("Request: Access my data"). */
  requestTypeLabel: string;
  /** Both dates already formatted for the reader, e.g. "14 March 2026". */
  originalDueDate: string;
  newDueDate: string;
  /** Why we need more time, in plain words (shown as text). Never blank: see `requiredText()`. */
  reason: RequiredText;
  /** The requester's private status page. */
  statusUrl: string;
};

export default function ExtensionNotice({
  orgName,
  reference,
  requestTypeLabel,
  originalDueDate,
  newDueDate,
  reason,
  statusUrl,
}: ExtensionNoticeProps) {
  return (
    <Layout orgName={orgName} preview={`Request ${reference}: we need more time and will now respond by ${newDueDate}.`}>
      <Title>We need more time for your request</Title>
      <Paragraph>
        We are sorry: we cannot finish your privacy request by {originalDueDate} as planned. We will respond by{" "}
        <strong>{newDueDate}</strong> at the latest.
      </Paragraph>
      <Subtitle>Why we need more time</Subtitle>
      <QuotedText text={reason} />
      <Facts
        rows={[
          ["Your reference", reference],
          ["Request", requestTypeLabel],
          ["First due date", originalDueDate],
          ["New due date", newDueDate],
        ]}
      />
      <Paragraph>
        Privacy law lets us take extra time when a request is complex or we have received many requests, as long as we
        tell you why before the first due date. You do not need to do anything. We will still respond sooner if we can.
      </Paragraph>
      <StatusLink href={statusUrl} />
      <QuoteReference reference={reference} />
    </Layout>
  );
}

ExtensionNotice.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Access my data",
  originalDueDate: "14 March 2026",
  newDueDate: "14 May 2026",
  reason: requiredText(
    "Your data is held in several older systems that we have to search by hand, and this takes longer than usual.",
  ),
  statusUrl: "http://localhost:3000/status/preview-token",
} satisfies ExtensionNoticeProps;
