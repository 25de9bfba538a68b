/** A labelled form control whose errors are announced and tied to it (aria-invalid + aria-describedby). */
import { getInputProps, getTextareaProps, type FieldMetadata } from "@conform-to/react";
import type { ReactNode } from "react";

export function FieldErrors({ id, errors }: { id: string; errors?: string[] }) {
  return (
    <div id={id} aria-live="polite">
      {errors?.map((e) => (
        <p key={e} className="error">
          {e}
        </p>
      ))}
    </div>
  );
}

/** What a conform field's metadata gives a Field: the control's id, its errors and their element's id. */
export type FieldMeta = { id: string; errorId: string; errors?: string[] };

type FieldProps = {
  label: string;
  hint?: string;
  children: ReactNode;
} & (
  /** The ids and errors from a conform field (the hint's id is `<id>-hint`)… */
  | { meta: FieldMeta }
  /** …or given one by one. */
  | { htmlFor: string; errorId: string; errors?: string[]; hintId?: string }
);

export function Field(props: FieldProps) {
  const { label, hint, children } = props;
  const { htmlFor, errorId, errors, hintId } =
    "meta" in props ? { htmlFor: props.meta.id, errorId: props.meta.errorId, errors: props.meta.errors, hintId: `${props.meta.id}-hint` } : props;
  return (
    <div>
      <label htmlFor={htmlFor}>{label}</label>
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {children}
      <FieldErrors id={errorId} errors={errors} />
    </div>
  );
}

/** A labelled one-line text input for a conform field (the requester's forms). */
export function TextField({
  meta,
  label,
  hint,
  type = "text",
  autoComplete,
}: {
  meta: FieldMetadata<string | undefined>;
  label: string;
  hint?: string;
  type?: "text" | "email" | "tel";
  autoComplete?: string;
}) {
  return (
    <Field label={label} meta={meta} hint={hint}>
      <input {...getInputProps(meta, { type })} autoComplete={autoComplete} />
    </Field>
  );
}

/** A labelled text area of at most 2,000 characters for a conform field (the requester's forms). */
export function TextArea({ meta, label, hint }: { meta: FieldMetadata<string | undefined>; label: string; hint?: string }) {
  return (
    <Field label={label} meta={meta} hint={hint}>
      <textarea {...getTextareaProps(meta)} maxLength={2000} />
    </Field>
  );
}

/** A field bots fill in and people never see; a submission with it set is dropped (without telling the bot). */
export function Honeypot() {
  return (
    <div className="hp" aria-hidden="true">
      <label htmlFor="website">Leave this field empty</label>
      <input id="website" name="website" type="text" tabIndex={-1} autoComplete="off" />
    </div>
  );
}
