import type { LoaderFunctionArgs } from "@remix-run/node";
import { viewDocument } from "#app/models/documents.server.ts";
import { getDb } from "#db/client.server.ts";
import { requireStaff } from "#app/utils/session.server.ts";

/**
 * A request's document for staff (a resource route: no page). Decrypted and checked by the model, which records the
 * view in the audit trail first. Always a download, typed by what the bytes are (sniffed at upload), never rendered
 * by the browser as anything else, never cached.
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  const document = await viewDocument(getDb(), { reference: params.reference ?? "", documentId: params.id ?? "", staffId: staff.id });
  if (!document) throw new Response("Not found", { status: 404, headers: { "Cache-Control": "no-store" } });
  return new Response(new Uint8Array(document.bytes), {
    status: 200,
    headers: {
      "Content-Type": document.contentType,
      "Content-Length": String(document.bytes.length),
      "Content-Disposition": `attachment; filename="${document.filename}"`,
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "no-store",
      "Content-Security-Policy": "sandbox",
    },
  });
}
