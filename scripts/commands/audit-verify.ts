/** `audit:verify`: walks the audit hash chain and reports the first broken link, if any (exit 1 when broken). */
import { verifyAuditChain } from "#app/models/audit.server.ts";
import { getEnvOrExit } from "#app/utils/env.server.ts";
import { closeDb, getDb } from "#db/client.server.ts";

export default {
  summary: "verify the audit trail's hash chain",
  async run() {
    getEnvOrExit();
    try {
      const report = await verifyAuditChain(getDb());
      console.log(JSON.stringify(report));
      return report.ok ? 0 : 1;
    } finally {
      await closeDb();
    }
  },
};
