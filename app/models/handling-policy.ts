/** What the data-handling policy's page and its model share (no server code: the page bundles this). */

/** Longest policy text accepted (characters). */
export const MAX_POLICY_LENGTH = 50_000;

/** The policy's page in the staff console. */
export const HANDLING_POLICY_PATH = "/admin/handling-policy";
