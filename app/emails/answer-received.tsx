/**
 * Sent by the worker (job `send-answer-notice`) to the privacy team when a requester answered staff's request for
 * more information on their status page: the request is back in review. The answer itself stays in the portal
 * (encrypted; staff read it on the request page): an email is no place for what the requester wrote.
 */
import { ActionButton, StaffLayout } from "./components/layout.tsx";
import { Facts, Paragraph, Title } from "./components/parts.tsx";

export type AnswerReceivedProps = {
  orgName: string;
  /** "PR-7K3M-Q9XD" */
  reference: string;
  /** "Access my data" */
  requestTypeLabel: string;
  /** The request page in the staff console. */
  requestUrl: string;
  /** "23 December 2026" */
  dueLabel: string;
  /** True when the recipient is the request's assignee; otherwise they get it as an admin or processor of an unassigned request. */
  assigned: boolean;
};

export default function AnswerReceived({ orgName, reference, requestTypeLabel, requestUrl, dueLabel, assigned }: AnswerReceivedProps) {
  return (
    <StaffLayout
      orgName={orgName}
      preview={`The requester of ${reference} answered your question; the request is back in review.`}
      footer={
        assigned
          ? "You receive this as the request's assignee."
          : "You receive this as an administrator or processor: the request is not assigned to anyone."
      }
    >
      <Title>The requester answered</Title>
      <Paragraph>
        The requester sent the information the team asked for. The request is back in review; read the answer on the request
        page.
      </Paragraph>
      <Facts
        rows={[
          ["Request", `${reference} — ${requestTypeLabel}`],
          ["Due", dueLabel],
        ]}
      />
      <ActionButton href={requestUrl}>Open the request</ActionButton>
    </StaffLayout>
  );
}

AnswerReceived.PreviewProps = {
  orgName: "Demo Shop",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Access my data",
  requestUrl: "http://localhost:3000/admin/requests/PR-7K3M-Q9XD",
  dueLabel: "23 December 2026",
  assigned: true,
} satisfies AnswerReceivedProps;
