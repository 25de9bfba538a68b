/**
 * /dev/mailbox/:id — rendered inside the dev.mailbox.tsx layout (file-route nesting) — one caught email: headers, the plain-text part, and the HTML part in a sandboxed iframe
 * (no scripts, no same-origin access). Demo and development only; 404 in production.
 * No inline `style` attributes: the site CSP (style-src 'self') would block them. The srcdoc document inherits that
 * CSP too, so the email's own inline styles do not apply here; the react-email preview shows the styled version.
 */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { getEnv } from "#app/utils/env.server.ts";
import { readMailboxMessage } from "#app/utils/mailer.server.ts";

export const meta: MetaFunction = () => [{ title: "Dev mailbox" }, { name: "robots", content: "noindex" }];

export async function loader({ params }: LoaderFunctionArgs) {
  const env = getEnv();
  if (env.isProduction) throw new Response("Not Found", { status: 404 });
  // readMailboxMessage accepts only /^[0-9]+-[0-9a-f]{8}$/ ids, so nothing else reaches the file system.
  const message = await readMailboxMessage(env.MAILBOX_DIR, params.id ?? "");
  if (!message) throw new Response("Not Found", { status: 404 });
  return json(
    {
      id: message.id,
      from: message.from,
      to: message.to.join(", "),
      subject: message.subject,
      date: message.date.toISOString(),
      text: message.text,
      html: message.html,
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export default function DevMailboxMessage() {
  const m = useLoaderData<typeof loader>();
  return (
    <article aria-labelledby="mail-subject">
      <p>
        <Link to="/dev/mailbox">Close this email</Link>
      </p>
      <h2 id="mail-subject">{m.subject || "(no subject)"}</h2>
      <dl>
        <dt>From</dt>
        <dd>{m.from}</dd>
        <dt>To</dt>
        <dd>{m.to}</dd>
        <dt>Date</dt>
        <dd>
          <time dateTime={m.date}>{m.date.replace("T", " ").slice(0, 19)} UTC</time>
        </dd>
      </dl>
      <h3>HTML</h3>
      {m.html ? (
        <iframe
          title="HTML body of the email"
          sandbox=""
          srcDoc={m.html}
          width="100%"
          height="600"
        />
      ) : (
        <p>This email has no HTML part.</p>
      )}
      <h3>Plain text</h3>
      <pre>{m.text || "(no plain-text part)"}</pre>
    </article>
  );
}
