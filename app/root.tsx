import type { LinksFunction, MetaFunction } from "@remix-run/node";
import {
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
} from "@remix-run/react";
import type { ReactNode } from "react";
import { useNonce } from "#app/utils/nonce.tsx";
import stylesUrl from "./styles.css";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesUrl },
  { rel: "icon", href: "/favicon.png", type: "image/png" },
];

export const meta: MetaFunction = () => [{ title: "Privacy Center" }];

export function Layout({ children }: { children: ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <Meta />
        <Links />
      </head>
      <body>
        <header className="site-header">
          <Link to="/" className="brand">
            Privacy Center
          </Link>
        </header>
        <main id="main">{children}</main>
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

/** The one error page: a status and a generic message; never a stack, SQL or the thrown message. */
export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  // A 4xx thrown with { message: "…" } carries a message meant for the user (e.g. a form that could not be read).
  const data = isRouteErrorResponse(error) ? (error.data as { message?: unknown } | null) : null;
  const specific = status >= 400 && status < 500 && typeof data?.message === "string" ? data.message : null;
  const message =
    specific ??
    (status === 404
      ? "We could not find that page."
      : status === 403
        ? "This action is not allowed."
        : status === 413
          ? "What you sent is too large."
          : status === 429
            ? "Too many attempts. Please wait a little and try again."
            : status < 500
              ? "That request could not be handled."
              : "Something went wrong on our side. Please try again later.");
  return (
    <section className="card" aria-labelledby="error-title">
      <h1 id="error-title">{status === 404 ? "Not found" : "Sorry"}</h1>
      <p>{message}</p>
      <p>
        <Link to="/">Back to the Privacy Center</Link>
      </p>
    </section>
  );
}
