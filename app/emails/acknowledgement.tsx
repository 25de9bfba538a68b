/**
 * Sent once a request is verified: it is on file, here is its reference, and the date by which we must answer.
 */
import { Heading, Section, Text } from "@react-email/components";
import { ActionButton, Layout, colors, heading, paragraph, subheading } from "./components/layout.tsx";

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
  /** Where the requester can check progress, when the portal offers it. */
  statusUrl?: string;
};

export default function Acknowledgement({ orgName, reference, requestTypeLabel, regimeLabel, dueDate, statusUrl }: AcknowledgementProps) {
  return (
    <Layout orgName={orgName} preview={`Request ${reference}: we will respond by ${dueDate}.`}>
      <Heading as="h1" style={heading}>
        We received your request
      </Heading>
      <Text style={paragraph}>Thank you. {orgName} received your privacy request and you confirmed it is yours.</Text>
      <Section
        style={{
          backgroundColor: colors.panel,
          border: `1px solid ${colors.border}`,
          borderRadius: "6px",
          margin: "0 0 16px",
          padding: "16px",
        }}
      >
        <Text style={{ ...paragraph, margin: "0 0 4px" }}>
          Your reference: <strong>{reference}</strong>
        </Text>
        <Text style={{ ...paragraph, margin: "0 0 4px" }}>
          Request: <strong>{requestTypeLabel}</strong>
        </Text>
        <Text style={{ ...paragraph, margin: "0 0 4px" }}>
          Handled under: <strong>{regimeLabel}</strong>
        </Text>
        <Text style={{ ...paragraph, margin: 0 }}>
          We will respond by: <strong>{dueDate}</strong>
        </Text>
      </Section>
      <Heading as="h2" style={subheading}>
        What happens next
      </Heading>
      <Text style={paragraph}>
        1. Our privacy team reviews your request and looks for your data in the systems where we keep it.
      </Text>
      <Text style={paragraph}>2. If we need anything more from you to be sure it is you, we will email you.</Text>
      <Text style={paragraph}>
        3. We will respond by {dueDate}. If the law allows us more time and we need it, we will tell you why before that
        date.
      </Text>
      {statusUrl ? (
        <>
          <Text style={paragraph}>You can check where your request stands at any time:</Text>
          <ActionButton href={statusUrl}>Check the status of my request</ActionButton>
        </>
      ) : null}
      <Text style={paragraph}>Please quote {reference} if you contact us about this request.</Text>
    </Layout>
  );
}

Acknowledgement.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Access to my data",
  regimeLabel: "GDPR (EU)",
  dueDate: "14 March 2026",
  statusUrl: "http://localhost:3000/status/preview-token",
} satisfies AcknowledgementProps;
