/**
 * The stores console's data-map editor (used by /admin/stores/new and /admin/stores/:name): a textarea with line
 * numbers beside it, the map's errors listed next to it with their line (a link that puts the caret on that line) and
 * announced, and write-only fields for new secrets. Works without JavaScript (the numbers are those of the text the
 * server sent); with it, the numbers follow the typing and scrolling.
 */
import { getFormProps, getInputProps, useForm, type SubmissionResult } from "@conform-to/react";
import { Form } from "@remix-run/react";
import { useEffect, useMemo, useRef, useState, type MouseEvent } from "react";
import { Field, FieldErrors } from "./field.tsx";

export type MapError = { path: string; message: string; line: number; column: number };
export type SecretFieldView = { name: string; label: string; hint: string };

const lineCount = (text: string) => text.split("\n").length;

/** The offset of line/column (1-based) in `text`, and the end of that line. */
function offsetOf(text: string, line: number, column: number): [number, number] {
  let start = 0;
  for (let i = 1; i < line; i++) {
    const next = text.indexOf("\n", start);
    if (next < 0) break;
    start = next + 1;
  }
  const end = text.indexOf("\n", start);
  const lineEnd = end < 0 ? text.length : end;
  return [Math.min(start + column - 1, lineEnd), lineEnd];
}

/** The map text with its line numbers; read-only for staff who may not edit (and for admins before a step-up). */
export function MapText({ text, errors = [], readOnly = false, label, hint }: { text: string; errors?: MapError[]; readOnly?: boolean; label: string; hint?: string }) {
  const [lines, setLines] = useState(() => lineCount(text));
  const gutter = useRef<HTMLPreElement>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const [ready, setReady] = useState(false);
  const errorLines = useMemo(() => new Set(errors.map((e) => e.line)), [errors]);
  // Once hydrated: count what is in the textarea now (typing may have started before the script ran).
  useEffect(() => {
    if (area.current) setLines(lineCount(area.current.value));
    setReady(true);
  }, []);
  const hasErrors = errors.length > 0;

  const goTo = (e: MouseEvent<HTMLAnchorElement>, error: MapError) => {
    const textarea = area.current;
    if (!textarea) return;
    e.preventDefault();
    const [start, end] = offsetOf(textarea.value, error.line, error.column);
    textarea.focus();
    textarea.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (error.line - 3) * lineHeight);
    if (gutter.current) gutter.current.scrollTop = textarea.scrollTop;
  };

  return (
    <div className="map-field">
      <label htmlFor="map-text">{label}</label>
      {hint ? (
        <p className="hint" id="map-text-hint">
          {hint}
        </p>
      ) : null}
      <div id="map-errors" role={hasErrors ? "alert" : undefined} aria-live="assertive">
        {hasErrors ? (
          <div className="map-errors">
            <p className="error">
              {errors.length === 1 ? "The map has 1 problem" : `The map has ${errors.length} problems`} (nothing was saved):
            </p>
            <ol>
              {errors.map((e, i) => (
                <li key={`${e.line}:${e.column}:${i}`}>
                  <a href="#map-text" onClick={(ev) => goTo(ev, e)} data-line={e.line}>
                    Line {e.line}, column {e.column}
                  </a>
                  {": "}
                  {e.path ? <code>{e.path}</code> : null}
                  {e.path ? " — " : null}
                  {e.message}
                </li>
              ))}
            </ol>
          </div>
        ) : null}
      </div>
      <div className="map-editor" data-ready={ready || undefined}>
        <pre className="map-gutter" aria-hidden="true" ref={gutter}>
          {Array.from({ length: lines }, (_, i) => (
            <span key={i} className={errorLines.has(i + 1) ? "map-gutter-error" : undefined}>
              {i + 1}
              {"\n"}
            </span>
          ))}
        </pre>
        <textarea
          id="map-text"
          name="text"
          ref={area}
          className="map-text"
          defaultValue={text}
          readOnly={readOnly}
          wrap="off"
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          rows={Math.min(40, Math.max(14, lineCount(text) + 1))}
          aria-invalid={hasErrors || undefined}
          aria-describedby={[hint ? "map-text-hint" : "", hasErrors ? "map-errors" : ""].filter(Boolean).join(" ") || undefined}
          onInput={(e) => setLines(lineCount(e.currentTarget.value))}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
        />
      </div>
    </div>
  );
}

export type StoreMapFormData = {
  result?: SubmissionResult<string[]>;
  text?: string;
  errors?: MapError[];
  removedSecrets?: string[];
  stepUp?: string;
};

/** The editor form: map text, write-only secret fields, save. `data` is the action's answer after a failed save. */
export function StoreMapForm({
  text,
  data,
  secretFields,
  submitLabel,
  stepUpHref,
}: {
  text: string;
  data?: StoreMapFormData;
  secretFields: SecretFieldView[];
  submitLabel: string;
  stepUpHref: string;
}) {
  const [form, fields] = useForm<Record<string, string>>({ id: "store-map", lastResult: data?.result, shouldValidate: "onSubmit" });
  const shown = data?.text ?? text;
  return (
    <Form method="post" {...getFormProps(form)}>
      <input type="hidden" name="intent" value="save" />
      {data?.stepUp ? (
        <p className="error" role="alert">
          {data.stepUp}{" "}
          <a href={stepUpHref} target="_blank" rel="noopener">
            Confirm it is you (opens in a new tab)
          </a>
          , then save again.
        </p>
      ) : null}
      <FieldErrors id={form.errorId} errors={form.errors} />
      {data?.removedSecrets && data.removedSecrets.length > 0 ? (
        <p className="notice" role="status">
          Secrets are never shown back: the value of {data.removedSecrets.filter((p) => p !== "unparsed").join(", ") || "a secret"} was replaced by{" "}
          <code>stored</code> in the text below. Type it again in the “new secret” fields (or use <code>env:NAME</code>).
        </p>
      ) : null}
      {/* A new key forces the textarea to take the text the server sent back (defaultValue is read once). */}
      <MapText
        key={shown}
        text={shown}
        errors={data?.errors}
        label="Data map (YAML or JSON)"
        hint="The format is described in docs/data-map.md. Write stored where the portal keeps a secret, or env:NAME to read it from the environment."
      />
      <fieldset>
        <legend>Secrets (write-only)</legend>
        <p className="hint">Leave a field empty to keep what is stored. A value typed here is stored encrypted and never shown again.</p>
        {secretFields.map((s) => {
          const field = fields[s.name]!;
          return (
            <Field key={s.name} label={s.label} hint={s.hint} meta={field}>
              <input
                {...getInputProps(field, { type: "password" })}
                defaultValue=""
                autoComplete="new-password"
                aria-describedby={[`${field.id}-hint`, field.errors ? field.errorId : ""].filter(Boolean).join(" ")}
              />
            </Field>
          );
        })}
      </fieldset>
      <button type="submit">{submitLabel}</button>
    </Form>
  );
}
