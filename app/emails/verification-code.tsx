/**
 * Sent right after intake: the code (and a link) that proves the requester controls the email address.
 */
import { Heading, Section, Text } from "@react-email/components";
import { ActionButton, Layout, colors, heading, paragraph } from "./components/layout.tsx";

export type VerificationCodeProps = {
  orgName: string;
  /** Six digits, e.g. "123456"; shown as "123 456" so it is easy to read and type. */
  code: string;
  verifyUrl: string;
  expiresInMinutes: number;
  /** What was asked for, shown as a labelled value ("Request: Access to my data"), so any short label reads well. */
  requestTypeLabel: string;
};

/** "123456" → "123 456"; anything else is shown as given. */
export function formatCode(code: string): string {
  return /^\d{6}$/.test(code) ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

export default function VerificationCode({ orgName, code, verifyUrl, expiresInMinutes, requestTypeLabel }: VerificationCodeProps) {
  const shown = formatCode(code);
  const minutes = `${expiresInMinutes} minute${expiresInMinutes === 1 ? "" : "s"}`;
  return (
    <Layout orgName={orgName} preview={`Confirm your privacy request to ${orgName}. The code expires in ${minutes}.`}>
      <Heading as="h1" style={heading}>
        Confirm your privacy request
      </Heading>
      <Text style={paragraph}>
        Someone used this email address to make a privacy request to {orgName}. To confirm it was you, enter this code
        on the verification page.
      </Text>
      <Text style={paragraph}>
        Request: <strong>{requestTypeLabel}</strong>
      </Text>
      <Section
        style={{
          backgroundColor: colors.panel,
          border: `1px solid ${colors.border}`,
          borderRadius: "6px",
          margin: "0 0 16px",
          padding: "16px",
          textAlign: "center",
        }}
      >
        <Text style={{ ...paragraph, margin: "0 0 4px" }}>Your verification code is</Text>
        <Text
          style={{
            fontFamily: "'SFMono-Regular', Consolas, 'Liberation Mono', Menlo, monospace",
            fontSize: "32px",
            fontWeight: 700,
            letterSpacing: "4px",
            lineHeight: "40px",
            margin: 0,
          }}
        >
          {shown}
        </Text>
      </Section>
      <Text style={paragraph}>Or confirm with one click:</Text>
      <ActionButton href={verifyUrl}>Confirm my request</ActionButton>
      <Text style={paragraph}>
        The code and the link expire in {minutes}. After that, you can ask for a new code on the verification page.
      </Text>
      <Text style={paragraph}>
        If you did not ask for this, you can safely ignore this email: nothing happens unless the code is entered.
        Never share this code with anyone; {orgName} will never ask you for it by phone or email.
      </Text>
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
