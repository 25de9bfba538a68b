/**
 * Fields both intake forms build on — the requester's (intake.ts) and the authorized agent's (agent-intake.ts).
 * Browser-safe: the same checks give instant feedback in the browser and are the checks that count on the server.
 */
import { z } from "zod";

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const CONTROL_SINGLE_LINE = /[\u0000-\u001f\u007f]/;

/** Required free text, trimmed, at most `max` characters, without control characters (line breaks only when `multiline`). */
export function textField(label: string, max: number, { multiline = false } = {}) {
  return z
    .string({ error: `Please fill in ${label.toLowerCase()}.` })
    .trim()
    .min(1, `Please fill in ${label.toLowerCase()}.`)
    .max(max, `${label} is at most ${max.toLocaleString("en")} characters.`)
    .refine((v) => !(multiline ? CONTROL : CONTROL_SINGLE_LINE).test(v), `${label} contains characters we cannot accept.`);
}

/** An email address, trimmed, at most 254 characters; `missing` and `invalid` are the form's own words. */
export function emailField(missing: string, invalid: string) {
  return z
    .string({ error: missing })
    .trim()
    .max(254, "An email address is at most 254 characters.")
    .pipe(z.email({ error: invalid }));
}
