/**
 * The intake forms' schemas, shared by the browser (instant feedback) and the server (the check that counts).
 * One base (email, name, region, optional data points) plus what each request type needs.
 */
import { z } from "zod";
import type { RequestType } from "#db/schema/requests.ts";
import { emailField, textField } from "./intake-fields.ts";
import { regionCodes } from "./regions.ts";

/** Kinds of data points a requester may give for stronger verification (values are encrypted, kinds are not). */
export const dataPointKinds = ["phone", "postalCode", "orderNumber", "accountId"] as const;
export type DataPointKind = (typeof dataPointKinds)[number];

const email = emailField("Please enter your email address.", "Please enter a valid email address, like name@example.com.");

const personName = textField("Your name", 200).refine((v) => !/[<>{}\\]/.test(v), "A name cannot contain < > { } or \\.");

const dataPoints = {
  phone: z
    .string()
    .trim()
    .regex(/^\+?[0-9 ()./-]{6,24}$/, "Please enter a phone number of digits, spaces and + ( ) - only.")
    .refine((v) => v.replace(/\D/g, "").length >= 6, "Please enter a complete phone number.")
    .optional(),
  postalCode: z.string().trim().regex(/^[A-Za-z0-9 -]{2,12}$/, "A postal code has 2 to 12 letters, digits, spaces or dashes.").optional(),
  orderNumber: z.string().trim().regex(/^[A-Za-z0-9#_-]{1,40}$/, "An order number has up to 40 letters, digits, # _ or -.").optional(),
  accountId: z.string().trim().regex(/^[A-Za-z0-9@._:-]{1,64}$/, "An account ID has up to 64 letters, digits or . _ : - @.").optional(),
};

const base = {
  email,
  name: personName.optional(),
  region: z.enum(regionCodes, { error: "Please choose where you live from the list." }),
  ...dataPoints,
};

const checkbox = z.literal("on", { error: "Please tick the box to sign the declaration." }).optional();

const accessSchema = z
  .object({
    ...base,
    accessScope: z.enum(["categories", "specific"], { error: "Please choose what you would like to receive." }).default("categories"),
    declarationName: personName.optional(),
    declarationAccepted: checkbox,
  })
  .superRefine((v, ctx) => {
    if (v.accessScope !== "specific") return;
    if (!v.declarationName) ctx.addIssue({ code: "custom", path: ["declarationName"], message: "Please type your full name to sign the declaration." });
    if (v.declarationAccepted !== "on") ctx.addIssue({ code: "custom", path: ["declarationAccepted"], message: "Please tick the box to sign the declaration." });
  });

const correctionSchema = z.object({
  ...base,
  incorrect: textField("What is wrong", 2000, { multiline: true }),
  correct: textField("What it should say", 2000, { multiline: true }),
});

const reasonSchema = z.object({ ...base, reason: textField("Your reason", 2000, { multiline: true }) });

const plainSchema = z.object(base);

export function intakeSchemaFor(type: RequestType) {
  switch (type) {
    case "access":
      return accessSchema;
    case "correction":
      return correctionSchema;
    case "objection":
    case "restriction":
      return reasonSchema;
    default:
      return plainSchema;
  }
}

export type IntakeValues = z.infer<typeof plainSchema> &
  Partial<Pick<z.infer<typeof accessSchema>, "accessScope" | "declarationName" | "declarationAccepted">> &
  Partial<Pick<z.infer<typeof correctionSchema>, "incorrect" | "correct">> &
  Partial<Pick<z.infer<typeof reasonSchema>, "reason">>;

export const codeSchema = z.object({
  code: z
    .string({ error: "Please enter the 6-digit code from the email." })
    .trim()
    .regex(/^\d{3}[\s-]?\d{3}$/, "The code is 6 digits, like 123456."),
});
