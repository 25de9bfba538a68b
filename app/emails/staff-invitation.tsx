/**
 * Sent by the worker (job `send-staff-invitation`) when an administrator invites someone to the privacy team: the
 * single-use link that creates their staff account, and when it expires. The link's token is made by that job
 * (ADR 006, ADR 019); a re-send makes a new one and the older link stops working.
 *
 * Its own frame, not the requesters' Layout: the footer there speaks of a privacy request made with this address.
 */
import { Body, Container, Head, Hr, Html, Preview, Text } from "@react-email/components";
import type { CSSProperties } from "react";
import { ActionButton, colors } from "./components/layout.tsx";
import { Facts, Paragraph, Title } from "./components/parts.tsx";

export type StaffInvitationProps = {
  orgName: string;
  /** /admin/invite/<token> on the portal. */
  inviteUrl: string;
  /** "Processor — works on requests" */
  roleLabel: string;
  /** When the link stops working, e.g. "28 November 2026, 15:04 UTC". */
  expiresLabel: string;
};

const body: CSSProperties = {
  backgroundColor: "#ffffff",
  color: colors.text,
  fontFamily: "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
  fontSize: "16px",
  lineHeight: "1.5",
  margin: 0,
  padding: "24px 0",
};
const container: CSSProperties = { maxWidth: "560px", margin: "0 auto", padding: "0 20px" };
const small: CSSProperties = { fontSize: "13px", lineHeight: "20px", color: colors.muted, margin: "0 0 8px" };

export default function StaffInvitation({ orgName, inviteUrl, roleLabel, expiresLabel }: StaffInvitationProps) {
  return (
    <Html lang="en" dir="ltr">
      <Head>
        <meta name="color-scheme" content="light" />
        <meta name="supported-color-schemes" content="light" />
      </Head>
      <Preview>{`You are invited to join the ${orgName} privacy team. The link works once, until ${expiresLabel}.`}</Preview>
      <Body style={body}>
        <Container style={container}>
          <Text style={{ ...small, fontWeight: 700 }}>{orgName} — privacy requests</Text>
          <Title>You are invited to the privacy team</Title>
          <Paragraph>
            An administrator of {orgName} invited you to the staff console of its privacy request portal, where the team answers
            people's requests to see, correct or erase their personal data.
          </Paragraph>
          <Facts
            rows={[
              ["Your role", roleLabel],
              ["The link works until", expiresLabel],
            ]}
          />
          <ActionButton href={inviteUrl}>Create my staff account</ActionButton>
          <Paragraph>
            You will choose a password and then set up two-step verification with an authenticator app. The link works once; if it
            expired, ask the administrator to send a new one.
          </Paragraph>
          <Hr style={{ borderColor: colors.border, margin: "32px 0 16px" }} />
          <Text style={small}>
            If you did not expect this, ignore this email: no account exists until the link is used. Never forward it — whoever opens
            it can create the account.
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

StaffInvitation.PreviewProps = {
  orgName: "Demo Shop",
  inviteUrl: "http://localhost:3000/admin/invite/preview-token",
  roleLabel: "Processor — works on requests",
  expiresLabel: "28 November 2026, 15:04 UTC",
} satisfies StaffInvitationProps;
