/**
 * The staff's deadline digest (job `deadline-reminders`): what is overdue, due very soon, due soon, whose extension
 * window is closing and whose acknowledgement is at risk — one line per request with its reference (linked to the
 * staff console), type, law, status, date and days left. Never who the subject is: staff open the request to see.
 */
import { Link, Section, Text } from "@react-email/components";
import type { CSSProperties } from "react";
import { ActionButton, colors, paragraph, StaffLayout } from "./components/layout.tsx";
import { Paragraph, Subtitle, Title } from "./components/parts.tsx";

export type DigestItem = {
  /** "PR-7K3M-Q9XD" */
  reference: string;
  /** "Access my data" */
  requestType: string;
  /** "GDPR" */
  regime: string;
  /** "in review" */
  status: string;
  /** The date the section is about (due date, extension-notice date, acknowledgement date), e.g. "5 April 2026". */
  dueDate: string;
  /** Calendar days from today (in the organisation's zone) to that date; negative when past. */
  daysLeft: number;
  /** The request in the staff console. */
  url: string;
};

/** Up to DIGEST_SECTION_LIMIT items, most urgent first, and how many more there are. */
export type DigestSection = { items: DigestItem[]; more: number };

export type DeadlineDigestProps = {
  orgName: string;
  /** The organisation's calendar day the digest is for, e.g. "25 November 2026". */
  dayLabel: string;
  /** The staff console's request list. */
  consoleUrl: string;
  sections: {
    overdue: DigestSection;
    due_very_soon: DigestSection;
    due_soon: DigestSection;
    extension_window: DigestSection;
    acknowledgement_due: DigestSection;
  };
  thresholds: { dueSoonDays: number; dueVerySoonDays: number; extensionWarningDays: number; acknowledgementWarningBusinessDays: number };
};

const small: CSSProperties = { fontSize: "13px", lineHeight: "20px", color: colors.muted, margin: "0 0 8px" };
const line: CSSProperties = { ...paragraph, margin: "0 0 8px" };

/** Reminders across the sections (a request may be in two, e.g. due very soon and extension window closing). */
export function digestCount(sections: DeadlineDigestProps["sections"]) {
  return Object.values(sections).reduce((n, s) => n + s.items.length + s.more, 0);
}

export function reminders(n: number) {
  return `${n} ${n === 1 ? "reminder" : "reminders"}`;
}

function days(n: number) {
  const abs = Math.abs(n);
  const unit = abs === 1 ? "day" : "days";
  if (n < 0) return `${abs} ${unit} overdue`;
  if (n === 0) return "today";
  return `${abs} ${unit} left`;
}

function Items({ section, what }: { section: DigestSection; what: string }) {
  return (
    <Section style={{ margin: "0 0 16px" }}>
      {section.items.map((item) => (
        <Text key={item.reference} style={line}>
          <Link href={item.url} style={{ color: colors.accent, fontWeight: 700 }}>
            {item.reference}
          </Link>{" "}
          — {item.requestType} ({item.regime}), {item.status}. {what} {item.dueDate} ({days(item.daysLeft)}).
        </Text>
      ))}
      {section.more > 0 ? <Text style={line}>… and {section.more} more (see the staff console).</Text> : null}
    </Section>
  );
}

export default function DeadlineDigest({ orgName, dayLabel, consoleUrl, sections, thresholds }: DeadlineDigestProps) {
  const total = digestCount(sections);
  const parts: { key: keyof DeadlineDigestProps["sections"]; title: string; intro: string; what: string }[] = [
    { key: "overdue", title: "Overdue", intro: "The deadline has passed. Answer or record the outcome now.", what: "Due" },
    {
      key: "due_very_soon",
      title: `Due within ${thresholds.dueVerySoonDays} days`,
      intro: "Answer, or extend where the law allows it and the extension notice has not been sent.",
      what: "Due",
    },
    { key: "due_soon", title: `Due within ${thresholds.dueSoonDays} days`, intro: "Plan the answer.", what: "Due" },
    {
      key: "extension_window",
      title: `Extension window closing within ${thresholds.extensionWarningDays} days`,
      intro: "If more time is needed, the requester must be told, with reasons, by this date. Afterwards no extension is possible.",
      what: "Notify by",
    },
    {
      key: "acknowledgement_due",
      title: `Acknowledgement at risk (within ${thresholds.acknowledgementWarningBusinessDays} business days)`,
      intro:
        "Receipt must be confirmed by this date, and the portal could not send the acknowledgement (the request still waits for verification, or the email did not go out). Confirm receipt another way or resolve the block.",
      what: "Acknowledge by",
    },
  ];
  return (
    <StaffLayout
      orgName={orgName}
      preview={`${reminders(total)} on ${dayLabel}.`}
      width={640}
      footer="You receive this digest as a member of the privacy team: for the requests assigned to you, and for unassigned requests as an administrator or processor. Dates are in the organisation's time zone."
    >
      <Title>Deadline digest for {dayLabel}</Title>
      <Paragraph>
        {reminders(total)} for requests that need attention. Each request is listed at most once a day for each reason.
      </Paragraph>
      {parts
        .filter((p) => sections[p.key].items.length + sections[p.key].more > 0)
        .map((p) => (
          <Section key={p.key}>
            <Subtitle>
              {p.title} ({sections[p.key].items.length + sections[p.key].more})
            </Subtitle>
            <Text style={small}>{p.intro}</Text>
            <Items section={sections[p.key]} what={p.what} />
          </Section>
        ))}
      <ActionButton href={consoleUrl}>Open the request queue</ActionButton>
    </StaffLayout>
  );
}

const item = (reference: string, daysLeft: number, dueDate: string): DigestItem => ({
  reference,
  requestType: "Access my data",
  regime: "GDPR",
  status: "in review",
  dueDate,
  daysLeft,
  url: `http://localhost:3000/admin/requests/${reference}`,
});

DeadlineDigest.PreviewProps = {
  orgName: "Demo Shop",
  dayLabel: "25 November 2026",
  consoleUrl: "http://localhost:3000/admin",
  sections: {
    overdue: { items: [item("PR-7K3M-Q9XD", -2, "23 November 2026")], more: 0 },
    due_very_soon: { items: [item("PR-A2B3-C4D5", 1, "26 November 2026")], more: 0 },
    due_soon: { items: [item("PR-E6F7-G8H9", 6, "1 December 2026")], more: 3 },
    extension_window: { items: [item("PR-A2B3-C4D5", 1, "26 November 2026")], more: 0 },
    acknowledgement_due: { items: [{ ...item("PR-J2K3-L4M5", 2, "27 November 2026"), regime: "CCPA / CPRA", status: "pending verification" }], more: 0 },
  },
  thresholds: { dueSoonDays: 7, dueVerySoonDays: 2, extensionWarningDays: 3, acknowledgementWarningBusinessDays: 2 },
} satisfies DeadlineDigestProps;
