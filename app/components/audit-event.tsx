/** The cells of one audit event after its time: actor (with its name), action and details (the audit log and a request's audit trail). */
export function AuditEventCells({ actor, actorName, action, details }: { actor: string; actorName: string | null | undefined; action: string; details: string }) {
  return (
    <>
      <td>
        {actor}
        {actorName ? ` (${actorName})` : ""}
      </td>
      <td>{action}</td>
      <td>
        <code>{details}</code>
      </td>
    </>
  );
}
