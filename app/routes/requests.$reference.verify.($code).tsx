import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { DomainError } from "#app/models/errors.ts";
import { codeSchema } from "#app/models/intake.ts";
import { referencePattern } from "#app/models/requests.server.ts";
import { parseCode, requestNewCode, verifyCode } from "#app/models/verification.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { rateLimit } from "#app/utils/rate-limit.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — check your inbox" }];

const messages = {
  invalid: "That code is not right. Check the latest email from us and try again.",
  expired: "This code has expired. Ask for a new one below.",
  too_many_attempts: "Too many wrong codes. Ask for a new code below.",
  already_verified: "This request is already verified.",
} as const;

/** The same page for every well-formed reference: it reveals nothing about whether the request exists. */
export async function loader({ params }: LoaderFunctionArgs) {
  const reference = params.reference ?? "";
  if (!referencePattern.test(reference)) throw new Response("Not found", { status: 404 });
  return json({ reference, code: parseCode(params.code ?? "") ?? "" });
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const reference = params.reference ?? "";
  if (!referencePattern.test(reference)) throw new Response("Not found", { status: 404 });
  const formData = await readForm(request, ["code", "intent"]);

  if (formData.get("intent") === "resend") {
    const limit = await rateLimit({ bucket: "resend-ip", key: context.clientIp, limit: 10, windowSeconds: 3600 });
    if (!limit.allowed) return json({ notice: null, result: null, error: messages.too_many_attempts }, { status: 429 });
    try {
      await requestNewCode(getDb(), reference);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error.code === "cooldown") return json({ notice: null, result: null, error: error.userMessage }, { status: 429 });
    }
    return json({ notice: "If this request is waiting for verification, a new code is on its way.", result: null, error: null });
  }

  const submission = parseWithZod(formData, { schema: codeSchema });
  if (submission.status !== "success") return json({ notice: null, result: submission.reply(), error: null }, { status: 400 });

  // At most 100 tries an hour per request and per IP (on top of 5 per code): guessing stays hopeless.
  const [byIp, byRequest] = await Promise.all([
    rateLimit({ bucket: "verify-ip", key: context.clientIp, limit: 100, windowSeconds: 3600 }),
    rateLimit({ bucket: "verify-request", key: reference, limit: 100, windowSeconds: 3600 }),
  ]);
  if (!byIp.allowed || !byRequest.allowed) {
    return json({ notice: null, result: submission.reply({ formErrors: [messages.too_many_attempts] }), error: null }, { status: 429 });
  }

  const outcome = await verifyCode(getDb(), reference, submission.value.code);
  if (outcome.ok || outcome.reason === "already_verified") return redirect(`/requests/${reference}/confirmed`);
  const left = outcome.reason === "invalid" && outcome.attemptsLeft ? ` ${outcome.attemptsLeft} ${outcome.attemptsLeft === 1 ? "try" : "tries"} left.` : "";
  return json(
    { notice: null, result: submission.reply({ fieldErrors: { code: [messages[outcome.reason] + left] } }), error: null },
    { status: 400 },
  );
}

export default function Verify() {
  const { reference, code } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const [form, fields] = useForm({
    lastResult: data?.result ?? undefined,
    defaultValue: { code },
    shouldValidate: "onSubmit",
    onValidate: ({ formData }) => parseWithZod(formData, { schema: codeSchema }),
  });
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Check your inbox</h1>
      <p className="notice" role="status">
        We have sent an email with a 6-digit code. Enter it below to confirm your request, or use the link in the email.
        The code is valid for a short time.
      </p>
      <p>
        Your request reference is <strong>{reference}</strong>.
      </p>
      <Form method="post" action={`/requests/${reference}/verify`} {...getFormProps(form)}>
        <FieldErrors id={form.errorId} errors={form.errors} />
        <Field label="Verification code" htmlFor={fields.code.id} errorId={fields.code.errorId} errors={fields.code.errors}>
          <input {...getInputProps(fields.code, { type: "text" })} className="code" inputMode="numeric" autoComplete="one-time-code" maxLength={7} />
        </Field>
        <button type="submit" name="intent" value="verify">
          Verify my request
        </button>
      </Form>
      <Form method="post" action={`/requests/${reference}/verify`}>
        {data?.notice ? <p role="status" className="success">{data.notice}</p> : null}
        {data?.error ? <p role="alert" className="error">{data.error}</p> : null}
        <button type="submit" name="intent" value="resend" className="secondary">
          Send me a new code
        </button>
      </Form>
    </section>
  );
}
