/** Freshly made MFA recovery codes, shown once (after enrolment and when a staff member makes new ones). */
export function RecoveryCodeList({ codes }: { codes: readonly string[] }) {
  return (
    <ul className="recovery-codes" aria-label="Recovery codes">
      {codes.map((c) => (
        <li key={c}>
          <code>{c}</code>
        </li>
      ))}
    </ul>
  );
}
