/**
 * The staff password policy, following NIST SP 800-63B §5.1.1.2 ("memorized secrets"):
 *
 * - at least 12 characters (Unicode code points), at most 256 (enough for any passphrase; bounds argon2's input);
 * - not a commonly used password: not in the shipped list (app/models/data/common-passwords.txt), compared
 *   case-insensitively, also when only digits, spaces or symbols were added around a listed one ("Dragon2024!");
 * - not repetitive or sequential ("aaaaaaaaaaaa", "abcabcabcabc", "123456789012", "abcdefghijkl");
 * - not containing the part of the account's email address before the "@" (context-specific words).
 *
 * No composition rules (no "one upper-case letter and a symbol"): NIST advises against them, as they push people
 * to predictable patterns. Pure functions: the list is passed in (staff.server.ts loads the file once).
 */
export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase or manager-generated password; bounds the work an attacker can make us do. */
export const MAX_PASSWORD_LENGTH = 256;

export type PasswordProblem = {
  code: "password_too_short" | "password_too_long" | "password_common" | "password_repetitive" | "password_contains_email";
  message: string;
};

/** The lines of a password list file: trimmed, lower-cased, without blank lines and `#` comments. */
export function parsePasswordList(text: string): Set<string> {
  const set = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const entry = line.trim();
    if (entry && !entry.startsWith("#")) set.add(fold(entry));
  }
  return set;
}

function fold(value: string) {
  return value.normalize("NFKC").toLowerCase();
}

/** Digits, whitespace and ASCII symbols people add around a word to satisfy a length rule. */
const DECORATION = /^[\d\s\p{P}\p{S}]*(.*?)[\d\s\p{P}\p{S}]*$/u;

/** True for a password in `list`, or a listed one with only digits, spaces and symbols around it. */
export function isCommonPassword(password: string, list: ReadonlySet<string>): boolean {
  const folded = fold(password);
  if (list.has(folded) || list.has(folded.replace(/\s+/g, ""))) return true;
  const core = DECORATION.exec(folded)?.[1] ?? "";
  return core.length > 0 && core !== folded && list.has(core);
}

/** Few distinct characters, a short unit repeated, or one run up or down the character table. */
export function isRepetitiveOrSequential(password: string): boolean {
  const chars = [...fold(password)];
  if (new Set(chars).size < 4) return true;
  for (let unit = 1; unit <= 4; unit++) {
    if (chars.length % unit === 0 && chars.every((c, i) => c === chars[i % unit])) return true;
  }
  const codes = chars.map((c) => c.codePointAt(0)!);
  const steps = codes.slice(1).map((c, i) => c - codes[i]!);
  // "1234567890…" wraps from 9 to 0; treat that step as +1 too.
  const isStep = (d: number, dir: 1 | -1, i: number) => d === dir || (chars[i] === (dir === 1 ? "9" : "0") && chars[i + 1] === (dir === 1 ? "0" : "9"));
  return steps.every((d, i) => isStep(d, 1, i)) || steps.every((d, i) => isStep(d, -1, i));
}

/** The first rule `password` breaks for an account with this email, or null when it is acceptable. */
export function passwordProblem(password: string, { email, commonPasswords }: { email: string; commonPasswords: ReadonlySet<string> }): PasswordProblem | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return { code: "password_too_short", message: `Use at least ${MIN_PASSWORD_LENGTH} characters.` };
  if (length > MAX_PASSWORD_LENGTH) return { code: "password_too_long", message: `Use at most ${MAX_PASSWORD_LENGTH} characters.` };
  const local = fold(email).trim().split("@")[0] ?? "";
  // A one- or two-letter local part would forbid half the alphabet; the rule targets "jane.doe…" style passwords.
  if (local.length >= 3 && fold(password).includes(local)) {
    return { code: "password_contains_email", message: "Your password must not contain the part of your email address before the @." };
  }
  if (isCommonPassword(password, commonPasswords)) {
    return { code: "password_common", message: "This password is too common and easy to guess. Choose another, for example a few unrelated words." };
  }
  if (isRepetitiveOrSequential(password)) {
    return { code: "password_repetitive", message: "This password is too repetitive or sequential. Choose another, for example a few unrelated words." };
  }
  return null;
}
