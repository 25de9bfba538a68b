/**
 * The emails a requester receives while staff work on the request: more information, extension, denial, completion,
 * authorized-agent confirmation. Each renders HTML and text with its key props, keeps personal data out of the
 * subject and the inbox preview line, shows typed text as text, and cannot be rendered without its required text.
 */
import { describe, expect, it } from "vitest";
import type { AgentConfirmationProps } from "#app/emails/agent-confirmation.tsx";
import type { CompletionProps } from "#app/emails/completion.tsx";
import { formatDuration } from "#app/emails/components/parts.tsx";
import { BlankTextError, isRequiredText, requiredText, type RequiredText } from "#app/emails/components/required-text.ts";
import type { DenialProps } from "#app/emails/denial.tsx";
import type { ExtensionNoticeProps } from "#app/emails/extension-notice.tsx";
import type { MoreInformationProps } from "#app/emails/more-information.tsx";
import {
  EmailContentError,
  MailerError,
  renderEmail,
  requiredTexts,
  type RenderedEmail,
  type TemplateName,
  type TemplateProps,
} from "#app/utils/mailer.server.ts";

/** Any HTML-looking tag: `<p>`, `</td>`, `<!DOCTYPE …>`, `<br/>`. */
const HTML_TAG = /<\/?[a-z!][^>]*>/i;
const EMAIL_RE = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/;

const orgName = "Acme Outdoor Gear";
const reference = "PR-7K3M-Q9XD";
const statusUrl = "https://privacy.acme.example/status/st_Y2b8Lq";

const moreInformation: MoreInformationProps = {
  orgName,
  reference,
  requestTypeLabel: "Access my data",
  message: requiredText("We could not find an account for jane.doe@mail.example.\nWhat postcode was your last order sent to?"),
  respondUrl: statusUrl,
  dueDate: "14 March 2026",
};

const extension: ExtensionNoticeProps = {
  orgName,
  reference,
  requestTypeLabel: "Export my data",
  originalDueDate: "14 March 2026",
  newDueDate: "14 May 2026",
  reason: requiredText("Your orders are spread over three older systems that we must search by hand."),
  statusUrl,
};

const denialGdpr: DenialProps = {
  orgName,
  reference,
  requestTypeLabel: "Delete my data",
  reason: requiredText("You have an order on its way to you; we need your address to deliver it."),
  regimeLabel: "UK GDPR",
  complaintInfo: {
    kind: "authority",
    authorityName: "the Information Commissioner's Office (ICO)",
    authorityUrl: "https://ico.org.uk/make-a-complaint/",
  },
  statusUrl,
};

const denialUsState: DenialProps = {
  ...denialGdpr,
  regimeLabel: "US state privacy law",
  complaintInfo: {
    kind: "appeal",
    instructions: "Open your status page within 45 days and tell us why you disagree.",
    appealUrl: "https://privacy.acme.example/status/st_Y2b8Lq/appeal",
    regulator: { name: "the Virginia Attorney General", url: "https://www.oag.state.va.us/consumer-protection/" },
  },
};

const completionAccess: CompletionProps = {
  orgName,
  reference,
  requestTypeLabel: "Access my data",
  kind: "access",
  statusUrl,
  downloadExpiresOn: "28 March 2026",
};

const completionDeletion: CompletionProps = {
  orgName,
  reference,
  requestTypeLabel: "Delete my data",
  kind: "deletion",
  statusUrl,
  erasureSummary: [
    { store: "Online shop", deleted: 12, masked: 3, kept: 0, keptReasons: [] },
    { store: "Accounting", deleted: 0, masked: 1, kept: 1, keptReasons: ["Invoices must be kept for 6 years under tax law."] },
  ],
};

const agent: AgentConfirmationProps = {
  orgName,
  reference,
  requestTypeLabel: "Delete my data",
  agentName: "Jordan Rivera of Privacy Helpers LLC",
  confirmUrl: "https://privacy.acme.example/agent/confirm/ag_5Tq9",
  expiresInMinutes: 4320,
};

/** The inbox preview line (react-email's hidden <div data-skip-in-text> right after <body>). */
function previewLine(html: string): string {
  return /<div[^>]*data-skip-in-text="true"[^>]*>([^<]*)/.exec(html)?.[1] ?? "";
}

/** Every string in `props` except the reference, the organisation and short labels: none may reach the subject. */
function personalValues(props: object): string[] {
  const skip = new Set([reference, orgName]);
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") {
      if (!skip.has(v)) out.push(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(props);
  return out;
}

type Case = { [N in TemplateName]: { name: N; props: TemplateProps<N>; subject: string; html: string[]; text: string[] } }[TemplateName];

const cases: Case[] = [
  {
    name: "more-information",
    props: moreInformation,
    subject: `More information needed for your request ${reference}`,
    html: [reference, "Access my data", "14 March 2026", `href="${statusUrl}"`, "What postcode was your last order sent to?"],
    text: [reference, "Access my data", "14 March 2026", statusUrl, "What postcode was your last order sent to?", "not by replying"],
  },
  {
    name: "extension-notice",
    props: extension,
    subject: `We need more time for your request ${reference}`,
    html: [reference, "Export my data", "14 March 2026", "14 May 2026", `href="${statusUrl}"`, "three older systems"],
    text: [reference, "Export my data", "14 March 2026", "14 May 2026", statusUrl, "three older systems", "WE NEED MORE TIME"],
  },
  {
    name: "denial",
    props: denialGdpr,
    subject: `Our decision on your request ${reference}`,
    html: [reference, "Delete my data", "UK GDPR", "an order on its way", 'href="https://ico.org.uk/make-a-complaint/"', `href="${statusUrl}"`],
    text: [reference, "Delete my data", "UK GDPR", "an order on its way", "Information Commissioner", "https://ico.org.uk/make-a-complaint/", statusUrl],
  },
  {
    name: "completion",
    props: completionAccess,
    subject: `Your request ${reference} is complete`,
    html: [reference, "Access my data", "28 March 2026", `href="${statusUrl}"`],
    text: [reference, "Access my data", "28 March 2026", statusUrl, "Download my data"],
  },
  {
    name: "agent-confirmation",
    props: agent,
    subject: `Please confirm someone may act for you on request ${reference}`,
    html: [reference, "Delete my data", agent.agentName, `href="${agent.confirmUrl}"`, "3 days"],
    text: [reference, "Delete my data", agent.agentName, agent.confirmUrl, "3 days", "did not give anyone permission"],
  },
];

const render = (c: Case): Promise<RenderedEmail> => renderEmail(c.name, c.props as never);

describe.each(cases)("$name email", (c) => {
  it("renders its key props and the organisation in HTML", async () => {
    const { html } = await render(c);
    expect(html).toMatch(/<html[^>]*lang="en"/);
    expect(html).toContain(orgName);
    for (const value of c.html) expect(html).toContain(value);
  });

  it("renders a plain-text part with the same content and no HTML", async () => {
    const { text } = await render(c);
    expect(text).not.toMatch(HTML_TAG);
    expect(text).toContain(orgName);
    expect(text).toContain(`Please quote ${reference}`);
    for (const value of c.text) expect(text).toContain(value);
  });

  it("has a fixed subject with the reference and no personal data; the preview line has none either", async () => {
    const { subject, html } = await render(c);
    expect(subject).toBe(c.subject);
    expect(subject).not.toMatch(EMAIL_RE);
    expect(subject).not.toMatch(/https?:/);
    expect(previewLine(html)).toContain(reference);
    for (const value of personalValues(c.props).filter((v) => v.length > 12)) {
      expect(subject).not.toContain(value);
      expect(previewLine(html)).not.toContain(value);
    }
  });
});

describe("text typed by staff", () => {
  const hostile = requiredText('<script>alert("x")</script><b>bold</b> & <a href="https://evil.example">click</a>');

  it.each([
    ["more-information", { ...moreInformation, message: hostile }],
    ["extension-notice", { ...extension, reason: hostile }],
    ["denial", { ...denialGdpr, reason: hostile }],
    ["denial", { ...denialUsState, complaintInfo: { kind: "appeal" as const, instructions: hostile } }],
  ] as const)("is escaped in the %s HTML and shown as typed in the text", async (name, props) => {
    const { html, text } = await renderEmail(name, props as never);
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<b>bold");
    expect(html).not.toContain('href="https://evil.example"');
    expect(html).toContain("&lt;script&gt;");
    expect(text).toContain(hostile);
  });

  it("keeps paragraphs and line breaks", async () => {
    const message = requiredText("First line\nsecond line\r\n\r\nNew paragraph\n\n\n");
    const { html, text } = await renderEmail("more-information", { ...moreInformation, message });
    expect(html).toMatch(/First line<\/span><span><br\/>second line/);
    expect(text).toContain("First line\nsecond line\n\nNew paragraph");
  });
});

describe("required text", () => {
  const blanks = ["", " ", "   \n\t  ", "\r\n"];

  it.each([
    ["denial", denialGdpr, "reason"],
    ["extension-notice", extension, "reason"],
    ["more-information", moreInformation, "message"],
  ] as const)("refuses to render %s with a blank, missing or non-string %s", async (name, props, field) => {
    for (const blank of [...blanks, undefined, null, 42]) {
      const error = await renderEmail(name, { ...props, [field]: blank as unknown as RequiredText } as never).then(
        () => expect.unreachable(`a ${JSON.stringify(blank)} ${field} should be refused`),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EmailContentError);
      expect(error).toBeInstanceOf(MailerError);
      const e = error as EmailContentError;
      expect(e.name).toBe("EmailContentError");
      expect(e.template).toBe(name);
      expect(e.field).toBe(field);
      expect(e.code).toBe("EBLANKTEXT");
      expect(e.permanent).toBe(true);
      expect(e.message).toContain(name);
    }
  });

  it("lists exactly the required-text fields of each template", () => {
    expect(requiredTexts).toEqual({
      "verification-code": {},
      acknowledgement: {},
      "more-information": { message: true },
      "extension-notice": { reason: true },
      denial: { reason: true },
      completion: {},
      "agent-confirmation": {},
      "deadline-digest": {},
      "request-expired": {},
      "staff-invitation": {},
      "answer-received": {},
      "download-code": {},
    });
  });

  it("requiredText() passes real text through unchanged and throws BlankTextError for blank text", () => {
    expect(requiredText("  Because.  ")).toBe("  Because.  ");
    for (const blank of blanks) {
      expect(() => requiredText(blank, "reason")).toThrow(BlankTextError);
      expect(() => requiredText(blank, "reason")).toThrow("The reason must not be blank");
      expect(isRequiredText(blank)).toBe(false);
    }
    expect(isRequiredText(undefined)).toBe(false);
    expect(isRequiredText("x")).toBe(true);
  });

  it("is enforced by the types: a plain string, an empty string or no reason does not compile", () => {
    const plain: string = "Because.";
    // These objects are only type-checked (`npx tsc --noEmit` fails if any @ts-expect-error is not needed).
    const typeChecks = [
      // @ts-expect-error a plain string is not RequiredText: it must go through requiredText()
      { ...denialGdpr, reason: plain } satisfies DenialProps,
      // @ts-expect-error an empty literal is not RequiredText either
      { ...extension, reason: "" } satisfies ExtensionNoticeProps,
      // @ts-expect-error staff message too
      { ...moreInformation, message: plain } satisfies MoreInformationProps,
    ];
    // @ts-expect-error the reason is required
    const missing: DenialProps = { ...denialGdpr, reason: undefined };
    expect(typeChecks).toHaveLength(3);
    expect(missing.reason).toBeUndefined();
  });
});

describe("denial", () => {
  it("points GDPR and UK GDPR requesters to the supervisory authority and the courts", async () => {
    const { html, text } = await renderEmail("denial", denialGdpr);
    expect(html).toContain("the Information Commissioner&#x27;s Office (ICO)");
    expect(text).toMatch(/right to complain to the authority/);
    expect(text).toMatch(/ask a court/);
    expect(text).not.toMatch(/appeal/i);
  });

  it("tells US state requesters how to appeal, where, and whom to contact if the appeal fails", async () => {
    const { html, text } = await renderEmail("denial", denialUsState);
    expect(text).toMatch(/right to appeal/);
    expect(text).toContain("within 45 days");
    expect(html).toContain('href="https://privacy.acme.example/status/st_Y2b8Lq/appeal"');
    expect(text).toContain("Appeal our decision https://privacy.acme.example/status/st_Y2b8Lq/appeal");
    expect(text).toContain("If we turn down your appeal, you can complain to the Virginia Attorney General");
    expect(html).toContain('href="https://www.oag.state.va.us/consumer-protection/"');
    expect(text).not.toMatch(/supervisory|Commissioner/);
  });

  it("leaves out the appeal button and the regulator when they are not given", async () => {
    const { text } = await renderEmail("denial", {
      ...denialUsState,
      complaintInfo: { kind: "appeal", instructions: "Reply on your status page." },
    });
    expect(text).toContain("Reply on your status page.");
    expect(text).not.toContain("Appeal our decision");
    expect(text).not.toContain("turn down your appeal");
  });
});

describe("completion", () => {
  it("access: the package is on the status page until the expiry date", async () => {
    const { text } = await renderEmail("completion", completionAccess);
    expect(text).toContain("download it from your private status page");
    expect(text).toContain("available until 28 March 2026");
    expect(text).not.toMatch(/deleted/i);
  });

  it("access without an expiry date leaves the date sentence out", async () => {
    const { downloadExpiresOn: _omitted, ...props } = completionAccess;
    const { text } = await renderEmail("completion", props);
    expect(text).not.toContain("available until");
    expect(text).toContain(`Download my data ${statusUrl}`);
  });

  it("deletion: per-store counts and the reasons anything was kept", async () => {
    const { html, text } = await renderEmail("completion", completionDeletion);
    expect(text).toContain("Online shop: 12 records deleted, 3 records masked, 0 records kept.");
    expect(text).toContain("Accounting: 0 records deleted, 1 record masked, 1 record kept.");
    expect(text).toContain("Why we kept it:");
    expect(text).toContain("* Invoices must be kept for 6 years under tax law.");
    expect(html).toContain("<li>Invoices must be kept for 6 years under tax law.</li>");
    expect(text).toContain(statusUrl);
    expect(text).not.toContain("Download my data");
  });

  it("deletion with nothing found says so", async () => {
    const { text } = await renderEmail("completion", { ...completionDeletion, erasureSummary: [] });
    expect(text).toContain("nothing to delete");
    expect(text).not.toContain("records deleted");
  });

  it("other requests: done, with the status link", async () => {
    const { text } = await renderEmail("completion", { ...completionAccess, kind: "other", requestTypeLabel: "Correct my data" });
    expect(text).toContain("We have done what you asked.");
    expect(text).toContain("Correct my data");
    expect(text).toContain(statusUrl);
    expect(text).not.toContain("Download my data");
  });
});

describe("agent confirmation", () => {
  it("names the agent in the body only, and says nothing happens without confirmation", async () => {
    const { html, text, subject } = await renderEmail("agent-confirmation", agent);
    expect(text).toContain(`${agent.agentName} made a privacy request to ${orgName} on your behalf`);
    expect(text).toContain(`Yes, I gave permission ${agent.confirmUrl}`);
    expect(text).toContain("will not act on this request unless you confirm it");
    expect(subject).not.toContain("Jordan");
    expect(previewLine(html)).not.toContain("Jordan");
  });
});

describe("formatDuration", () => {
  it("picks the largest whole unit", () => {
    expect(formatDuration(1)).toBe("1 minute");
    expect(formatDuration(15)).toBe("15 minutes");
    expect(formatDuration(60)).toBe("1 hour");
    expect(formatDuration(90)).toBe("90 minutes");
    expect(formatDuration(1440)).toBe("1 day");
    expect(formatDuration(2880)).toBe("2 days");
    expect(formatDuration(1500)).toBe("25 hours");
  });
});
