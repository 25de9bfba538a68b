/**
 * The frame every portal email shares: document, inbox preview line, organisation name, content, footer.
 * Plain and accessible on purpose: one column, system fonts, 16px text, high contrast, real headings and links,
 * no images (many clients block them, and a privacy email should not track opens).
 *
 * Named export only: a default export here would make the react-email preview list this file as an email.
 */
import { Body, Button, Container, Head, Hr, Html, Preview, Section, Text } from "@react-email/components";
import type { CSSProperties, ReactNode } from "react";

export const colors = {
  text: "#1a1a1a",
  muted: "#4a4a4a",
  border: "#d0d0d0",
  accent: "#0b4f9c",
  panel: "#f3f5f8",
} as const;

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

export const paragraph: CSSProperties = { fontSize: "16px", lineHeight: "24px", margin: "0 0 16px" };

export const heading: CSSProperties = { fontSize: "24px", lineHeight: "32px", fontWeight: 700, margin: "8px 0 16px" };

export const subheading: CSSProperties = { fontSize: "18px", lineHeight: "26px", fontWeight: 700, margin: "24px 0 8px" };

const orgLine: CSSProperties = { fontSize: "14px", lineHeight: "20px", fontWeight: 700, color: colors.muted, margin: "0 0 8px" };

const footer: CSSProperties = { fontSize: "13px", lineHeight: "20px", color: colors.muted, margin: "0 0 8px" };

const button: CSSProperties = {
  backgroundColor: colors.accent,
  borderRadius: "6px",
  color: "#ffffff",
  display: "inline-block",
  fontSize: "16px",
  fontWeight: 700,
  lineHeight: "24px",
  padding: "12px 20px",
  textDecoration: "none",
};

export type LayoutProps = {
  orgName: string;
  /** The line most inboxes show after the subject; keep it short and free of secrets. */
  preview: string;
  children: ReactNode;
};

type FrameProps = { preview: string; first: ReactNode; footer: ReactNode; width?: number; children: ReactNode };

/** The document around every email: preview line, a first line naming the sender, the content, a footer. */
function Frame({ preview, first, footer, width = 560, children }: FrameProps) {
  return (
    <Html lang="en" dir="ltr">
      <Head>
        <meta name="color-scheme" content="light" />
        <meta name="supported-color-schemes" content="light" />
      </Head>
      <Preview>{preview}</Preview>
      <Body style={body}>
        <Container style={{ ...container, maxWidth: `${width}px` }}>
          {first}
          {children}
          <Hr style={{ borderColor: colors.border, margin: "32px 0 16px" }} />
          {footer}
        </Container>
      </Body>
    </Html>
  );
}

/** Emails to requesters (and their agents). */
export function Layout({ orgName, preview, children }: LayoutProps) {
  const notice = (
    <>
      <Text style={footer}>
        {orgName} sent you this email because a privacy request was made with this email address through our privacy
        request portal.
      </Text>
      <Text style={footer}>Please do not reply: this mailbox is not monitored.</Text>
    </>
  );
  return (
    <Frame preview={preview} first={<Text style={orgLine}>{orgName}</Text>} footer={notice}>
      {children}
    </Frame>
  );
}

/** Emails to the privacy team (digests, invitations, notices); `footer` says why they get it. */
export function StaffLayout({ orgName, preview, footer: why, width, children }: LayoutProps & { footer: string; width?: number }) {
  const first = <Text style={{ ...footer, fontWeight: 700 }}>{orgName} — privacy requests</Text>;
  return (
    <Frame preview={preview} first={first} footer={<Text style={footer}>{why}</Text>} width={width}>
      {children}
    </Frame>
  );
}

/** A call to action: a styled link that works in every client, followed by the bare URL for those who cannot click. */
export function ActionButton({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Section style={{ margin: "8px 0 24px" }}>
      <Button href={href} style={button}>
        {children}
      </Button>
      <Text style={{ ...footer, margin: "12px 0 0", wordBreak: "break-all" }} data-skip-in-text="true">
        If the button does not work, copy this address into your browser: {href}
      </Text>
    </Section>
  );
}
