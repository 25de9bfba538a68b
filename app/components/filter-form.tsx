/**
 * The staff console's GET filter forms (queue, audit log, dashboard period): the form with its heading, the list of the
 * filters that could not be used, its submit button (and a link that clears the filters), and each field's message
 * tied to its control (aria-invalid + aria-describedby `<name>-error`).
 */
import { Form, Link } from "@remix-run/react";
import type { InputHTMLAttributes, ReactNode } from "react";

export type FilterError = { field: string; message: string };

/**
 * `described(name)` for a control's props and `fieldError(name)` for the message after it. `show: "all"` joins every
 * message of a field; `"first"` shows the first one.
 */
export function filterFieldErrors(errors: readonly FilterError[], show: "first" | "all" = "first") {
  const messageFor = (field: string) => {
    const messages = errors.filter((e) => e.field === field).map((e) => e.message);
    return show === "all" ? messages.join(" ") : messages[0];
  };
  const described = (field: string) => (messageFor(field) ? { "aria-invalid": true, "aria-describedby": `${field}-error` } : {});
  const fieldError = (field: string) => {
    const message = messageFor(field);
    return message ? (
      <p id={`${field}-error`} className="error">
        {message}
      </p>
    ) : null;
  };
  return { described, fieldError };
}

export type FilterFields = ReturnType<typeof filterFieldErrors>;

/** The filters that could not be used, announced (role="alert"); nothing when there are none. */
export function FilterErrors({ errors, title, testId }: { errors: readonly FilterError[]; title: string; testId?: string }) {
  if (errors.length === 0) return null;
  return (
    <div role="alert" className="error" data-testid={testId}>
      <p>{title}</p>
      <ul>
        {errors.map((e) => (
          <li key={`${e.field}:${e.message}`}>{e.message}</li>
        ))}
      </ul>
    </div>
  );
}

type Choice = { value: string; label: string };

/** A labelled select named `name` (its id too), with an optional first choice for "any" (value ""), and its message. */
export function FilterSelect({ name, label, any, options, defaultValue, fields }: { name: string; label: string; any?: string; options: readonly Choice[]; defaultValue: string; fields: FilterFields }) {
  return (
    <>
      <label htmlFor={name}>{label}</label>
      <select id={name} name={name} defaultValue={defaultValue} {...fields.described(name)}>
        {any !== undefined ? <option value="">{any}</option> : null}
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {fields.fieldError(name)}
    </>
  );
}

/** A labelled input named `name` (its id too), with an optional hint (`<name>-hint`), and its message. */
export function FilterInput({ name, label, hint, fields, ...input }: { name: string; label: string; hint?: string; fields: FilterFields } & Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "name">) {
  return (
    <>
      <label htmlFor={name}>{label}</label>
      {hint !== undefined ? (
        <p className="hint" id={`${name}-hint`}>
          {hint}
        </p>
      ) : null}
      <input id={name} name={name} {...input} {...(hint !== undefined ? { "aria-describedby": `${name}-hint` } : {})} {...fields.described(name)} />
      {fields.fieldError(name)}
    </>
  );
}

type FilterFormProps = {
  /** The heading's id, which names the form. */
  titleId: string;
  title: string;
  /** Shown between the heading and the errors. */
  intro?: ReactNode;
  errors: readonly FilterError[];
  errorsTitle: string;
  errorsTestId?: string;
  submit: string;
  /** Where "Clear filters" goes (the page without parameters). */
  clear?: string;
  children: ReactNode;
};

/** A GET form (works without JavaScript): heading, errors, the fields given, the submit button and "Clear filters". */
export function FilterForm({ titleId, title, intro, errors, errorsTitle, errorsTestId, submit, clear, children }: FilterFormProps) {
  return (
    <Form method="get" aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      {intro}
      <FilterErrors errors={errors} title={errorsTitle} testId={errorsTestId} />
      {children}
      <button type="submit">{submit}</button>
      {clear !== undefined ? (
        <>
          {" "}
          <Link to={clear}>Clear filters</Link>
        </>
      ) : null}
    </Form>
  );
}
