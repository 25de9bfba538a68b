/** What each request type is called where people read it (browser-safe: no server imports). */
import type { RequestType } from "#db/schema/requests.ts";

export const requestTypeLabels: Record<RequestType, string> = {
  access: "Access my data",
  deletion: "Delete my data",
  correction: "Correct my data",
  portability: "Export my data",
  opt_out: "Do not sell or share my data",
  limit_sensitive: "Limit use of my sensitive data",
  objection: "Object to processing",
  restriction: "Restrict processing",
};
