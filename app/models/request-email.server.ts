/** What the emails to a requester about their request have in common. */
import type { RequestRow } from "#db/schema/index.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { requestTypeLabels } from "./request-types.ts";

/** The props every email about a request carries: who writes (the organisation), which request, and what was asked. */
export function requestEmailBasics(request: Pick<RequestRow, "reference" | "type">) {
  return { orgName: getEnv().ORG_NAME, reference: request.reference, requestTypeLabel: requestTypeLabels[request.type] };
}
