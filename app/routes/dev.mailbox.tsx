/**
 * /dev/mailbox — the emails the local SMTP catcher received (demo and development only; 404 in production).
 * It is also the layout of /dev/mailbox/:id (dev.mailbox.$id.tsx), which renders in the <Outlet /> above the list.
 */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, Outlet, useLoaderData } from "@remix-run/react";
import { getEnv } from "#app/utils/env.server.ts";
import { readMailbox } from "#app/utils/mail-catcher.server.ts";

export const meta: MetaFunction = () => [{ title: "Dev mailbox" }, { name: "robots", content: "noindex" }];

export async function loader(_args: LoaderFunctionArgs) {
  const env = getEnv();
  if (env.isProduction) throw new Response("Not Found", { status: 404 });
  const messages = await readMailbox(env.MAILBOX_DIR);
  messages.sort((a, b) => b.date.getTime() - a.date.getTime() || b.id.localeCompare(a.id));
  return json(
    {
      dir: env.MAILBOX_DIR,
      messages: messages.map((m) => ({ id: m.id, to: m.to.join(", "), subject: m.subject, date: m.date.toISOString() })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export default function DevMailbox() {
  const { dir, messages } = useLoaderData<typeof loader>();
  return (
    <main>
      <h1>Dev mailbox</h1>
      <p>
        Emails caught by the local SMTP listener (newest first, read from <code>{dir}</code>). This page does not exist in
        production.
      </p>
      <Outlet />
      <h2>All emails</h2>
      {messages.length === 0 ? (
        <p>No emails yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">To</th>
              <th scope="col">Subject</th>
              <th scope="col">Date</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id}>
                <td>{m.to}</td>
                <td>
                  <Link to={`/dev/mailbox/${m.id}`}>{m.subject || "(no subject)"}</Link>
                </td>
                <td>
                  <time dateTime={m.date}>{m.date.replace("T", " ").slice(0, 19)} UTC</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
