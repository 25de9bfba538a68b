/**
 * Sent to the consumer when an authorized agent made a request for them (CCPA regulations §7063(a)(3)): the consumer
 * confirms directly with us that they gave the agent permission. Nothing happens unless they confirm.
 */
import { ActionButton, Layout } from "./components/layout.tsx";
import { Facts, Paragraph, QuoteReference, Title, formatDuration } from "./components/parts.tsx";

export type AgentConfirmationProps = {
  orgName: string;
  /** The request reference customers quote, e.g. "PR-7K3M-Q9XD". */
  reference: string;
  /** What was asked for, shown as a labelled value ("Request: Delete my data"). */
  requestTypeLabel: string;
  /** The person or business acting for the consumer, as the agent gave it. Shown in the body only. */
  agentName: string;
  confirmUrl: string;
  expiresInMinutes: number;
};

export default function AgentConfirmation({
  orgName,
  reference,
  requestTypeLabel,
  agentName,
  confirmUrl,
  expiresInMinutes,
}: AgentConfirmationProps) {
  return (
    <Layout orgName={orgName} preview={`Request ${reference}: please confirm you asked someone to act for you.`}>
      <Title>Did you ask someone to make a request for you?</Title>
      <Paragraph>
        <strong>{agentName}</strong> made a privacy request to {orgName} on your behalf and told us that you gave them
        permission. Before we act on it, we need you to confirm this yourself.
      </Paragraph>
      <Facts
        rows={[
          ["Your reference", reference],
          ["Request", requestTypeLabel],
          ["Made for you by", agentName],
        ]}
      />
      <Paragraph>If you gave {agentName} permission to make this request for you, please confirm it:</Paragraph>
      <ActionButton href={confirmUrl}>Yes, I gave permission</ActionButton>
      <Paragraph>The link expires in {formatDuration(expiresInMinutes)}.</Paragraph>
      <Paragraph>
        If you did not give anyone permission, do not use the link. We will not act on this request unless you confirm
        it, and you do not need to do anything else.
      </Paragraph>
      <QuoteReference reference={reference} />
    </Layout>
  );
}

AgentConfirmation.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Delete my data",
  agentName: "Privacy Helpers LLC",
  confirmUrl: "http://localhost:3000/agent/confirm/preview-token",
  expiresInMinutes: 4320,
} satisfies AgentConfirmationProps;
