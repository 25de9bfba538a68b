/**
 * Sent by the worker (job `send-staff-invitation`) when an administrator invites someone to the privacy team: the
 * single-use link that creates their staff account, and when it expires. The link's token is made by that job
 * (ADR 006, ADR 019); a re-send makes a new one and the older link stops working.
 *
 * Its own frame, not the requesters' Layout: the footer there speaks of a privacy request made with this address.
 */
import { ActionButton, StaffLayout } from "./components/layout.tsx";
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

export default function StaffInvitation({ orgName, inviteUrl, roleLabel, expiresLabel }: StaffInvitationProps) {
  return (
    <StaffLayout
      orgName={orgName}
      preview={`You are invited to join the ${orgName} privacy team. The link works once, until ${expiresLabel}.`}
      footer="If you did not expect this, ignore this email: no account exists until the link is used. Never forward it — whoever opens it can create the account."
    >
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
    </StaffLayout>
  );
}

StaffInvitation.PreviewProps = {
  orgName: "Demo Shop",
  inviteUrl: "http://localhost:3000/admin/invite/preview-token",
  roleLabel: "Processor — works on requests",
  expiresLabel: "28 November 2026, 15:04 UTC",
} satisfies StaffInvitationProps;
