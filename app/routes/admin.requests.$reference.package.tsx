import type { LoaderFunctionArgs } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { openPackageForStaff } from "#app/models/packages.server.ts";
import { DomainError } from "#app/models/errors.ts";
import { getDb } from "#db/client.server.ts";
import { requireStepUp, ROLES } from "#app/utils/session.server.ts";

/**
 * A request's access package for staff (a resource route: no page): the decrypted zip, streamed. Holding every
 * record of a customer, it needs a fresh step-up (issue 5: "download the package (step-up)") and is for the staff who
 * work requests — auditors see that it exists and who downloaded it, in the timeline, not its content. Every download
 * is an audit event naming the staff member.
 */
export const handle = { staffRoles: ROLES.workers };

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { staff } = await requireStepUp(request, { roles: ROLES.workers });
  try {
    const download = await openPackageForStaff(getDb(), { reference: params.reference ?? "", staffId: staff.id });
    if (!download) throw new Response("There is no package to download for this request.", { status: 404, headers: { "Cache-Control": "no-store" } });
    return new Response(createReadableStreamFromReadable(download.stream), {
      status: 200,
      headers: {
        "Content-Type": "application/zip",
        "Content-Length": String(download.sizeBytes),
        "Content-Disposition": `attachment; filename="${download.filename}"`,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Security-Policy": "sandbox",
      },
    });
  } catch (error) {
    if (error instanceof DomainError && error.status === 410) throw new Response("The package file is no longer available.", { status: 410, headers: { "Cache-Control": "no-store" } });
    throw error;
  }
}
