import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { endStaffSession } from "#app/utils/session.server.ts";

export async function loader() {
  return redirect("/admin");
}

export async function action({ request }: ActionFunctionArgs) {
  return redirect("/admin/login", { headers: { "Set-Cookie": await endStaffSession(request) } });
}
