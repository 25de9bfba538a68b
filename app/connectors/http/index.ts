/**
 * HTTP stores: a service of the company's own that implements the portal's JSON contract (docs/connectors.md):
 * signed POSTs to <baseUrl>/ping, /access, /erasure, /correction and /opt-out, answered synchronously. The service does its own traversal
 * and erasure; the portal signs, times out, retries, and validates what comes back.
 */
import { z } from "zod";
import type { AccessItem, CollectionUpdateCounts, ConnectorDefinition, ErasureReport, JsonValue, StoreWarning, UpdateReport, UpdateResult } from "#app/connectors/types.ts";
import { StoreError } from "#app/connectors/types.ts";
import { httpBaseUrlProblem, normalizeSubject, type HttpDataMap, type SubjectIdentity } from "#app/models/data-map.ts";
import { correctionTargets, normalizeCorrectionValues, optOutTargets, updateTask, type UpdateTargets } from "#app/models/engine/targets.ts";
import { resolveCa, resolveRef, toJson } from "#app/models/engine/values.ts";
import { AcceptedAnswer, postSigned } from "./client.ts";

const count = z.number().int().min(0).default(0);
const erasureAnswer = z.object({
  collections: z.record(
    z.string().max(100),
    z.object({
      matched: count,
      deleted: count,
      masked: count,
      kept: count,
      bases: z.array(z.object({ basis: z.string().min(1).max(300), rows: z.number().int().min(0) })).max(50).default([]),
    }),
  ),
});
const updateAnswer = z.object({
  collections: z.record(z.string().max(100), z.object({ matched: count, applied: count, shared: count })),
});
const accessAnswer = z.object({ collections: z.record(z.string().max(100), z.array(z.record(z.string(), z.unknown()))) });
const pingAnswer = z.object({ service: z.string().max(100).optional() }).passthrough();

/** The erasure report of a service's answer (synchronous, or posted later to the callback). */
export function erasureReportFrom(store: string, value: unknown, dryRun = false): ErasureReport {
  const answer = parse(erasureAnswer, value, "erasure");
  const totals = { matched: 0, deleted: 0, masked: 0, kept: 0 };
  for (const c of Object.values(answer.collections)) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += c[k];
  return { store, dryRun, collections: answer.collections, totals };
}

/** The correction / opt-out report of a service's answer (synchronous, or posted later to the callback). */
export function updateReportFrom(store: string, action: "correction" | "opt_out", targets: string[], value: unknown): UpdateReport {
  const answer = parse(updateAnswer, value, action === "correction" ? "correction" : "opt-out");
  const totals: CollectionUpdateCounts = { matched: 0, applied: 0, shared: 0 };
  for (const c of Object.values(answer.collections)) for (const k of Object.keys(totals) as (keyof CollectionUpdateCounts)[]) totals[k] += c[k];
  return { store, action, targets, collections: answer.collections, totals };
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const where = r.error.issues[0]?.path.join(".") || "(root)";
    throw new StoreError("http_bad_response", `the service's ${what} answer does not follow the contract (at ${where})`);
  }
  return r.data;
}

const definition: ConnectorDefinition<HttpDataMap> = {
  kind: "http",
  create(context) {
    const { connection } = context.map;
    const env = context.env ?? process.env;
    const base = resolveRef(connection.baseUrl, "connection.baseUrl", {}, "", env);
    const problem = httpBaseUrlProblem(base, connection.tls.allowHttp);
    if (problem) throw new StoreError("config_invalid", `connection.baseUrl: ${problem}`);
    const secret = resolveRef(connection.secret, "connection.secret", context.secrets, "secret", env);
    const ca = resolveCa(connection.tls.ca, "connection.tls.ca", env);
    const endpoint = (path: string) => new URL(`${base.replace(/\/+$/, "")}/${path}`);
    const options = {
      secret,
      store: context.store,
      timeoutMs: connection.timeoutMs,
      maxRetries: connection.maxRetries,
      maxRetryWaitMs: connection.maxRetryWaitMs,
      ...(ca ? { ca } : {}),
    };
    const warnings: StoreWarning[] =
      endpoint("x").protocol === "http:"
        ? [{ code: "insecure_http", message: "the service is reached over plain HTTP (tls.allowHttp: true)", fix: "use an https:// baseUrl" }]
        : [];
    const subjectOf = (s: SubjectIdentity) => normalizeSubject(s, context.map);
    const describe = async () => ({
      ok: true,
      errors: [],
      warnings,
      collections: Object.values(context.map.collections).map((c) => ({ name: c.name, table: c.table })),
    });
    const fetchAccess = async (subject: SubjectIdentity, requestId?: string) => {
      const normalized = subjectOf(subject);
      if (Object.keys(normalized).length === 0) return { collections: {} as Record<string, Record<string, unknown>[]> };
      return parse(accessAnswer, await postSigned(endpoint("access"), { action: "access", ...(requestId ? { requestId } : {}), subject: normalized }, options), "access");
    };
    const omitted = (collection: string) =>
      new Set(Object.values(context.map.collections[collection]?.fields ?? {}).filter((f) => f.access === "omit").map((f) => f.name));

    return {
      kind: "http",
      describe,
      async test() {
        const started = performance.now();
        try {
          const answer = parse(pingAnswer, await postSigned(endpoint("ping"), { action: "ping" }, { ...options, maxRetries: 0 }), "ping");
          return { connected: true, latencyMs: Math.round(performance.now() - started), server: answer.service ?? "HTTP service", ...(await describe()) };
        } catch (error) {
          const message = error instanceof StoreError ? error.message : "the service could not be reached";
          return { connected: false, ok: false, errors: [{ path: "connection", message }], warnings, collections: [] };
        }
      },
      async find(subject, opts = {}) {
        const answer = await fetchAccess(subject, opts.requestId);
        const collections = Object.fromEntries(Object.entries(answer.collections).map(([k, rows]) => [k, rows.length]));
        return { found: Object.values(collections).some((n) => n > 0), collections };
      },
      access(subject, opts = {}): AsyncIterable<AccessItem> {
        return (async function* () {
          const answer = await fetchAccess(subject, opts.requestId);
          for (const [collection, rows] of Object.entries(answer.collections)) {
            const skip = omitted(collection);
            for (const raw of rows) {
              const row: Record<string, JsonValue> = {};
              for (const [k, v] of Object.entries(raw)) if (!skip.has(k)) row[k] = toJson(v);
              yield { type: "row" as const, collection, row };
            }
          }
        })();
      },
      async erase(subject, opts = {}) {
        const dryRun = opts.dryRun === true;
        const normalized = subjectOf(subject);
        if (Object.keys(normalized).length === 0) {
          return { status: "done" as const, report: { store: context.store, dryRun, collections: {}, totals: { matched: 0, deleted: 0, masked: 0, kept: 0 } } };
        }
        const async = !dryRun && context.callbackUrl !== undefined;
        const answer = await postSigned(
          endpoint("erasure"),
          { action: "erasure", ...(opts.requestId ? { requestId: opts.requestId } : {}), subject: normalized, dryRun, ...(async ? { callbackUrl: context.callbackUrl } : {}) },
          { ...options, acceptAsync: async },
        );
        if (answer instanceof AcceptedAnswer) return { status: "accepted" as const, reference: answer.reference };
        return { status: "done" as const, report: erasureReportFrom(context.store, answer, dryRun) };
      },
      async correct(subject, values, o = {}) {
        const targets = correctionTargets(context.map, values);
        const normalized = normalizeCorrectionValues(values, context.map);
        const asked = Object.keys(normalized);
        // Only the attributes the map says the service holds are sent.
        const sent = Object.fromEntries(targets.names.map((a) => [a, normalized[a as keyof typeof normalized]!]));
        return update("correction", "correction", targets, asked, subject, { values: sent }, o.requestId);
      },
      async optOut(subject, kinds, o = {}) {
        const targets = optOutTargets(context.map, kinds, new Date());
        return update("opt_out", "opt-out", targets, kinds, subject, { kinds: targets.names }, o.requestId);
      },
      async close() {},
    };

    async function update(
      action: "correction" | "opt_out",
      path: string,
      targets: UpdateTargets,
      asked: readonly string[],
      subject: SubjectIdentity,
      body: Record<string, unknown>,
      requestId: string | undefined,
    ): Promise<UpdateResult> {
      if (targets.collections.size === 0) return { status: "task", task: updateTask(context.store, context.map, action, asked) };
      const normalized = subjectOf(subject);
      const totals: CollectionUpdateCounts = { matched: 0, applied: 0, shared: 0 };
      if (Object.keys(normalized).length === 0) return { status: "done", report: { store: context.store, action, targets: targets.names, collections: {}, totals } };
      const async = context.callbackUrl !== undefined;
      const answer = await postSigned(
        endpoint(path),
        { action, ...(requestId ? { requestId } : {}), subject: normalized, ...body, ...(async ? { callbackUrl: context.callbackUrl } : {}) },
        { ...options, acceptAsync: async },
      );
      if (answer instanceof AcceptedAnswer) return { status: "accepted", reference: answer.reference };
      return { status: "done", report: updateReportFrom(context.store, action, targets.names, answer) };
    }
  },
};

export default definition;
