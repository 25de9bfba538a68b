/**
 * CSV download of the dashboard's figures for a period (`/admin/dashboard.csv?from=…&to=…` or `?preset=…`;
 * `table=weekly` for the weekly volume). Every staff role may download; each download is an audit event naming the
 * staff member and the period. Bad parameters → 400 with a plain-text message.
 */
import type { LoaderFunctionArgs } from "@remix-run/node";
import { dashboardCsv, loadPeriodFigures, parseExportTable, parsePeriod, recordExport } from "#app/models/dashboard.server.ts";
import { attachmentDisposition, CSV_CONTENT_TYPE } from "#app/utils/csv.ts";
import { getDb } from "#db/client.server.ts";
import { requireStaff } from "#app/utils/session.server.ts";

const refuse = (message: string) => new Response(`${message}\n`, { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" } });

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  const params = new URL(request.url).searchParams;
  const table = parseExportTable(params.get("table"));
  if (!table) return refuse("Choose which table to download: table=outcomes or table=weekly.");
  const parsed = parsePeriod(params);
  if (!parsed.ok) return refuse(parsed.errors.map((e) => e.message).join("\n"));
  const db = getDb();
  const figures = await loadPeriodFigures(db, parsed.period);
  const body = dashboardCsv(figures, table);
  await recordExport(db, staff.id, parsed.period, table);
  const name = `requests-${table === "weekly" ? "weekly" : "figures"}-${parsed.period.from}-to-${parsed.period.to}.csv`;
  return new Response(body, {
    headers: { "Content-Type": CSV_CONTENT_TYPE, "Content-Disposition": attachmentDisposition(name), "Cache-Control": "no-store" },
  });
}
