/**
 * The one interface every store kind implements (docs/connectors.md). A connector is created for one store (its
 * validated data map, decrypted secrets and hashing key) and closed when done: after one piece of work, or, in the
 * worker, once the store changes or it sat idle (app/models/stores.server.ts, ADR 021). So a connector must serve
 * several pieces of work at once (its pool hands each transaction its own connection). Everything it
 * returns about a subject's records is either the records themselves (access, streamed) or counts (find, erase):
 * reports never carry values.
 */
import type { DataMap, OptOutKind, StoreKind, SubjectAttribute, SubjectIdentity } from "#app/models/data-map.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Literal secrets of a store (decrypted from the stores table), by connection key: url, password, secret. */
export type StoreSecrets = Partial<Record<string, string>>;

export type ConnectorContext<M extends DataMap = DataMap> = {
  /** The store's name (for messages and reports). */
  store: string;
  map: M;
  secrets: StoreSecrets;
  /** 32-byte key of the `hash` erasure action, unique to the store and stable. */
  hashKey: Buffer;
  /** Where `env:NAME` references are read from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Where an HTTP store may post the result of work it accepted (202) to finish later (docs/connectors.md). */
  callbackUrl?: string;
};

export type StoreWarning = {
  code:
    | "missing_index"
    | "unmapped_columns"
    | "undeclared_cascade"
    | "undeclared_reference"
    | "tls_unverified"
    | "tls_disabled"
    | "identity_not_supported"
    | "insecure_http";
  message: string;
  collection?: string;
  column?: string;
  /** The exact statement or setting that fixes it, e.g. a CREATE INDEX. */
  fix?: string;
};

export type StoreProblem = { path: string; message: string };

export type StoreDescription = {
  /** False when the map does not fit the store (missing tables or columns): no request can run. */
  ok: boolean;
  errors: StoreProblem[];
  warnings: StoreWarning[];
  collections: { name: string; table: string; columns?: string[] }[];
};

export type StoreTestResult = StoreDescription & { connected: boolean; latencyMs?: number; server?: string };

/** How many of the subject's records each collection holds (`found: "unknown"`: a person has to look). */
export type FindResult = { found: boolean | "unknown"; collections: Record<string, number> };

export type ManualTask = {
  store: string;
  action: "access" | "erasure" | "correction" | "opt_out";
  instructions: string;
  team?: string;
};

export type AccessItem =
  | { type: "row"; collection: string; row: Record<string, JsonValue> }
  /** The store needs a person: the task to hand to staff. */
  | { type: "task"; task: ManualTask };

export type CollectionErasureCounts = {
  /** Rows of the subject found. */
  matched: number;
  deleted: number;
  /** Rows that stay with fields nulled, masked or hashed. */
  masked: number;
  /** Rows that stay with personal data under a basis (below). */
  kept: number;
  bases: { basis: string; rows: number }[];
};

export type ErasureReport = {
  store: string;
  dryRun: boolean;
  collections: Record<string, CollectionErasureCounts>;
  totals: { matched: number; deleted: number; masked: number; kept: number };
};

/** An HTTP store accepted the work (202) and will post the result to the portal's callback, quoting `reference`. */
export type AcceptedResult = { status: "accepted"; reference: string };

export type EraseResult = { status: "done"; report: ErasureReport } | { status: "task"; task: ManualTask } | AcceptedResult;

/** The confirmed new values of a correction, by subject attribute (only the attributes that change). */
export type CorrectionValues = Partial<Record<SubjectAttribute, string>>;

/**
 * A correction's or opt-out's effect on one collection: `matched` rows of the subject that hold a corrected attribute
 * (or an opt-out field), `applied` those of them that hold the new values after the run (written now or already
 * so — a second run reports the same), `shared` those left unchanged because they also concern another person.
 */
export type CollectionUpdateCounts = { matched: number; applied: number; shared: number };

export type UpdateReport = {
  store: string;
  action: "correction" | "opt_out";
  /** Which attributes (correction) or preferences (opt-out) the store holds and got — names only, no values. */
  targets: string[];
  collections: Record<string, CollectionUpdateCounts>;
  totals: CollectionUpdateCounts;
};

export type UpdateResult = { status: "done"; report: UpdateReport } | { status: "task"; task: ManualTask } | AcceptedResult;

export type AccessOptions = { requestId?: string };
export type EraseOptions = {
  requestId?: string;
  dryRun?: boolean;
  /**
   * Called with the report after a transactional store (PostgreSQL, MySQL) applied the erasure and before it commits;
   * a throw rolls the erasure back. The execution records the report here, so a worker killed between the store's
   * commit and the run's record still knows what was done. Stores without a transaction ignore it.
   */
  beforeCommit?: (report: ErasureReport) => Promise<void>;
};

export interface Connector {
  readonly kind: StoreKind;
  /** Connects and checks the map against the store (describe), timing the round trip. */
  test(): Promise<StoreTestResult>;
  /** Checks tables, columns and indexes the map relies on; warnings carry their fix. */
  describe(): Promise<StoreDescription>;
  /** Counts the subject's records per collection, changing nothing. */
  find(subject: SubjectIdentity, options?: AccessOptions): Promise<FindResult>;
  /** Streams the subject's records (rows, or a task for a person). */
  access(subject: SubjectIdentity, options?: AccessOptions): AsyncIterable<AccessItem>;
  /** Erases per the map, all or nothing; with dryRun only reports what it would do. */
  erase(subject: SubjectIdentity, options?: EraseOptions): Promise<EraseResult>;
  /**
   * Writes confirmed new values into every field the map marks with their subject attribute, in the subject's own
   * rows only (all or nothing); a task when the map marks none of the attributes (or the store is manual).
   */
  correct(subject: SubjectIdentity, values: CorrectionValues, options?: AccessOptions): Promise<UpdateResult>;
  /** Sets every field the map marks as a preference of these kinds, in the subject's own rows only; a task likewise. */
  optOut(subject: SubjectIdentity, kinds: OptOutKind[], options?: AccessOptions): Promise<UpdateResult>;
  close(): Promise<void>;
}

export type ConnectorDefinition<M extends DataMap = DataMap> = {
  kind: StoreKind;
  create(context: ConnectorContext<M>): Connector;
};

/** A store failure whose message is safe to record (no values from the store); `retryable` says whether to retry. */
export class StoreError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** The store asked to be called again later (HTTP 429/503 with a long Retry-After): reschedule the work. */
export class RetryLaterError extends StoreError {
  constructor(public readonly retryAfterMs: number, message = `the store asked to retry in ${Math.ceil(retryAfterMs / 1000)} s`) {
    super("retry_later", message, true);
    this.name = "RetryLaterError";
  }
}
