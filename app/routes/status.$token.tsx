import { getFormProps, getTextareaProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { z } from "zod";
import { json, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { formatDueDate } from "#app/models/deadlines.ts";
import { DomainError } from "#app/models/errors.ts";
import { regimeLabels } from "#app/models/regions.ts";
import { requestTypeInfo } from "#app/models/request-types.ts";
import { DOWNLOAD_GRANT_MINUTES, downloadInfo, requestDownloadCode, verifyDownloadCode } from "#app/models/packages.server.ts";
import { ANSWERABLE, MAX_ANSWER_LENGTH } from "#app/models/answers.server.ts";
import { answerInformationRequest, CANCELLABLE, cancelRequest, getRequestByStatusToken, publicTimeline, STATUS_LINK_DAYS_AFTER_CLOSE } from "#app/models/status.server.ts";
import { getEnv } from "#app/utils/env.server.ts";
import { getDb } from "#db/client.server.ts";
import { denialReasons, latestInformationRequest } from "#app/models/request-actions.server.ts";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { rateLimit } from "#app/utils/rate-limit.server.ts";
import { readForm } from "#app/utils/forms.server.ts";

export const meta: MetaFunction = () => [{ title: "Privacy Center — your request" }, { name: "robots", content: "noindex" }];
export const headers: HeadersFunction = () => ({ "Cache-Control": "no-store" });

const statusText: Record<string, string> = {
  pending_verification: "Waiting for you to confirm your email address",
  verified: "Received — waiting for our privacy team",
  in_review: "Being reviewed by our privacy team",
  approved: "Approved — being processed",
  processing: "Being processed",
  action_required: "Being processed",
  completed: "Completed",
  denied: "Not carried out",
  cancelled: "Cancelled by you",
  expired: "Expired (not confirmed in time)",
  closed: "Closed",
};

/**
 * One answer for every link that does not open a request — unknown, replaced or expired alike, so it tells nothing
 * about a token — that still helps the requester who clicked an older email: each email about a request carries a
 * fresh link and only the newest works (an opt-out may send its acknowledgement and its completion within seconds).
 */
const notFound = () =>
  json(
    {
      message: `We could not find a request for this link. Each email we send about a request has a new link and only the newest one works, so please use the link in our most recent email. Links also stop working ${STATUS_LINK_DAYS_AFTER_CLOSE} days after a request is closed.`,
    },
    { status: 404, headers: { "Cache-Control": "no-store" } },
  );

export async function loader({ params }: LoaderFunctionArgs) {
  const db = getDb();
  const request = await getRequestByStatusToken(db, params.token ?? "");
  if (!request) throw notFound();
  const timeline = await publicTimeline(db, request.id);
  const download = await downloadInfo(db, request.id);
  const asked = ANSWERABLE.includes(request.status) ? await latestInformationRequest(db, request.id) : null;
  return json(
    {
      reference: request.reference,
      type: requestTypeInfo[request.type].label,
      nextSteps: requestTypeInfo[request.type].nextSteps,
      regime: regimeLabels[request.regime],
      status: statusText[request.status] ?? request.status,
      dueDate: formatDueDate(request.dueAt),
      extendedDueDate: request.extendedDueAt ? formatDueDate(request.extendedDueAt) : null,
      extensionReason: request.extensionReason,
      // The denial reason's plain text (the stored code is for metrics), never the raw code.
      outcomeReason:
        request.status === "denied" && request.outcomeReason
          ? (denialReasons[request.outcomeReason as keyof typeof denialReasons]?.text ?? null)
          : null,
      needsMoreVerification: request.verificationLevel < request.requiredVerificationLevel && request.status === "verified",
      cancellable: CANCELLABLE.includes(request.status),
      timeline: timeline.map((t) => ({ at: t.at.toISOString(), text: t.text })),
      // Staff asked for more information: what they asked (it was in our email), and the form to answer.
      answer: ANSWERABLE.includes(request.status) ? { question: asked?.message ?? null, answerBy: asked ? formatDueDate(asked.answerBy) : null } : null,
      download: download ? { expiresOn: formatDueDate(download.expiresAt), size: sizeLabel(download.sizeBytes), codeSent: download.codeSent } : null,
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

const sizeLabel = (bytes: number) => (bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

/** "Download your data": ask for a code by email, then confirm it; the grant goes into an HttpOnly cookie. */
async function downloadAction(token: string, intent: string, form: FormData) {
  try {
    if (intent === "download-code") {
      await requestDownloadCode(getDb(), token);
      return json({ downloadMessage: "We emailed you a code. Enter it below to download your data." });
    }
    const result = await verifyDownloadCode(getDb(), token, String(form.get("code") ?? ""));
    if (!result.ok) {
      const message =
        result.reason === "expired"
          ? "This code has expired. Please ask for a new one."
          : result.reason === "too_many_attempts"
            ? "Too many wrong codes. Please ask for a new one."
            : `That code is not right.${result.attemptsLeft ? ` ${result.attemptsLeft} tries left.` : ""}`;
      return json({ downloadError: message }, { status: 400 });
    }
    const secure = getEnv().APP_URL.startsWith("https:") ? "; Secure" : "";
    return redirect(`/status/${token}/download`, {
      status: 303,
      headers: {
        "Set-Cookie": `pkg_grant=${result.grant}; Path=/status/${token}/download; Max-Age=${DOWNLOAD_GRANT_MINUTES * 60}; HttpOnly; SameSite=Strict${secure}`,
      },
    });
  } catch (error) {
    if (error instanceof DomainError && error.code === "not_found") throw notFound();
    if (error instanceof DomainError) return json({ downloadError: error.userMessage }, { status: error.status });
    throw error;
  }
}

/** The answer form's schema (the requester's reply to "more information needed"). */
const answerSchema = z.object({
  intent: z.literal("answer"),
  answer: z
    .string({ error: "Please write your answer." })
    .trim()
    .min(1, { error: "Please write your answer." })
    .max(MAX_ANSWER_LENGTH, { error: `Your answer can be at most ${MAX_ANSWER_LENGTH.toLocaleString("en")} characters.` }),
});

/** The requester answers: rate-limited per address and per request, then stored encrypted (ADR 020). */
async function answerAction(token: string, form: FormData, clientIp: string) {
  const submission = parseWithZod(form, { schema: answerSchema });
  if (submission.status !== "success") return json({ answerResult: submission.reply() }, { status: 400 });
  const byIp = await rateLimit({ bucket: "status-answer-ip", key: clientIp, limit: 20, windowSeconds: 3600 });
  const byRequest = await rateLimit({ bucket: "status-answer-request", key: token, limit: 5, windowSeconds: 3600 });
  if (!byIp.allowed || !byRequest.allowed) {
    return json({ answerResult: submission.reply({ formErrors: ["You have sent several answers in a short time. Please try again in an hour."] }) }, { status: 429 });
  }
  try {
    await answerInformationRequest(getDb(), token, submission.value.answer);
  } catch (error) {
    if (error instanceof DomainError && error.code === "not_found") throw notFound();
    if (error instanceof DomainError) return json({ answerResult: submission.reply({ formErrors: [error.userMessage] }) }, { status: error.status });
    throw error;
  }
  return redirect(`/status/${token}?answered=1`);
}

export async function action({ params, request, context }: ActionFunctionArgs) {
  const form = await readForm(request, ["intent", "confirm", "code", "answer"]);
  const intent = String(form.get("intent") ?? "");
  if (intent === "download-code" || intent === "download-verify") return downloadAction(params.token ?? "", intent, form);
  if (intent === "answer") return answerAction(params.token ?? "", form, context.clientIp);
  if (intent !== "cancel") return json({ error: "Unknown action." }, { status: 400 });
  if (form.get("confirm") !== "yes") return json({ error: "Please tick the box to confirm that you want to cancel." }, { status: 400 });
  try {
    await cancelRequest(getDb(), params.token ?? "");
  } catch (error) {
    if (error instanceof DomainError && error.code === "not_found") throw notFound();
    if (error instanceof DomainError) return json({ error: error.userMessage }, { status: error.status });
    throw error;
  }
  return redirect(`/status/${params.token}`);
}

const dateTime = (iso: string) =>
  new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC", timeZoneName: "short" }).format(new Date(iso));

function AnswerForm({ question, answerBy }: { question: string | null; answerBy: string | null }) {
  const data = useActionData<typeof action>() as { answerResult?: SubmissionResult<string[]> } | undefined;
  const [form, fields] = useForm({ id: "answer", lastResult: data?.answerResult, shouldRevalidate: "onInput" });
  const answer = fields.answer!;
  return (
    <section id="answer-section" aria-labelledby="answer-title">
      <h2 id="answer-title">We need more information from you</h2>
      {question ? (
        <>
          <p>Our privacy team asked:</p>
          <blockquote>
            <pre>{question}</pre>
          </blockquote>
        </>
      ) : (
        <p>Our privacy team asked you for more information by email.</p>
      )}
      <p>
        Please answer below{answerBy ? <> by <strong>{answerBy}</strong></> : null}. If we do not hear from you, we will close the request. Your answer is stored
        encrypted and only our privacy team reads it.
      </p>
      <Form method="post" {...getFormProps(form)}>
        <input type="hidden" name="intent" value="answer" />
        <FieldErrors id={form.errorId} errors={form.errors} />
        <Field
          label="Your answer"
          hint={`At most ${MAX_ANSWER_LENGTH_CLIENT.toLocaleString("en")} characters.`}
          meta={answer}
        >
          <textarea {...getTextareaProps(answer)} maxLength={MAX_ANSWER_LENGTH_CLIENT} rows={6} required />
        </Field>
        <button type="submit">Send my answer</button>
      </Form>
    </section>
  );
}

/** The server's MAX_ANSWER_LENGTH (the page's components do not import server code). */
const MAX_ANSWER_LENGTH_CLIENT = 4000;

export default function Status() {
  const r = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as { error?: string; downloadMessage?: string; downloadError?: string } | undefined;
  const [search] = useSearchParams();
  return (
    <section className="card" aria-labelledby="title">
      <h1 id="title">Your request {r.reference}</h1>
      <dl className="facts">
        <dt>Request</dt>
        <dd>{r.type}</dd>
        <dt>Law</dt>
        <dd>{r.regime}</dd>
        <dt>Status</dt>
        <dd data-testid="status">{r.status}</dd>
        <dt>We will respond by</dt>
        <dd>
          {r.extendedDueDate ? (
            <>
              <s>{r.dueDate}</s> {r.extendedDueDate}
            </>
          ) : (
            r.dueDate
          )}
        </dd>
        {r.extendedDueDate && r.extensionReason ? (
          <>
            <dt>Why we need more time</dt>
            <dd>{r.extensionReason}</dd>
          </>
        ) : null}
        {r.outcomeReason ? (
          <>
            <dt>Why</dt>
            <dd>{r.outcomeReason}</dd>
          </>
        ) : null}
      </dl>
      {search.get("answered") === "1" ? (
        <p className="success" role="status" data-testid="answered">
          Thank you: we received your answer. Our privacy team will look at it; the date we will respond by has not changed.
        </p>
      ) : null}
      {r.answer ? <AnswerForm question={r.answer.question} answerBy={r.answer.answerBy} /> : null}
      {r.needsMoreVerification ? (
        <p className="notice">To protect your data we may need more information to confirm your identity. We will contact you by email.</p>
      ) : null}
      <h2>Timeline</h2>
      <ol className="timeline">
        {r.timeline.map((t, i) => (
          <li key={i}>
            <time dateTime={t.at}>{dateTime(t.at)}</time>
            {t.text}
          </li>
        ))}
      </ol>
      {r.download ? (
        <section id="download" aria-labelledby="download-title">
          <h2 id="download-title">Download your data</h2>
          <p>
            Your data is ready ({r.download.size}, a zip file). It can be downloaded until <strong>{r.download.expiresOn}</strong>. To
            keep it safe, we first email you a code to confirm it is you.
          </p>
          {search.get("download") === "confirm" && !result ? <p className="notice">Please confirm it is you with a new code before downloading.</p> : null}
          {result?.downloadMessage ? <p className="notice" role="status">{result.downloadMessage}</p> : null}
          {result?.downloadError ? (
            <p className="error" role="alert">
              {result.downloadError}
            </p>
          ) : null}
          <Form method="post">
            <button type="submit" name="intent" value="download-code" className="secondary">
              Email me a code
            </button>
          </Form>
          <Form method="post" reloadDocument>
            <label htmlFor="download-code">Code from the email</label>
            <input id="download-code" name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={7} required />
            <button type="submit" name="intent" value="download-verify">
              Download my data
            </button>
          </Form>
        </section>
      ) : null}
      {r.cancellable ? (
        <Form method="post">
          <h2>Cancel this request</h2>
          <p className="hint">You can cancel until we start processing it.</p>
          <label className="choice">
            <input type="checkbox" name="confirm" value="yes" />
            <span>Yes, cancel my request.</span>
          </label>
          {result && "error" in result ? (
            <p className="error" role="alert">
              {result.error}
            </p>
          ) : null}
          <button type="submit" name="intent" value="cancel" className="secondary">
            Cancel request
          </button>
        </Form>
      ) : null}
    </section>
  );
}
