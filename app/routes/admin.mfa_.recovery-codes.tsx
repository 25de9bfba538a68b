/** Shows the recovery codes made at enrolment, once (they arrive in a short-lived encrypted cookie; see session.server.ts). */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { RecoveryCodeList } from "#app/components/recovery-codes.tsx";
import { recoveryCodesFlash, requireStaffSession, safeNextPath } from "#app/utils/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Your recovery codes — Privacy Center staff" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const context = await requireStaffSession(request, { allowExpiredPassword: true });
  const next = safeNextPath(new URL(request.url).searchParams.get("next"));
  const codes = recoveryCodesFlash.read(request, context.session.id);
  return json({ codes, next }, { headers: { "Set-Cookie": recoveryCodesFlash.clear(), "Cache-Control": "no-store" } });
}

export default function RecoveryCodes() {
  const { codes, next } = useLoaderData<typeof loader>();
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">{codes ? "Save your recovery codes" : "Recovery codes"}</h1>
      {codes ? (
        <>
          <p className="success" role="status">
            Two-step verification is on.
          </p>
          <p>
            If you lose your phone, each of these codes lets you sign in once instead of a code from the app. Store them
            somewhere safe, such as your password manager. <strong>They are shown only now.</strong>
          </p>
          <RecoveryCodeList codes={codes} />
        </>
      ) : (
        <p>
          Recovery codes are shown only once, right after they are made. If you did not save them, make new ones on{" "}
          <Link to="/admin/account">your account page</Link>.
        </p>
      )}
      <p>
        <Link className="button" to={next}>
          Continue
        </Link>
      </p>
    </section>
  );
}
