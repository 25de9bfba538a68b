/**
 * Sent when we cannot do what was asked: the reason, and what the requester can do about it — complain to the
 * supervisory authority (GDPR / UK GDPR Art. 12(4): the ICO for the UK, the lead authority in the EU) and go to court,
 * or appeal our decision (US state laws), and then contact the state regulator.
 */
import { Link } from "@react-email/components";
import { ActionButton, Layout, colors } from "./components/layout.tsx";
import { Facts, Paragraph, QuoteReference, QuotedText, StatusLink, Subtitle, Title } from "./components/parts.tsx";
import { requiredText, type RequiredText } from "./components/required-text.ts";

/** Where the requester can take it from here. */
export type ComplaintInfo =
  /** GDPR / UK GDPR: the supervisory authority, e.g. { "Information Commissioner's Office (ICO)", "https://ico.org.uk/make-a-complaint/" }. */
  | { kind: "authority"; authorityName: string; authorityUrl: string }
  /**
   * US state laws: how to appeal our decision (plain text, e.g. "Reply on your status page within 45 days and
   * tell us why you disagree"), an optional page to appeal on, and the regulator to contact if the appeal is turned down.
   */
  | { kind: "appeal"; instructions: string; appealUrl?: string; regulator?: { name: string; url: string } };

export type DenialProps = {
  orgName: string;
  /** The request reference customers quote, e.g. "PR-7K3M-Q9XD". */
  reference: string;
  /** What was asked for, shown as a labelled value ("Request: Delete my data"). */
  requestTypeLabel: string;
  /** Why we cannot do it, in plain words (shown as text). Never blank: see `requiredText()`. */
  reason: RequiredText;
  /** The law the request was handled under, e.g. "UK GDPR". */
  regimeLabel: string;
  complaintInfo: ComplaintInfo;
  /** The requester's private status page. */
  statusUrl: string;
};

const link = { color: colors.accent, textDecoration: "underline" } as const;

function YourOptions({ info, orgName }: { info: ComplaintInfo; orgName: string }) {
  if (info.kind === "authority") {
    return (
      <>
        <Paragraph>
          If you disagree with our decision, you have the right to complain to the authority that oversees how {orgName}{" "}
          handles personal data: <strong>{info.authorityName}</strong>.
        </Paragraph>
        <Paragraph>
          You can make a complaint at{" "}
          <Link href={info.authorityUrl} style={link}>
            {info.authorityUrl}
          </Link>
          . You also have the right to ask a court to decide.
        </Paragraph>
      </>
    );
  }
  return (
    <>
      <Paragraph>If you disagree with our decision, you have the right to appeal it. How to appeal:</Paragraph>
      <QuotedText text={info.instructions} />
      {info.appealUrl ? <ActionButton href={info.appealUrl}>Appeal our decision</ActionButton> : null}
      {info.regulator ? (
        <Paragraph>
          If we turn down your appeal, you can complain to {info.regulator.name} at{" "}
          <Link href={info.regulator.url} style={link}>
            {info.regulator.url}
          </Link>
          .
        </Paragraph>
      ) : null}
    </>
  );
}

export default function Denial({ orgName, reference, requestTypeLabel, reason, regimeLabel, complaintInfo, statusUrl }: DenialProps) {
  return (
    <Layout orgName={orgName} preview={`Request ${reference}: our decision, and what you can do if you disagree.`}>
      <Title>We cannot complete your request</Title>
      <Paragraph>
        We have looked carefully at your privacy request and we are not able to do what you asked.
      </Paragraph>
      <Facts
        rows={[
          ["Your reference", reference],
          ["Request", requestTypeLabel],
          ["Handled under", regimeLabel],
        ]}
      />
      <Subtitle>Why</Subtitle>
      <QuotedText text={reason} />
      <Subtitle>What you can do</Subtitle>
      <YourOptions info={complaintInfo} orgName={orgName} />
      <StatusLink href={statusUrl} intro="Your status page shows this decision too:" />
      <QuoteReference reference={reference} />
    </Layout>
  );
}

Denial.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Delete my data",
  reason: requiredText(
    "You have an open order that has not been delivered yet. We need your details to deliver it and to handle any " +
      "return. You can ask again once the order is complete.",
  ),
  regimeLabel: "UK GDPR",
  complaintInfo: {
    kind: "authority",
    authorityName: "the Information Commissioner's Office (ICO)",
    authorityUrl: "https://ico.org.uk/make-a-complaint/",
  },
  statusUrl: "http://localhost:3000/status/preview-token",
} satisfies DenialProps;
