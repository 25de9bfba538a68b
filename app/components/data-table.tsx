/**
 * The staff console's tables: one header row of column headings (`scope="col"`), the body rows the page draws, an
 * optional caption (with `summaryId`, the table is also described by it), an optional row spanning every column when
 * there are no rows, and an optional footer.
 */
import type { ReactNode } from "react";

type DataTableProps<T> = {
  columns: readonly ReactNode[];
  rows: readonly T[];
  /** One `<tr>` (with its key) for a row. */
  row: (row: T) => ReactNode;
  id?: string;
  caption?: ReactNode;
  captionClassName?: string;
  /** The caption's id; the table is described by it (aria-describedby). */
  summaryId?: string;
  /** Shown in one cell across every column when there are no rows. */
  empty?: ReactNode;
  foot?: ReactNode;
};

export function DataTable<T>({ columns, rows, row, id, caption, captionClassName, summaryId, empty, foot }: DataTableProps<T>) {
  return (
    <table id={id} aria-describedby={summaryId}>
      {caption !== undefined ? (
        <caption id={summaryId} className={captionClassName}>
          {caption}
        </caption>
      ) : null}
      <thead>
        <tr>
          {columns.map((column, i) => (
            <th key={i} scope="col">
              {column}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && empty !== undefined ? (
          <tr>
            <td colSpan={columns.length}>{empty}</td>
          </tr>
        ) : (
          rows.map(row)
        )}
      </tbody>
      {foot !== undefined ? <tfoot>{foot}</tfoot> : null}
    </table>
  );
}
