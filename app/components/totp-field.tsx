/** The field for a 6-digit code from an authenticator app (sign-in, enrolment, step-up): numeric keypad, one-time-code autofill. */
import { Field } from "#app/components/field.tsx";

export function TotpCodeField({ label, error }: { label: string; error?: string }) {
  return (
    <Field label={label} htmlFor="code" errorId="code-error" errors={error ? [error] : undefined}>
      <input
        id="code"
        name="code"
        type="text"
        className="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9 ]{6,7}"
        maxLength={7}
        required
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "code-error" : undefined}
      />
    </Field>
  );
}
