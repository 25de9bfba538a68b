/**
 * Sent right after intake: the code (and a link) that proves the requester controls the email address.
 */
import { ActionButton, Layout } from "./components/layout.tsx";
import { CodePanel, Paragraph, Title, formatDuration } from "./components/parts.tsx";

export { formatCode } from "./components/parts.tsx";

export type VerificationCodeProps = {
  orgName: string;
  /** Six digits, e.g. "123456"; shown as "123 456" so it is easy to read and type. */
  code: string;
  verifyUrl: string;
  expiresInMinutes: number;
  /** What was asked for, shown as a labelled value ("Request: Access to my data"), so any short label reads well. */
  requestTypeLabel: string;
};

export default function VerificationCode({ orgName, code, verifyUrl, expiresInMinutes, requestTypeLabel }: VerificationCodeProps) {
  const minutes = formatDuration(expiresInMinutes);
  return (
    <Layout orgName={orgName} preview={`Confirm your privacy request to ${orgName}. The code expires in ${minutes}.`}>
      <Title>Confirm your privacy request</Title>
      <Paragraph>
        Someone used this email address to make a privacy request to {orgName}. To confirm it was you, enter this code
        on the verification page.
      </Paragraph>
      <Paragraph>
        Request: <strong>{requestTypeLabel}</strong>
      </Paragraph>
      <CodePanel code={code} intro="Your verification code is" />
      <Paragraph>Or confirm with one click:</Paragraph>
      <ActionButton href={verifyUrl}>Confirm my request</ActionButton>
      <Paragraph>
        The code and the link expire in {minutes}. After that, you can ask for a new code on the verification page.
      </Paragraph>
      <Paragraph>
        If you did not ask for this, you can safely ignore this email: nothing happens unless the code is entered.
        Never share this code with anyone; {orgName} will never ask you for it by phone or email.
      </Paragraph>
    </Layout>
  );
}

VerificationCode.PreviewProps = {
  orgName: "Demo Shop",
  code: "123456",
  verifyUrl: "http://localhost:3000/verify/preview-token",
  expiresInMinutes: 15,
  requestTypeLabel: "Access to my data",
} satisfies VerificationCodeProps;
