/** Global Privacy Control support resource (https://privacycg.github.io/gpc-spec/#the-gpc-support-resource). */
import { json } from "@remix-run/node";

const LAST_UPDATE = "2026-11-25";

export async function loader() {
  return json({ gpc: true, lastUpdate: LAST_UPDATE }, { headers: { "Cache-Control": "public, max-age=86400", "Access-Control-Allow-Origin": "*" } });
}
