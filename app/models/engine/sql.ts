/**
 * What the engine needs from a SQL database, implemented by the postgres and mysql connectors: a session on one
 * connection (the engine issues BEGIN/COMMIT itself), a dialect (quoting, placeholders, locks) and a catalog
 * (columns, indexes, foreign keys) to check a map against.
 */
export type Row = Record<string, unknown>;

export interface SqlSession {
  query(text: string, params: unknown[]): Promise<Row[]>;
  /** Rows of a query, fetched in batches (a cursor), so a large collection never sits in memory whole. */
  stream(text: string, params: unknown[]): AsyncIterable<Row>;
  /** Runs a statement and returns the number of rows it affected. */
  execute(text: string, params: unknown[]): Promise<number>;
  release(): Promise<void>;
}

export type TxMode = "read" | "write";

export interface SqlDialect {
  name: "postgres" | "mysql";
  ident(name: string): string;
  /** A table name, optionally schema-qualified (`schema.table`), quoted. */
  table(name: string): string;
  /** Appends `value` to params and returns its placeholder. */
  param(params: unknown[], value: unknown): string;
  /** `expr IN (values)`, appending to params. */
  inList(expr: string, values: unknown[], params: unknown[]): string;
  lower(expr: string): string;
  begin(mode: TxMode): string;
  lockForUpdate: string;
  lockForShare: string;
  /** The statement that creates a plain (or lower()) index on one column. */
  createIndex(table: string, column: string, lower: boolean): string;
}

export type ForeignKeyInfo = { table: string; columns: string[]; onDelete: "cascade" | "set null" | "set default" | "restrict" | "no action" };

export type TableCatalog = {
  exists: boolean;
  /** The table's canonical name as the catalog prints it (to compare tables). */
  canonical?: string;
  columns: string[];
  /** Columns that lead a (non-partial) index. */
  indexed: Set<string>;
  /** Columns with an index on lower(column). */
  lowerIndexed: Set<string>;
  /** Foreign keys of other tables that reference this one. */
  referencedBy: ForeignKeyInfo[];
};

export interface SqlDriver {
  dialect: SqlDialect;
  session(): Promise<SqlSession>;
  ping(): Promise<{ server: string }>;
  catalog(tables: string[]): Promise<Map<string, TableCatalog>>;
  close(): Promise<void>;
}

const quote = (q: string) => (name: string) => `${q}${name.replaceAll(q, q + q)}${q}`;

const pgIdent = quote('"');
export const postgresDialect: SqlDialect = {
  name: "postgres",
  ident: pgIdent,
  table: (name) => name.split(".").map(pgIdent).join("."),
  param(params, value) {
    params.push(value);
    return `$${params.length}`;
  },
  inList(expr, values, params) {
    params.push(values);
    return `${expr} = any($${params.length})`;
  },
  lower: (expr) => `lower(${expr})`,
  begin: (mode) => (mode === "read" ? "begin isolation level repeatable read read only" : "begin"),
  lockForUpdate: " for update",
  lockForShare: " for share",
  createIndex(table, column, lower) {
    const bare = table.split(".").pop()!;
    const name = `${bare}_${column}${lower ? "_lower" : ""}_idx`.slice(0, 63);
    return `CREATE INDEX CONCURRENTLY ${pgIdent(name)} ON ${postgresDialect.table(table)} (${lower ? `lower(${pgIdent(column)})` : pgIdent(column)});`;
  },
};

const myIdent = quote("`");
export const mysqlDialect: SqlDialect = {
  name: "mysql",
  ident: myIdent,
  table: (name) => name.split(".").map(myIdent).join("."),
  param(params, value) {
    params.push(value);
    return "?";
  },
  inList(expr, values, params) {
    params.push(...values);
    return `${expr} in (${values.map(() => "?").join(", ")})`;
  },
  lower: (expr) => `lower(${expr})`,
  begin: (mode) => (mode === "read" ? "start transaction with consistent snapshot, read only" : "start transaction"),
  lockForUpdate: " for update",
  lockForShare: " lock in share mode",
  createIndex(table, column) {
    const bare = table.split(".").pop()!;
    return `CREATE INDEX ${myIdent(`${bare}_${column}_idx`.slice(0, 64))} ON ${mysqlDialect.table(table)} (${myIdent(column)});`;
  },
};
