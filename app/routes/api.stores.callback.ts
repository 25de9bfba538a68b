/**
 * The callback of HTTP stores that answered 202 (docs/connectors.md, "Asynchronous answers"): a signed JSON POST
 * from the store's service, verified and recorded by app/models/store-callbacks.server.ts. No session, no cookies:
 * the HMAC signature with the store's shared secret is the authentication. Answers JSON without personal data.
 */
import { json, type ActionFunctionArgs } from "@remix-run/node";
import { DomainError } from "#app/models/errors.ts";
import { handleStoreCallback } from "#app/models/store-callbacks.server.ts";
import { getDb } from "#db/client.server.ts";

export function loader() {
  return json({ error: "method_not_allowed" }, { status: 405, headers: { Allow: "POST" } });
}

export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== "POST") return json({ error: "method_not_allowed" }, { status: 405, headers: { Allow: "POST" } });
  let body: string;
  try {
    body = await request.text();
  } catch {
    return json({ error: "bad_body", message: "The body could not be read." }, { status: 400 });
  }
  try {
    const result = await handleStoreCallback(getDb(), {
      store: request.headers.get("x-portal-store"),
      timestamp: request.headers.get("x-portal-timestamp"),
      signature: request.headers.get("x-portal-signature"),
      body,
    });
    return json({ ok: true, status: result.status });
  } catch (error) {
    if (error instanceof DomainError) return json({ error: error.code, message: error.userMessage }, { status: error.status });
    throw error;
  }
}
