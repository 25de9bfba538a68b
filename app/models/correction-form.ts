/**
 * The correction confirmation form (browser-safe: the staff page validates with it too): one optional field per
 * subject attribute (empty: unchanged), at least one given, email and phone in the forms the stores keep them.
 * docs/decisions/015-correction-and-opt-out.md.
 */
import { z } from "zod";
import { normalizeIdentityEmail, normalizePhone, type SubjectAttribute } from "./data-map.ts";

export const correctionAttributeLabels: Record<SubjectAttribute, string> = {
  name: "Full name",
  given_name: "Given (first) name",
  family_name: "Family (last) name",
  email: "Email address",
  phone: "Phone number",
  postal_address: "Postal address (one line)",
  street: "Street and number",
  city: "City",
  postcode: "Postcode",
  country: "Country",
};

/** The words the completion email uses for an attribute. */
export const correctionAttributeWords: Record<SubjectAttribute, string> = {
  name: "name",
  given_name: "first name",
  family_name: "last name",
  email: "email address",
  phone: "phone number",
  postal_address: "postal address",
  street: "street",
  city: "city",
  postcode: "postcode",
  country: "country",
};

const optionalText = (label: string, max = 300) =>
  z
    .string()
    .trim()
    .max(max, `${label} must be at most ${max} characters.`)
    .optional()
    .transform((v) => (v ? v : undefined));

/** The confirmation form: every attribute optional (empty: unchanged), at least one given, email and phone checked. */
export const correctionFormSchema = z
  .object({
    name: optionalText("The full name"),
    given_name: optionalText("The given name"),
    family_name: optionalText("The family name"),
    email: optionalText("The email address", 254).refine((v) => v === undefined || normalizeIdentityEmail(v) !== undefined, "Enter an email address like name@example.com."),
    phone: optionalText("The phone number", 40).refine(
      (v) => v === undefined || normalizePhone(v) !== undefined,
      "Enter the phone number in international format, starting with + and the country code (e.g. +44 20 7946 0958).",
    ),
    postal_address: optionalText("The postal address", 500),
    street: optionalText("The street"),
    city: optionalText("The city"),
    postcode: optionalText("The postcode", 20),
    country: optionalText("The country", 100),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: "Enter at least one corrected value." });

