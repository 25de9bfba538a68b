/** A labelled form control whose errors are announced and tied to it (aria-invalid + aria-describedby). */
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

type FieldProps = {
  label: string;
  hint?: string;
  errors?: string[];
  errorId: string;
  hintId?: string;
  children: ReactNode;
  htmlFor: string;
};

export function Field({ label, hint, errors, errorId, hintId, children, htmlFor }: FieldProps) {
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

/** A field bots fill in and people never see; a submission with it set is dropped (without telling the bot). */
export function Honeypot() {
  return (
    <div className="hp" aria-hidden="true">
      <label htmlFor="website">Leave this field empty</label>
      <input id="website" name="website" type="text" tabIndex={-1} autoComplete="off" />
    </div>
  );
}
