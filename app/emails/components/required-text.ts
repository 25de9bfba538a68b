/**
 * Text an email cannot go out without (a denial's reason, an extension's reason, what staff need from the requester).
 *
 * `RequiredText` is a branded string: a plain `string` does not type-check where one is expected, so a caller has to
 * pass the value through `requiredText()`, which refuses blank or whitespace-only text. The mailer checks the same
 * fields again at runtime (a cast or an untyped caller cannot slip a blank reason through).
 *
 * Browser- and preview-safe: no server imports (the react-email preview bundles this file).
 */
declare const requiredTextBrand: unique symbol;

/** A string known to hold more than whitespace. Make one with `requiredText()`. */
export type RequiredText = string & { readonly [requiredTextBrand]: true };

/** Thrown by `requiredText()` for blank text. The message names the field, never the value. */
export class BlankTextError extends Error {
  override readonly name = "BlankTextError";
  readonly field: string;

  constructor(field: string) {
    super(`The ${field} must not be blank`);
    this.field = field;
  }
}

/** True when `value` is a string with at least one non-whitespace character. */
export function isRequiredText(value: unknown): value is RequiredText {
  return typeof value === "string" && value.trim().length > 0;
}

/** `value` as `RequiredText`, unchanged (not trimmed); throws BlankTextError when it is blank or only whitespace. */
export function requiredText(value: string, field = "text"): RequiredText {
  if (!isRequiredText(value)) throw new BlankTextError(field);
  return value;
}
