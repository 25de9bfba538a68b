/**
 * Choosing a password: the password (with the length rule as its hint) and the same again. The confirmation is
 * always `confirmPassword` (errors in `confirm-error`); the password's name, label and ids are the form's own.
 */
import { Field } from "#app/components/field.tsx";
import { MIN_PASSWORD_LENGTH } from "#app/models/passwords.ts";

type NewPasswordFieldsProps = {
  /** The password input's id and name ("newPassword", "password"). */
  name: string;
  /** Prefix of its hint's and error's ids: `<idPrefix>-hint`, `<idPrefix>-error`. */
  idPrefix: string;
  label: string;
  confirmLabel: string;
  passwordError?: string;
  confirmError?: string;
};

export function NewPasswordFields({ name, idPrefix, label, confirmLabel, passwordError, confirmError }: NewPasswordFieldsProps) {
  const hintId = `${idPrefix}-hint`;
  const errorId = `${idPrefix}-error`;
  return (
    <>
      <Field
        label={label}
        hint={`At least ${MIN_PASSWORD_LENGTH} characters; a few unrelated words work well. Common passwords are refused.`}
        hintId={hintId}
        htmlFor={name}
        errorId={errorId}
        errors={passwordError ? [passwordError] : undefined}
      >
        <input id={name} name={name} type="password" autoComplete="new-password" minLength={MIN_PASSWORD_LENGTH} required aria-describedby={`${hintId} ${errorId}`} />
      </Field>
      <Field label={confirmLabel} htmlFor="confirmPassword" errorId="confirm-error" errors={confirmError ? [confirmError] : undefined}>
        <input id="confirmPassword" name="confirmPassword" type="password" autoComplete="new-password" required />
      </Field>
    </>
  );
}
