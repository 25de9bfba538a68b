/**
 * Small pieces the requester's emails share, so each template says only what is particular to it.
 *
 * Named exports only: a default export here would make the react-email preview list this file as an email.
 */
import { Heading, Section, Text } from "@react-email/components";
import type { CSSProperties, ReactNode } from "react";
import { ActionButton, colors, heading, paragraph, subheading } from "./layout.tsx";

/** The email's one h1. */
export function Title({ children }: { children: ReactNode }) {
  return (
    <Heading as="h1" style={heading}>
      {children}
    </Heading>
  );
}

/** A section heading (h2). */
export function Subtitle({ children }: { children: ReactNode }) {
  return (
    <Heading as="h2" style={subheading}>
      {children}
    </Heading>
  );
}

export function Paragraph({ children, style }: { children: ReactNode; style?: CSSProperties }) {
  return <Text style={style ? { ...paragraph, ...style } : paragraph}>{children}</Text>;
}

/** A light box that sets something apart: the code, the request's key facts. */
export function Panel({ children, style }: { children: ReactNode; style?: CSSProperties }) {
  return (
    <Section
      style={{
        backgroundColor: colors.panel,
        border: `1px solid ${colors.border}`,
        borderRadius: "6px",
        margin: "0 0 16px",
        padding: "16px",
        ...style,
      }}
    >
      {children}
    </Section>
  );
}

/** One labelled value per line ("Your reference: PR-7K3M-Q9XD"), in a panel. Rows without a value are left out. */
export function Facts({ rows }: { rows: readonly (readonly [label: string, value: string | undefined])[] }) {
  const shown = rows.filter((row): row is readonly [string, string] => Boolean(row[1]));
  return (
    <Panel>
      {shown.map(([label, value], i) => (
        <Text key={label} style={{ ...paragraph, margin: i === shown.length - 1 ? 0 : "0 0 4px" }}>
          {label}: <strong>{value}</strong>
        </Text>
      ))}
    </Panel>
  );
}

/** The link to the requester's private status page, with a line saying what it is. */
export function StatusLink({ href, intro, label }: { href: string; intro?: string; label?: string }) {
  return (
    <>
      <Paragraph>{intro ?? "You can check where your request stands at any time on your private status page:"}</Paragraph>
      <ActionButton href={href}>{label ?? "Check the status of my request"}</ActionButton>
    </>
  );
}

/** The closing line every request email ends its content with. */
export function QuoteReference({ reference }: { reference: string }) {
  return <Paragraph>Please quote {reference} if you contact us about this request.</Paragraph>;
}

/**
 * Text someone typed (a staff message, a reason), shown as text — never interpreted as HTML — set apart by a rule on
 * the left. Blank lines start a new paragraph; single line breaks are kept.
 */
export function QuotedText({ text }: { text: string }) {
  const paragraphs = text
    .replace(/\r\n?/g, "\n")
    .split(/\n[ \t]*\n+/)
    .map((p) => p.trim())
    .filter(Boolean);
  return (
    <Section style={{ borderLeft: `4px solid ${colors.border}`, margin: "0 0 16px", padding: "0 0 0 16px" }}>
      {paragraphs.map((p, i) => (
        <Text key={i} style={{ ...paragraph, margin: i === paragraphs.length - 1 ? 0 : paragraph.margin }}>
          {p.split("\n").map((line, j) => (
            <span key={j}>
              {j > 0 ? <br /> : null}
              {line}
            </span>
          ))}
        </Text>
      ))}
    </Section>
  );
}

/** 15 → "15 minutes", 1 → "1 minute", 120 → "2 hours", 2880 → "2 days". */
export function formatDuration(minutes: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (minutes >= 1440 && minutes % 1440 === 0) return plural(minutes / 1440, "day");
  if (minutes >= 60 && minutes % 60 === 0) return plural(minutes / 60, "hour");
  return plural(minutes, "minute");
}

/** "123456" → "123 456"; anything else is shown as given. */
export function formatCode(code: string): string {
  return /^\d{6}$/.test(code) ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

/** A one-time code, large and spaced for reading and typing, after a line that says what it is. */
export function CodePanel({ code, intro }: { code: string; intro: string }) {
  return (
    <Panel style={{ textAlign: "center" }}>
      <Text style={{ ...paragraph, margin: "0 0 4px" }}>{intro}</Text>
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
        {formatCode(code)}
      </Text>
    </Panel>
  );
}
