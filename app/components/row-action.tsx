/**
 * A table row's one action: the visually quiet "Action" column heading, and the one-button form in the row that
 * posts the action's `intent` and the row's id.
 */
import { Form } from "@remix-run/react";

export function ActionHeading() {
  return <span className="hint">Action</span>;
}

export function RowActionForm({ intent, name, value, label }: { intent: string; name: string; value: string; label: string }) {
  return (
    <Form method="post">
      <input type="hidden" name="intent" value={intent} />
      <input type="hidden" name={name} value={value} />
      <button type="submit" className="secondary">
        {label}
      </button>
    </Form>
  );
}
