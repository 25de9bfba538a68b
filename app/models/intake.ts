/** The intake form's schema, shared by the browser (instant feedback) and the server (the check that counts). */
import { z } from "zod";
import { regionCodes } from "./regions.ts";

export const intakeTypes = ["access"] as const;

export const intakeSchema = z.object({
  type: z.enum(intakeTypes, { error: "Please choose what you would like us to do." }),
  email: z
    .string({ error: "Please enter your email address." })
    .trim()
    .max(254, "An email address is at most 254 characters.")
    .pipe(z.email({ error: "Please enter a valid email address, like name@example.com." })),
  region: z.enum(regionCodes, { error: "Please choose where you live from the list." }),
});

export const codeSchema = z.object({
  code: z
    .string({ error: "Please enter the 6-digit code from the email." })
    .trim()
    .regex(/^\d{3}[\s-]?\d{3}$/, "The code is 6 digits, like 123456."),
});
