/**
 * The requester's data package: the decrypted zip, streamed. Needs the short-lived grant (an HttpOnly cookie set
 * after the emailed code was confirmed on the status page); every download is an audit event.
 */
import { createReadableStreamFromReadable, redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { DomainError } from "#app/models/errors.ts";
import { openPackageDownload } from "#app/models/packages.server.ts";
import { getDb } from "#db/client.server.ts";

export const DOWNLOAD_GRANT_COOKIE = "pkg_grant";

function grantFrom(request: Request): string {
  const header = request.headers.get("Cookie") ?? "";
  for (const part of header.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === DOWNLOAD_GRANT_COOKIE) return rest.join("=");
  }
  return "";
}

export async function loader({ params, request }: LoaderFunctionArgs) {
  const token = params.token ?? "";
  try {
    const download = await openPackageDownload(getDb(), token, grantFrom(request));
    return new Response(createReadableStreamFromReadable(download.stream), {
      status: 200,
      headers: {
        "Content-Type": "application/zip",
        "Content-Disposition": `attachment; filename="${download.filename}"`,
        "Content-Length": String(download.sizeBytes),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      },
    });
  } catch (error) {
    if (error instanceof DomainError && error.code === "no_grant") throw redirect(`/status/${token}?download=confirm#download`);
    if (error instanceof DomainError && error.status === 410) throw new Response("This download is no longer available.", { status: 410, headers: { "Cache-Control": "no-store" } });
    if (error instanceof DomainError && error.status === 404) throw new Response("Not found", { status: 404 });
    throw error;
  }
}
