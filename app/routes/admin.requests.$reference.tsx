/**
 * One request for staff: what was asked, deadlines, masked identity (the full identity after a step-up, audited),
 * the actions staff may take in its state (assign, approve, deny, ask for more information, extend, legal hold,
 * note, close), the execution across the stores (per-store runs; retry a failed store, record a manual task as
 * done — ADR 020), the requester's answers, notes, the emails sent to the requester, the authorized agent, the
 * subject's other requests and the audit trail. Every role reads; admins and processors act (auditors get 403 on
 * every POST). While the execution runs the page refreshes itself (every few seconds with JavaScript; a "Refresh"
 * link without).
 */
import { getFormProps, getInputProps, getSelectProps, getTextareaProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useEffect, useRef } from "react";
import { Form, Link, useActionData, useLoaderData, useRevalidator, useSearchParams } from "@remix-run/react";
import { z } from "zod";
import { AuditEventCells } from "#app/components/audit-event.tsx";
import { DataTable } from "#app/components/data-table.tsx";
import { Field, FieldErrors } from "#app/components/field.tsx";
import { agentSummaryForStaff } from "#app/models/agents.server.ts";
import { listAnswers } from "#app/models/answers.server.ts";
import { listEvents } from "#app/models/audit.server.ts";
import { isCorrectionConfirmed } from "#app/models/corrections.server.ts";
import { getPackage } from "#app/models/packages.server.ts";
import { formatDueDate } from "#app/models/deadlines.ts";
import { DomainError } from "#app/models/errors.ts";
import { addNote, listNotes, MAX_NOTE_LENGTH } from "#app/models/notes.server.ts";
import { regimeLabels } from "#app/models/regions.ts";
import {
  approveRequest,
  assignRequest,
  availableActions,
  closeReasonCodes,
  closeReasons,
  closeRequest,
  denialReasonCodes,
  denialReasons,
  denyRequest,
  extendDeadline,
  legalHoldReason,
  liftLegalHold,
  listRequestEmails,
  MAX_TEXT_LENGTH,
  placeLegalHold,
  requestMoreInformation,
  revealIdentity,
  type Actor,
} from "#app/models/request-actions.server.ts";
import { requestTypeInfo } from "#app/models/request-types.ts";
import { decryptDetails, decryptIdentity, getRequestByReference, listSubjectHistory, maskEmail } from "#app/models/requests.server.ts";
import { listStaff } from "#app/models/staff.server.ts";
import { completeManualTask, LIVE_STATUSES, MAX_MANUAL_COUNT, retryStoreRun, storeRunViews } from "#app/models/store-tasks.server.ts";
import { getDb } from "#db/client.server.ts";
import { readForm } from "#app/utils/forms.server.ts";
import { requireStaff, requireStaffSession, requireStepUp, ROLES } from "#app/utils/session.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.reference ?? "Request"} — Privacy Center staff` }];

/** The same limit as the server's MAX_TEXT_LENGTH (kept here: the page's components do not import server code). */
const MAX_TEXT_LENGTH_CLIENT = 4000;
const emailKindLabels = { denial: "Denial", more_information: "Request for more information", extension_notice: "Extension notice" } as const;
const dateTime = (d: Date) => d.toISOString().replace("T", " ").slice(0, 16) + " UTC";

/** One request for staff: masked identity, what was asked, verification, the audit timeline, the subject's history. */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const wantsIdentity = url.searchParams.get("identity") === "full";
  // The full identity needs a fresh step-up (redirects there and back) and a role that acts on requests.
  const context = wantsIdentity ? await requireStepUp(request, { roles: ROLES.workers }) : await requireStaffSession(request);
  const staff = context.staff;
  const db = getDb();
  const row = await getRequestByReference(db, params.reference ?? "");
  if (!row) throw new Response("Not found", { status: 404 });
  const identity = decryptIdentity(row);
  const details = decryptDetails(row);
  const actor: Actor = { id: staff.id, role: staff.role };
  const fullIdentity = wantsIdentity ? await revealIdentity(db, { requestId: row.id, actor, sessionId: context.session.id }) : null;
  const [events, history, agent, notes, emails, allStaff, runs, answers] = await Promise.all([
    listEvents(db, row.id),
    listSubjectHistory(db, row),
    agentSummaryForStaff(db, row),
    listNotes(db, row.id),
    listRequestEmails(db, row.id),
    listStaff(db),
    storeRunViews(db, row, actor),
    listAnswers(db, row.id),
  ]);
  const pkg = await getPackage(db, row.id);
  const now = new Date();
  const actions = availableActions(row, actor, now, { correctionConfirmed: row.type === "correction" && (await isCorrectionConfirmed(db, row.id)) });
  const names = new Map(allStaff.map((s) => [s.id, s.name]));
  return json(
    {
      reference: row.reference,
      type: requestTypeInfo[row.type].label,
      regime: regimeLabels[row.regime],
      jurisdiction: row.jurisdiction,
      status: row.status.replaceAll("_", " "),
      submittedBy: row.submittedBy,
      maskedEmail: maskEmail(identity.email),
      hasName: Boolean(identity.name),
      fullIdentity: fullIdentity
        ? { email: fullIdentity.email, name: fullIdentity.name ?? null, dataPoints: Object.entries(fullIdentity.dataPoints ?? {}).map(([kind, value]) => ({ kind, value: String(value) })) }
        : null,
      received: formatDueDate(row.receivedAt),
      due: formatDueDate(row.dueAt),
      extendedDue: row.extendedDueAt ? formatDueDate(row.extendedDueAt) : null,
      extensionReason: row.extensionReason,
      acknowledgeBy: row.acknowledgeBy ? formatDueDate(row.acknowledgeBy) : null,
      outcome: row.outcomeReason
        ? (denialReasons[row.outcomeReason as keyof typeof denialReasons]?.label ?? closeReasons[row.outcomeReason as keyof typeof closeReasons] ?? row.outcomeReason)
        : null,
      assignee: row.assigneeId ? { id: row.assigneeId, name: names.get(row.assigneeId) ?? "a former staff member" } : null,
      legalHold: row.legalHoldSince
        ? { since: dateTime(row.legalHoldSince), by: row.legalHoldBy ? (names.get(row.legalHoldBy) ?? null) : null, reason: legalHoldReason(row) }
        : null,
      verification: { level: row.verificationLevel, required: row.requiredVerificationLevel, supplied: row.suppliedDataPoints, matched: row.matchedDataPoints },
      accessScope: row.accessScope,
      gpc: row.gpc,
      corrections: details.corrections ?? null,
      reason: details.reason ?? null,
      declaration: details.declaration ? { signedAt: details.declaration.signedAt } : null,
      agent,
      me: { id: staff.id, role: staff.role },
      actions: {
        ...actions,
        extend: actions.extend.available
          ? { available: true as const, newDue: formatDueDate(actions.extend.newDueAt), noticeBy: formatDueDate(actions.extend.noticeBy), length: actions.extend.length }
          : { available: false as const, message: actions.extend.message },
      },
      assignees: allStaff.filter((s) => !s.disabledAt && s.role !== "auditor").map((s) => ({ id: s.id, name: s.id === staff.id ? `${s.name} (me)` : s.name })),
      denialReasons: denialReasonCodes.map((code) => ({ code, label: denialReasons[code].label, text: denialReasons[code].text })),
      closeReasons: closeReasonCodes.map((code) => ({ code, label: closeReasons[code] })),
      notes: notes.map((n) => ({ id: n.id, body: n.body, author: n.authorName ?? "a former staff member", at: dateTime(n.createdAt) })),
      answers: answers.map((x) => ({ id: x.id, body: x.body, at: dateTime(x.createdAt) })),
      /** The requester answered the latest request for more information (shown at the top for the assignee). */
      newAnswer: (() => {
        const last = answers.at(-1);
        const asked = events.findLast((e) => e.action === "request.info_requested");
        return last && row.status === "in_review" && (!asked || last.createdAt.getTime() >= asked.createdAt.getTime()) ? dateTime(last.createdAt) : null;
      })(),
      isCorrection: row.type === "correction",
      /** The execution is under way: the page refreshes itself. */
      live: LIVE_STATUSES.includes(row.status),
      runs: runs.map((x) => ({ ...x, finishedAt: x.finishedAt ? dateTime(x.finishedAt) : null })),
      package:
        pkg && pkg.expiresAt.getTime() > now.getTime()
          ? { sizeKiB: Math.max(1, Math.round(pkg.sizeBytes / 1024)), expires: dateTime(pkg.expiresAt), downloads: pkg.downloadCount }
          : null,
      maxCount: MAX_MANUAL_COUNT,
      emails: emails.map((e) => ({ id: e.id, kind: emailKindLabels[e.kind], queued: dateTime(e.createdAt), sent: e.sentAt ? dateTime(e.sentAt) : null })),
      events: events.map((e) => ({ id: e.id, at: e.createdAt.toISOString(), actor: e.actorType, actorName: e.actorId ? (names.get(e.actorId) ?? null) : null, action: e.action, details: JSON.stringify(e.details) })),
      history: history
        .filter((h) => h.reference !== row.reference)
        .map((h) => ({ reference: h.reference, type: requestTypeInfo[h.type].label, status: h.status.replaceAll("_", " "), received: formatDueDate(h.receivedAt) })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

const intents = ["assign", "approve", "deny", "request-information", "extend", "place-hold", "lift-hold", "note", "close", "retry-store", "complete-task"] as const;
type Intent = (typeof intents)[number];

/** The action forms' schema (built on the server only: it names the server's reason codes). */
function actionSchema() {
  const text = (what: string, max = MAX_TEXT_LENGTH) =>
    z
      .string({ error: `Please write ${what}.` })
      .trim()
      .min(1, { error: `Please write ${what}.` })
      .max(max, { error: `At most ${max.toLocaleString("en")} characters.` });
  const count = (what: string) =>
    z
      .number({ error: `Enter the number of rows ${what} as a whole number (0 if none).` })
      .int({ error: `Enter the number of rows ${what} as a whole number (0 if none).` })
      .min(0, { error: "A count cannot be negative." })
      .max(MAX_MANUAL_COUNT, { error: `At most ${MAX_MANUAL_COUNT.toLocaleString("en")}.` })
      .optional();
  return z.discriminatedUnion("intent", [
    z.object({
      intent: z.literal("assign"),
      assigneeId: z
        .string({ error: "Choose who to assign the request to." })
        .refine((v) => v === "none" || z.uuid().safeParse(v).success, { error: "Choose who to assign the request to." }),
    }),
    z.object({ intent: z.literal("approve") }),
    z
      .object({
        intent: z.literal("deny"),
        reasonCode: z.enum(denialReasonCodes, { error: "Choose a reason from the list." }),
        explanation: z.string().trim().max(MAX_TEXT_LENGTH, { error: `At most ${MAX_TEXT_LENGTH.toLocaleString("en")} characters.` }).optional(),
      })
      .superRefine((v, ctx) => {
        if (v.reasonCode === "other" && !v.explanation) ctx.addIssue({ code: "custom", path: ["explanation"], message: "Explain the reason: the requester reads it." });
      }),
    z.object({ intent: z.literal("request-information"), message: text("what you need from the requester") }),
    z.object({ intent: z.literal("extend"), reason: text("why you need more time") }),
    z.object({ intent: z.literal("place-hold"), reason: text("the reason for the hold") }),
    z.object({ intent: z.literal("lift-hold") }),
    z.object({ intent: z.literal("note"), body: text("the note", MAX_NOTE_LENGTH) }),
    z.object({ intent: z.literal("close"), reasonCode: z.enum(closeReasonCodes, { error: "Choose why the request is closed." }) }),
    z.object({ intent: z.literal("retry-store"), storeId: z.uuid({ error: "Choose a store to retry." }) }),
    z.object({
      intent: z.literal("complete-task"),
      runId: z.uuid({ error: "Choose the task to complete." }),
      deleted: count("deleted"),
      masked: count("masked"),
      kept: count("kept"),
      rows: count("found"),
      notes: z.string().trim().max(MAX_NOTE_LENGTH, { error: `At most ${MAX_NOTE_LENGTH.toLocaleString("en")} characters.` }).optional(),
    }),
  ]);
}

export async function action({ request, params }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: ROLES.workers });
  const db = getDb();
  const row = await getRequestByReference(db, params.reference ?? "");
  if (!row) throw new Response("Not found", { status: 404 });
  const form = await readForm(request, ["intent", "assigneeId", "reasonCode", "explanation", "message", "reason", "body", "storeId", "runId", "deleted", "masked", "kept", "rows", "notes"]);
  const rawIntent = String(form.get("intent") ?? "");
  const intent: Intent | null = (intents as readonly string[]).includes(rawIntent) ? (rawIntent as Intent) : null;
  // Which run's form was sent (the page has one retry / task form per store run).
  const target = String(form.get("runId") ?? form.get("storeId") ?? "") || null;
  if (!intent) return json({ intent: null, target, result: null as SubmissionResult<string[]> | null, error: "Unknown action." }, { status: 400 });
  const submission = parseWithZod(form, { schema: actionSchema() });
  if (submission.status !== "success") return json({ intent, target, result: submission.reply(), error: null }, { status: 400 });
  const actor: Actor = { id: staff.id, role: staff.role };
  const requestId = row.id;
  const v = submission.value;
  try {
    switch (v.intent) {
      case "assign":
        await assignRequest(db, { requestId, actor, assigneeId: v.assigneeId === "none" ? null : v.assigneeId });
        break;
      case "approve":
        await approveRequest(db, { requestId, actor });
        break;
      case "deny":
        await denyRequest(db, { requestId, actor, reasonCode: v.reasonCode, explanation: v.explanation ?? null });
        break;
      case "request-information":
        await requestMoreInformation(db, { requestId, actor, message: v.message });
        break;
      case "extend":
        await extendDeadline(db, { requestId, actor, reason: v.reason });
        break;
      case "place-hold":
        await placeLegalHold(db, { requestId, actor, reason: v.reason });
        break;
      case "lift-hold":
        await liftLegalHold(db, { requestId, actor });
        break;
      case "note":
        await addNote(db, { requestId, actor, body: v.body });
        break;
      case "close":
        await closeRequest(db, { requestId, actor, reasonCode: v.reasonCode });
        break;
      case "retry-store":
        await retryStoreRun(db, { requestId, storeId: v.storeId, actor });
        break;
      case "complete-task":
        await completeManualTask(db, { requestId, runId: v.runId, actor, counts: { deleted: v.deleted, masked: v.masked, kept: v.kept, rows: v.rows }, notes: v.notes ?? null });
        break;
    }
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return json({ intent, target, result: submission.reply({ formErrors: [error.userMessage] }), error: null }, { status: error.status });
  }
  return redirect(`/admin/requests/${row.reference}?done=${intent}`);
}

const doneMessages: Record<Intent, string> = {
  assign: "Assignment saved.",
  approve: "Request approved.",
  deny: "Request denied. The denial email to the requester is on its way.",
  "request-information": "Asked the requester for more information. The email is on its way.",
  extend: "Deadline extended. The notice to the requester is on its way.",
  "place-hold": "Legal hold placed.",
  "lift-hold": "Legal hold lifted.",
  note: "Note added.",
  close: "Request closed.",
  "retry-store": "The store will be run again. This page shows its progress.",
  "complete-task": "Task recorded as done. The request completes once no other store is left.",
};

type ActionData = { intent: Intent | null; target?: string | null; result: SubmissionResult<string[]> | null; error: string | null };

/**
 * conform's state for the form of one intent (and, for the per-store forms, one run): the server's reply when it
 * was this form that was sent.
 */
function useIntentForm(intent: Intent, target?: string) {
  const data = useActionData<typeof action>() as ActionData | undefined;
  const mine = data?.intent === intent && (target === undefined || data.target === target);
  return useForm<Record<string, string>>({ id: target ? `form-${intent}-${target}` : `form-${intent}`, lastResult: mine ? data.result : undefined, shouldRevalidate: "onInput" });
}

function SimpleForm({ intent, label, secondary, hint }: { intent: Intent; label: string; secondary?: boolean; hint?: string }) {
  const [form] = useIntentForm(intent);
  return (
    <Form method="post" {...getFormProps(form)}>
      <input type="hidden" name="intent" value={intent} />
      {hint ? <p className="hint">{hint}</p> : null}
      <FieldErrors id={form.errorId} errors={form.errors} />
      <button type="submit" className={secondary ? "secondary" : undefined}>
        {label}
      </button>
    </Form>
  );
}

function TextForm({ intent, name, label, button, hint, max = MAX_TEXT_LENGTH_CLIENT }: { intent: Intent; name: string; label: string; button: string; hint?: string; max?: number }) {
  const [form, fields] = useIntentForm(intent);
  const field = fields[name]!;
  return (
    <Form method="post" {...getFormProps(form)}>
      <input type="hidden" name="intent" value={intent} />
      <FieldErrors id={form.errorId} errors={form.errors} />
      <Field label={label} hint={hint} meta={field}>
        <textarea {...getTextareaProps(field)} maxLength={max} required />
      </Field>
      <button type="submit">{button}</button>
    </Form>
  );
}

function AssignForm({ assignees, current, meId }: { assignees: { id: string; name: string }[]; current: string | null; meId: string }) {
  const [form, fields] = useIntentForm("assign");
  return (
    <Form method="post" {...getFormProps(form)}>
      <input type="hidden" name="intent" value="assign" />
      <FieldErrors id={form.errorId} errors={form.errors} />
      <Field label="Assign to" meta={fields.assigneeId!}>
        <select {...getSelectProps(fields.assigneeId!)} defaultValue={current ?? meId}>
          {assignees.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
          <option value="none">Nobody (unassign)</option>
        </select>
      </Field>
      <button type="submit">Save assignment</button>
    </Form>
  );
}

/** A required choice from a reason list (denial templates, close reasons), with its errors tied to it. */
function ReasonSelect({ label, meta, reasons }: { label: string; meta: Parameters<typeof getSelectProps>[0]; reasons: { code: string; label: string }[] }) {
  return (
    <Field label={label} htmlFor={meta.id} errorId={meta.errorId} errors={meta.errors}>
      <select {...getSelectProps(meta)} required defaultValue="">
        <option value="" disabled>
          Choose a reason…
        </option>
        {reasons.map((r) => (
          <option key={r.code} value={r.code}>
            {r.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

function DenyForm({ reasons }: { reasons: { code: string; label: string; text: string | null }[] }) {
  const [form, fields] = useIntentForm("deny");
  return (
    <Form method="post" {...getFormProps(form)}>
      <input type="hidden" name="intent" value="deny" />
      <FieldErrors id={form.errorId} errors={form.errors} />
      <ReasonSelect label="Reason" meta={fields.reasonCode!} reasons={reasons} />
      <details>
        <summary>What the requester reads for each reason</summary>
        <dl className="facts">
          {reasons
            .filter((r) => r.text)
            .map((r) => (
              <div key={r.code}>
                <dt>{r.label}</dt>
                <dd>{r.text}</dd>
              </div>
            ))}
        </dl>
      </details>
      <Field
        label="Explanation for the requester"
        hint="Added after the reason's standard text (required for “Other”). The requester reads it; so does the supervisory authority if they complain."
        meta={fields.explanation!}
      >
        <textarea {...getTextareaProps(fields.explanation!)} maxLength={MAX_TEXT_LENGTH_CLIENT} />
      </Field>
      <button type="submit">Deny request</button>
    </Form>
  );
}

function CloseForm({ reasons }: { reasons: { code: string; label: string }[] }) {
  const [form, fields] = useIntentForm("close");
  return (
    <Form method="post" {...getFormProps(form)}>
      <input type="hidden" name="intent" value="close" />
      <FieldErrors id={form.errorId} errors={form.errors} />
      <ReasonSelect label="Why close it" meta={fields.reasonCode!} reasons={reasons} />
      <button type="submit" className="secondary">
        Close request
      </button>
    </Form>
  );
}

type RunView = ReturnType<typeof useLoaderData<typeof loader>>["runs"][number];

const runStatusLabels: Record<RunView["status"], string> = {
  pending: "waiting to run",
  running: "running",
  waiting: "waiting for a person",
  completed: "done",
  failed: "failed",
};

const runWork: Record<string, string> = { access: "export", erasure: "erase", correction: "correct", opt_out: "opt out" };

function runCounts(run: RunView) {
  if (!run.counts) return "—";
  if ("rows" in run.counts) return `${run.counts.rows.toLocaleString("en")} row${run.counts.rows === 1 ? "" : "s"}${run.status === "completed" ? "" : " so far"}`;
  const c = run.counts;
  return `${c.deleted.toLocaleString("en")} deleted, ${c.masked.toLocaleString("en")} masked, ${c.kept.toLocaleString("en")} kept`;
}

function RetryForm({ run }: { run: RunView }) {
  const [form] = useIntentForm("retry-store", run.storeId);
  return (
    <Form method="post" {...getFormProps(form)}>
      <input type="hidden" name="intent" value="retry-store" />
      <input type="hidden" name="storeId" value={run.storeId} />
      <FieldErrors id={form.errorId} errors={form.errors} />
      <button type="submit" aria-describedby={`run-${run.runId}-title`}>
        {`Retry ${run.store}`}
      </button>
    </Form>
  );
}

function CountInput({ meta, label, max }: { meta: Parameters<typeof getInputProps>[0]; label: string; max: number }) {
  return (
    <Field label={label} meta={meta}>
      <input {...getInputProps(meta, { type: "number" })} min={0} max={max} step={1} inputMode="numeric" required />
    </Field>
  );
}

function TaskForm({ run, max }: { run: RunView; max: number }) {
  const [form, fields] = useIntentForm("complete-task", run.runId);
  return (
    <Form method="post" {...getFormProps(form)}>
      <input type="hidden" name="intent" value="complete-task" />
      <input type="hidden" name="runId" value={run.runId} />
      <FieldErrors id={form.errorId} errors={form.errors} />
      {run.action === "erasure" ? (
        <>
          <CountInput meta={fields.deleted!} label="Rows deleted" max={max} />
          <CountInput meta={fields.masked!} label="Rows masked (kept with personal data removed)" max={max} />
          <CountInput meta={fields.kept!} label="Rows kept (a legal basis requires them)" max={max} />
        </>
      ) : run.action === "access" ? (
        <CountInput meta={fields.rows!} label="Rows found and sent to the requester" max={max} />
      ) : null}
      <Field
        label="Notes (optional)"
        hint="Saved as an internal note on the request, encrypted. What was done, where, anything the next person should know."
        meta={fields.notes!}
      >
        <textarea {...getTextareaProps(fields.notes!)} maxLength={5000} />
      </Field>
      <button type="submit">{`Mark the task in ${run.store} as done`}</button>
    </Form>
  );
}

/** Revalidates the page's data every few seconds while `live` (and the tab is visible); nothing without JavaScript. */
function useLiveRefresh(live: boolean, everyMs = 3000) {
  const revalidator = useRevalidator();
  // The newest revalidator without restarting the timer on every render.
  const latest = useRef(revalidator);
  latest.current = revalidator;
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible" && latest.current.state === "idle") latest.current.revalidate();
    }, everyMs);
    return () => clearInterval(timer);
  }, [live, everyMs]);
}

function ExecutionCard({ reference, runs, live, status, max }: { reference: string; runs: RunView[]; live: boolean; status: string; max: number }) {
  const failed = runs.filter((x) => x.canRetry);
  const tasks = runs.filter((x) => x.status === "waiting");
  return (
    <div className="card" aria-labelledby="execution-title" data-testid="execution">
      <h2 id="execution-title">Processing across the stores</h2>
      <p aria-live="polite">
        {live ? "Processing: this page updates by itself every few seconds. " : ""}
        <Link to={`/admin/requests/${reference}`} reloadDocument>
          Refresh
        </Link>
      </p>
      {runs.length === 0 ? (
        <p>{status === "approved" ? "Approved; the stores will be processed shortly." : "No store was processed for this request."}</p>
      ) : (
        <DataTable
          caption="One row per connected store; errors name the problem without personal data."
          captionClassName="hint"
          columns={["Store", "Work", "Status", "Attempts", "Result"]}
          rows={runs}
          row={(x) => (
            <tr key={x.runId} data-testid={`run-${x.store}`}>
              <th scope="row">{x.store}</th>
              <td>{runWork[x.action] ?? x.action}</td>
              <td>{runStatusLabels[x.status]}</td>
              <td>{x.attempts}</td>
              <td>
                {x.error ? (
                  <>
                    <code>{x.error.code}</code>
                    {x.error.message ? ` — ${x.error.message}` : ""}
                  </>
                ) : (
                  runCounts(x)
                )}
                {x.finishedAt ? <span className="hint"> (finished {x.finishedAt})</span> : null}
              </td>
            </tr>
          )}
        />
      )}
      {failed.map((x) => (
        <section key={x.runId} aria-labelledby={`run-${x.runId}-title`}>
          <h3 id={`run-${x.runId}-title`}>{`Run ${x.store} again`}</h3>
          <p className="hint">
            {x.status === "failed" ? `It failed after ${x.attempts} attempt${x.attempts === 1 ? "" : "s"}.` : "It was left unfinished."} Fix the cause
            (the store is down, its credentials changed…), then retry: only this store runs again.
          </p>
          <RetryForm run={x} />
        </section>
      ))}
      {tasks.map((x) => (
        <section key={x.runId} aria-labelledby={`task-${x.runId}-title`}>
          <h3 id={`task-${x.runId}-title`}>
            {`Manual task: ${x.store} (${runWork[x.action] ?? x.action})`}
          </h3>
          {x.task ? (
            <dl className="facts">
              <dt>Instructions</dt>
              <dd>
                <pre>{x.task.instructions}</pre>
              </dd>
              {x.task.team ? (
                <>
                  <dt>Team</dt>
                  <dd>{x.task.team}</dd>
                </>
              ) : null}
            </dl>
          ) : null}
          {x.canComplete ? (
            <TaskForm run={x} max={max} />
          ) : (
            <p className="hint">{status === "processing" ? "Record the task once the other stores have finished." : "This task cannot be recorded in the request's current state."}</p>
          )}
        </section>
      ))}
    </div>
  );
}

export default function AdminRequest() {
  const r = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>() as ActionData | undefined;
  const [searchParams] = useSearchParams();
  const done = searchParams.get("done") as Intent | null;
  const a = r.actions;
  useLiveRefresh(r.live);
  return (
    <section aria-labelledby="title">
      <p>
        <Link to="/admin">← All requests</Link>
      </p>
      {done && doneMessages[done] ? (
        <p className="success" role="status" data-testid="done">
          {doneMessages[done]}
        </p>
      ) : null}
      {data?.error ? (
        <p className="error" role="alert">
          {data.error}
        </p>
      ) : null}
      {r.newAnswer ? (
        <p className="notice" data-testid="new-answer">
          The requester answered on {r.newAnswer}: <a href="#answers-title">read their answer</a>.
        </p>
      ) : null}
      <div className="card">
        <h1 id="title">
          {r.reference} — {r.type}
        </h1>
        <dl className="facts">
          <dt>Status</dt>
          <dd data-testid="status">{r.status}</dd>
          {r.outcome ? (
            <>
              <dt>Outcome</dt>
              <dd>{r.outcome}</dd>
            </>
          ) : null}
          <dt>Law</dt>
          <dd>
            {r.regime} ({r.jurisdiction})
          </dd>
          <dt>Subject</dt>
          <dd>
            {r.maskedEmail}
            {r.submittedBy === "agent" ? " (submitted by an authorized agent)" : ""}
          </dd>
          <dt>Assigned to</dt>
          <dd data-testid="assignee">{r.assignee ? r.assignee.name : "nobody"}</dd>
          <dt>Received</dt>
          <dd>{r.received}</dd>
          {r.acknowledgeBy ? (
            <>
              <dt>Acknowledge by</dt>
              <dd>{r.acknowledgeBy}</dd>
            </>
          ) : null}
          <dt>Due</dt>
          <dd data-testid="due">
            {r.extendedDue ? (
              <>
                <s>{r.due}</s> {r.extendedDue} (extended)
              </>
            ) : (
              r.due
            )}
          </dd>
          {r.extensionReason ? (
            <>
              <dt>Why extended</dt>
              <dd>{r.extensionReason}</dd>
            </>
          ) : null}
          {r.legalHold ? (
            <>
              <dt>Legal hold</dt>
              <dd data-testid="legal-hold">
                since {r.legalHold.since}
                {r.legalHold.by ? `, placed by ${r.legalHold.by}` : ""}: {r.legalHold.reason}. Nothing may erase or anonymize this request&apos;s data.
              </dd>
            </>
          ) : null}
          <dt>Verification</dt>
          <dd>
            level {r.verification.level} of {r.verification.required} required
            {r.verification.supplied.length > 0 ? `; data points supplied: ${r.verification.supplied.join(", ")}` : ""}
            {r.verification.matched.length > 0 ? `; matched: ${r.verification.matched.join(", ")}` : ""}
          </dd>
          {r.accessScope ? (
            <>
              <dt>Access scope</dt>
              <dd>
                {r.accessScope === "specific" ? "specific pieces" : "categories"}
                {r.declaration ? ` — declaration signed ${new Date(r.declaration.signedAt).toUTCString()}` : ""}
              </dd>
            </>
          ) : null}
          {r.gpc ? (
            <>
              <dt>Global Privacy Control</dt>
              <dd>signal received with the request</dd>
            </>
          ) : null}
        </dl>
        {r.corrections ? (
          <>
            <h2>Correction asked</h2>
            <h3>What is wrong</h3>
            <pre>{r.corrections.incorrect}</pre>
            <h3>What it should say</h3>
            <pre>{r.corrections.correct}</pre>
          </>
        ) : null}
        {r.isCorrection && a.canAct ? (
          <p>
            <Link to={`/admin/requests/${r.reference}/correction`}>Confirm the correction&apos;s new values</Link>
          </p>
        ) : null}
        {r.reason ? (
          <>
            <h2>Reason given</h2>
            <pre>{r.reason}</pre>
          </>
        ) : null}
      </div>

      <div className="card" aria-labelledby="identity-title">
        <h2 id="identity-title">Identity</h2>
        {r.fullIdentity ? (
          <>
            <dl className="facts" data-testid="full-identity">
              <dt>Email</dt>
              <dd>{r.fullIdentity.email}</dd>
              <dt>Name</dt>
              <dd>{r.fullIdentity.name ?? "not given"}</dd>
              {r.fullIdentity.dataPoints.map((d) => (
                <div key={d.kind}>
                  <dt>{d.kind.replaceAll("_", " ")}</dt>
                  <dd>{d.value}</dd>
                </div>
              ))}
            </dl>
            <p className="hint">This view was recorded in the audit trail.</p>
            <p>
              <Link to={`/admin/requests/${r.reference}`}>Hide the identity</Link>
            </p>
          </>
        ) : (
          <>
            <p>
              {r.maskedEmail}
              {r.hasName ? " · a name was given" : ""}
            </p>
            {r.actions.canAct ? (
              <p>
                <Link to={`/admin/requests/${r.reference}?identity=full`}>Show full identity</Link>
                <span className="hint"> — asks for a fresh authenticator code; every view is recorded in the audit trail.</span>
              </p>
            ) : null}
          </>
        )}
      </div>

      {a.canAct ? (
        <div className="card" aria-labelledby="actions-title">
          <h2 id="actions-title">Actions</h2>
          {a.assign ? (
            <section aria-labelledby="assign-title">
              <h3 id="assign-title">Assignment</h3>
              <AssignForm assignees={r.assignees} current={r.assignee?.id ?? null} meId={r.me.id} />
            </section>
          ) : null}
          {a.approve.allowed || a.approve.blockedBy ? (
            <section aria-labelledby="approve-title">
              <h3 id="approve-title">Approve</h3>
              {a.approve.allowed ? (
                <SimpleForm intent="approve" label="Approve request" hint="The request then goes to processing across the connected stores." />
              ) : (
                <p className="hint">Cannot be approved yet: {a.approve.blockedBy}</p>
              )}
            </section>
          ) : null}
          {a.deny ? (
            <section aria-labelledby="deny-title">
              <h3 id="deny-title">Deny</h3>
              <DenyForm reasons={r.denialReasons} />
            </section>
          ) : null}
          {a.requestInformation ? (
            <section aria-labelledby="info-title">
              <h3 id="info-title">Ask the requester for more information</h3>
              <TextForm
                intent="request-information"
                name="message"
                label="What do you need?"
                hint="Sent to the requester by email, with their status link. The request waits until they answer."
                button="Ask for more information"
              />
            </section>
          ) : null}
          <section aria-labelledby="extend-title">
            <h3 id="extend-title">Extend the deadline</h3>
            {a.extend.available ? (
              <TextForm
                intent="extend"
                name="reason"
                label="Why do you need more time?"
                hint={`The law allows one extension of ${a.extend.length}: the new due date is ${a.extend.newDue}. The requester must be told by ${a.extend.noticeBy}; they read this reason in the notice and on their status page.`}
                button="Extend deadline"
              />
            ) : (
              <p className="hint">{a.extend.message}</p>
            )}
          </section>
          <section aria-labelledby="hold-title">
            <h3 id="hold-title">Legal hold</h3>
            {a.placeHold ? (
              <TextForm intent="place-hold" name="reason" label="Reason for the hold" hint="While the hold lasts, nothing may erase or anonymize this request's data. The reason is stored encrypted." button="Place legal hold" />
            ) : a.liftHold ? (
              <SimpleForm intent="lift-hold" label="Lift legal hold" secondary />
            ) : (
              <p className="hint">Only an admin can lift the hold.</p>
            )}
          </section>
          {a.close ? (
            <section aria-labelledby="close-title">
              <h3 id="close-title">Close without a decision</h3>
              <CloseForm reasons={r.closeReasons} />
            </section>
          ) : null}
        </div>
      ) : null}

      {r.runs.length > 0 || r.live || r.status === "action required" ? (
        <ExecutionCard reference={r.reference} runs={r.runs} live={r.live} status={r.status.replaceAll(" ", "_")} max={r.maxCount} />
      ) : null}

      {r.package ? (
        <div className="card" aria-labelledby="package-title">
          <h2 id="package-title">Data package</h2>
          <p>
            Encrypted zip of {r.package.sizeKiB} KiB, available until {r.package.expires}; downloaded {r.package.downloads} time
            {r.package.downloads === 1 ? "" : "s"} (every download is in the audit trail).
          </p>
          {r.me.role !== "auditor" ? (
            <p>
              <a href={`/admin/requests/${r.reference}/package`}>
                Download the package
              </a>{" "}
              <span className="hint">(asks for your authenticator code if you have not given it in the last 10 minutes)</span>
            </p>
          ) : null}
        </div>
      ) : null}

      {r.answers.length > 0 ? (
        <div className="card" aria-labelledby="answers-title">
          <h2 id="answers-title">The requester&apos;s answers</h2>
          <ol className="timeline" aria-label="Answers, oldest first" data-testid="answers">
            {r.answers.map((x) => (
              <li key={x.id}>
                <p className="hint">Sent from the status page, {x.at}</p>
                <pre>{x.body}</pre>
              </li>
            ))}
          </ol>
        </div>
      ) : null}

      <div className="card" aria-labelledby="notes-title">
        <h2 id="notes-title">Internal notes</h2>
        {r.notes.length === 0 ? (
          <p>No notes yet.</p>
        ) : (
          <ol className="timeline" aria-label="Notes, oldest first">
            {r.notes.map((n) => (
              <li key={n.id}>
                <p className="hint">
                  {n.author}, {n.at}
                </p>
                <pre>{n.body}</pre>
              </li>
            ))}
          </ol>
        )}
        {a.note ? <TextForm intent="note" name="body" label="Add a note" hint="Only staff see notes. Stored encrypted." button="Add note" max={5000} /> : null}
      </div>

      {r.emails.length > 0 ? (
        <div className="card" aria-labelledby="emails-title">
          <h2 id="emails-title">Emails to the requester</h2>
          <DataTable
            columns={["Email", "Queued", "Sent"]}
            rows={r.emails}
            row={(e) => (
              <tr key={e.id}>
                <td>{e.kind}</td>
                <td>{e.queued}</td>
                <td>{e.sent ?? "not yet"}</td>
              </tr>
            )}
          />
        </div>
      ) : null}

      {r.agent ? (
        <div className="card" aria-labelledby="agent-title">
          <h2 id="agent-title">Authorized agent</h2>
          <dl className="facts">
            <dt>Agent</dt>
            <dd>
              {r.agent.name}
              {r.agent.organisation ? ` (${r.agent.organisation})` : ""}
            </dd>
            <dt>Agent email</dt>
            <dd>{r.agent.maskedEmail}</dd>
            <dt>Consumer confirmed</dt>
            <dd>{r.agent.confirmedAt ? new Date(r.agent.confirmedAt).toUTCString() : "not yet — waiting for the consumer"}</dd>
            <dt>Signed permission</dt>
            <dd>
              {r.agent.documents.length === 0
                ? "none"
                : r.agent.documents.map((d) => (
                    <a key={d.id} href={`/admin/requests/${r.reference}/documents/${d.id}`} download>
                      Download ({d.contentType}, {Math.max(1, Math.round(d.sizeBytes / 1024)).toLocaleString("en")} KB)
                    </a>
                  ))}
            </dd>
          </dl>
          <p className="hint">Every download is recorded in the audit trail.</p>
        </div>
      ) : null}

      <div className="card">
        <h2>Other requests from this subject</h2>
        {r.history.length === 0 ? (
          <p>None.</p>
        ) : (
          <DataTable
            columns={["Reference", "Type", "Status", "Received"]}
            rows={r.history}
            row={(h) => (
              <tr key={h.reference}>
                <td>
                  <Link to={`/admin/requests/${h.reference}`}>{h.reference}</Link>
                </td>
                <td>{h.type}</td>
                <td>{h.status}</td>
                <td>{h.received}</td>
              </tr>
            )}
          />
        )}
      </div>

      <div className="card">
        <h2>Audit trail</h2>
        <DataTable
          columns={["When (UTC)", "Actor", "Action", "Details"]}
          rows={r.events}
          row={(e) => (
            <tr key={e.id}>
              <td>{e.at.replace("T", " ").slice(0, 19)}</td>
              <AuditEventCells actor={e.actor} actorName={e.actorName} action={e.action} details={e.details} />
            </tr>
          )}
        />
      </div>
    </section>
  );
}
