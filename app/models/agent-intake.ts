/**
 * The authorized-agent form (CCPA regulations §7063): who the agent is, which consumer they act for, what is asked,
 * and the consumer's signed permission as a file. Browser-safe: the same schema gives instant feedback in the browser
 * and is the check that counts on the server. What the file really is (PDF, PNG or JPEG) is decided on the server
 * from its first bytes (app/models/documents.server.ts); the browser only checks that one is attached and its size.
 */
import { z } from "zod";
import type { RequestType } from "#db/schema/requests.ts";
import { emailField, textField } from "./intake-fields.ts";
import { regions, type Region } from "./regions.ts";
import { requestTypeInfo } from "./request-types.ts";

/** The form's path; the web server accepts a larger body here than anywhere else (server/app.ts). */
export const AGENT_FORM_PATH = "/request/agent";
/** Largest permission file accepted (5 MiB). */
export const MAX_PERMISSION_BYTES = 5 * 1024 * 1024;
/** Body limit of the agent form: the file plus the other fields and the multipart framing. */
export const AGENT_FORM_BODY_LIMIT_BYTES = 6 * 1024 * 1024;

/** What an agent may ask for, in the agent's words (the consumer's own labels say "my"). */
export const agentRequestTypes = {
  access: "Access the consumer's personal information",
  deletion: "Delete the consumer's personal information",
  correction: "Correct the consumer's personal information",
  opt_out: "Opt the consumer out of the sale or sharing of their personal information",
  limit_sensitive: "Limit the use of the consumer's sensitive personal information",
} as const satisfies Partial<Record<RequestType, string>>;
export type AgentRequestType = keyof typeof agentRequestTypes;
const agentTypeValues = Object.keys(agentRequestTypes) as [AgentRequestType, ...AgentRequestType[]];

/** Authorized agents exist under CCPA and the US state laws; the form offers those regions only. */
export const agentRegions: readonly Region[] = regions.filter((r) => r.regime === "ccpa" || r.regime === "us_state");
const agentRegionCodes = agentRegions.map((r) => r.code) as [string, ...string[]];

export const fileTypeMessage = "The file must be a PDF, PNG or JPEG. We check the file itself, not its name.";
export const fileTooLargeMessage = "The file is larger than 5 MB. Please attach a smaller scan or PDF.";

/**
 * A name the consumer will read in our email: no markup, and nothing an email client would turn into a link or a
 * reply address (an agent must not be able to put a phishing link into the portal's own mail).
 */
function displayName(label: string) {
  return textField(label, 200)
    .refine((v) => !/[<>{}\\]/.test(v), `${label} cannot contain < > { } or \\.`)
    .refine((v) => !/:\/\/|www\.|@/i.test(v), `${label} cannot contain a web or email address.`);
}

const fields = {
  agentName: displayName("Your name"),
  agentOrganisation: displayName("Your organisation").optional(),
  agentEmail: emailField("Please enter your email address.", "Please enter a valid email address for yourself, like name@example.com."),
  consumerEmail: emailField("Please enter the consumer's email address.", "Please enter a valid email address for the consumer, like name@example.com."),
  region: z.enum(agentRegionCodes, { error: "Please choose where the consumer lives from the list." }),
  type: z.enum(agentTypeValues, { error: "Please choose what the consumer asks for." }),
  incorrect: textField("What is wrong", 2000, { multiline: true }).optional(),
  correct: textField("What it should say", 2000, { multiline: true }).optional(),
  permission: z
    .file({ error: "Please attach the consumer's signed permission (a PDF, PNG or JPEG file)." })
    .max(MAX_PERMISSION_BYTES, fileTooLargeMessage),
};

export const agentFormSchema = z.object(fields).superRefine((v, ctx) => {
  if (v.type !== "correction") return;
  if (!v.incorrect) ctx.addIssue({ code: "custom", path: ["incorrect"], message: "For a correction, please say what is wrong." });
  if (!v.correct) ctx.addIssue({ code: "custom", path: ["correct"], message: "For a correction, please say what it should say." });
});

export type AgentFormValues = z.infer<typeof agentFormSchema>;

/** Whether the consumer's law offers this request where they live (e.g. "limit sensitive" is California only). */
export function agentTypeAvailable(type: AgentRequestType, regionCode: string): boolean {
  const region = agentRegions.find((r) => r.code === regionCode);
  return region !== undefined && requestTypeInfo[type].regimes.includes(region.regime);
}
