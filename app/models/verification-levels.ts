/**
 * How sure we must be of who is asking before acting, as a level: 1 = the requester controls the email address,
 * each data point that matches a connected store adds 1 (the matching job of the connected stores raises it).
 * CCPA regs §7062: categories → reasonable certainty (2 matching data points), specific pieces → reasonably high
 * certainty (3 + signed declaration), deletion → 2; opt-outs and limits need none (§7026/§7027). GDPR / UK GDPR
 * and the US state laws: a verified email; staff may ask for more where doubt remains.
 */
import type { AccessScope, Regime, RequestType } from "#db/schema/requests.ts";

export function requiredVerificationLevel(regime: Regime, type: RequestType, accessScope?: AccessScope | null): number {
  if (type === "opt_out" || type === "limit_sensitive") return 0;
  if (regime !== "ccpa") return 1;
  if (type === "access") return accessScope === "specific" ? 3 : 2;
  if (type === "portability") return 3; // a copy of specific pieces
  return 2; // deletion, correction
}

export function verificationSatisfied(level: number, required: number) {
  return level >= required;
}
