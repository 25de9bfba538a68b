import { describe, expect, it } from "vitest";
import Acknowledgement from "#app/emails/acknowledgement.tsx";
import VerificationCode, { formatCode } from "#app/emails/verification-code.tsx";
import { renderEmail, subjects, templates, type TemplateName } from "#app/utils/mailer.server.ts";

/** Any HTML-looking tag: `<p>`, `</td>`, `<!DOCTYPE …>`, `<br/>`. */
const HTML_TAG = /<\/?[a-z!][^>]*>/i;

const verification = {
  orgName: "Acme Outdoor Gear",
  code: "482913",
  verifyUrl: "https://privacy.acme.example/verify/tok_3Zr9kQ",
  expiresInMinutes: 15,
  requestTypeLabel: "Delete my data",
};

const acknowledgement = {
  orgName: "Acme Outdoor Gear",
  reference: "PR-7K3M-Q9XD",
  requestTypeLabel: "Access to my data",
  regimeLabel: "CCPA/CPRA (California)",
  dueDate: "14 March 2026",
  statusUrl: "https://privacy.acme.example/status/st_Y2b8",
  nextSteps: "We will gather a copy of the personal data we hold about you from each of our systems.",
};

describe("verification-code email", () => {
  it("renders the code, the verify link, the expiry and the organisation in HTML", async () => {
    const { html, subject } = await renderEmail("verification-code", verification);
    expect(html).toContain("482 913");
    expect(html).toContain(`href="${verification.verifyUrl}"`);
    expect(html).toContain("15 minutes");
    expect(html).toContain("Acme Outdoor Gear");
    expect(html).toContain("Delete my data");
    expect(html).toMatch(/<html[^>]*lang="en"/);
    expect(subject).toBe("Your verification code");
  });

  it("renders a plain-text part with the same content and no HTML", async () => {
    const { text } = await renderEmail("verification-code", verification);
    expect(text).not.toMatch(HTML_TAG);
    expect(text).toContain("482 913");
    expect(text).toContain(verification.verifyUrl);
    expect(text).toContain("15 minutes");
    expect(text).toContain("Acme Outdoor Gear");
    expect(text).toMatch(/did not ask for this/i);
  });

  it("keeps the code out of the subject and the inbox preview line", async () => {
    const { html, subject } = await renderEmail("verification-code", verification);
    expect(subject).not.toMatch(/482\s?913/);
    const preview = /<div[^>]*data-skip-in-text="true"[^>]*>([^<]*)/.exec(html)?.[1] ?? "";
    expect(preview).toContain("Acme Outdoor Gear");
    expect(preview).not.toMatch(/482\s?913/);
  });

  it("says 1 minute, not 1 minutes", async () => {
    const { text } = await renderEmail("verification-code", { ...verification, expiresInMinutes: 1 });
    expect(text).toContain("expire in 1 minute.");
  });

  it("groups six digits and leaves anything else alone", () => {
    expect(formatCode("123456")).toBe("123 456");
    expect(formatCode("12345")).toBe("12345");
  });
});

describe("acknowledgement email", () => {
  it("renders reference, due date, request type, law, status link and organisation in HTML", async () => {
    const { html, subject } = await renderEmail("acknowledgement", acknowledgement);
    expect(html).toContain("PR-7K3M-Q9XD");
    expect(html).toContain("14 March 2026");
    expect(html).toContain("Access to my data");
    expect(html).toContain("CCPA/CPRA (California)");
    expect(html).toContain(`href="${acknowledgement.statusUrl}"`);
    expect(html).toContain("Acme Outdoor Gear");
    expect(subject).toBe("We received your request PR-7K3M-Q9XD");
  });

  it("renders a plain-text part with the same content and no HTML", async () => {
    const { text } = await renderEmail("acknowledgement", acknowledgement);
    expect(text).not.toMatch(HTML_TAG);
    for (const value of ["PR-7K3M-Q9XD", "14 March 2026", "Access to my data", "Acme Outdoor Gear", acknowledgement.statusUrl]) {
      expect(text).toContain(value);
    }
    expect(text).toMatch(/what happens next/i);
    expect(text).toContain(`1. ${acknowledgement.nextSteps}`);
  });

  it("escapes props instead of injecting markup", async () => {
    const { html } = await renderEmail("acknowledgement", { ...acknowledgement, orgName: "<script>alert(1)</script>" });
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;");
  });
});

describe("template registry", () => {
  it("registers every template with a subject and preview props", async () => {
    expect(Object.keys(templates).sort()).toEqual(Object.keys(subjects).sort());
    expect(templates["verification-code"]).toBe(VerificationCode);
    expect(templates.acknowledgement).toBe(Acknowledgement);
    expect(Object.keys(templates).sort()).toEqual([
      "acknowledgement",
      "agent-confirmation",
      "answer-received",
      "completion",
      "deadline-digest",
      "denial",
      "download-code",
      "extension-notice",
      "more-information",
      "request-expired",
      "staff-invitation",
      "verification-code",
    ]);
    for (const [name, Component] of Object.entries(templates)) {
      expect(Component.PreviewProps, name).toBeDefined();
      expect(Component.PreviewProps.orgName, name).toBeTruthy();
      // The preview props render as they are (what `npm run email:dev` shows).
      const rendered = await renderEmail(name as TemplateName, Component.PreviewProps as never);
      expect(rendered.html, name).toContain(Component.PreviewProps.orgName);
      expect(rendered.text, name).not.toMatch(HTML_TAG);
    }
    const rendered = await renderEmail("verification-code", VerificationCode.PreviewProps);
    expect(rendered.text).toContain("123 456");
  });
});
