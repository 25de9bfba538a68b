/**
 * Sent by the worker (job `send-package-code`) when the requester asks, on their status page, to download their data
 * package: the code that proves, once more, that they control the email address (issue 4: a fresh code before every
 * download). No button: the code is typed on the status page where it was asked for.
 */
import { Layout } from "./components/layout.tsx";
import { CodePanel, Paragraph, Title, formatDuration } from "./components/parts.tsx";

export type DownloadCodeProps = {
  orgName: string;
  /** Six digits. */
  code: string;
  /** "PR-7K3M-Q9XD" */
  reference: string;
  expiresInMinutes: number;
};

export default function DownloadCode({ orgName, code, reference, expiresInMinutes }: DownloadCodeProps) {
  const minutes = formatDuration(expiresInMinutes);
  return (
    <Layout orgName={orgName} preview={`Your code to download your data (request ${reference}). It expires in ${minutes}.`}>
      <Title>Your code to download your data</Title>
      <Paragraph>
        You asked to download the copy of your data we prepared for request <strong>{reference}</strong>. Enter this code on
        the status page where you asked for it.
      </Paragraph>
      <CodePanel code={code} intro="Download of your data — your code is" />
      <Paragraph>
        The code works once and expires in {minutes}. The download stays open for a short while after you enter it; after
        that, ask for a new code on the status page.
      </Paragraph>
      <Paragraph>
        If you did not ask for this, ignore this email: nobody can download your data without this code. Never share it;{" "}
        {orgName} will never ask you for it by phone or email.
      </Paragraph>
    </Layout>
  );
}

DownloadCode.PreviewProps = {
  orgName: "Demo Shop",
  code: "123456",
  reference: "PR-7K3M-Q9XD",
  expiresInMinutes: 15,
} satisfies DownloadCodeProps;
