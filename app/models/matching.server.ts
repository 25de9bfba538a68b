/**
 * Data-point matching (job `match-data-points`, queued when a request is verified): the extra data points a
 * requester supplied (phone, postal code, order number, account id) are looked up among the records that the
 * verified email reaches in each connected store, through the store's data map. The kinds that matched are
 * recorded in `requests.matched_data_points` and raise `verification_level` to 1 + the number of kinds matched.
 * Only the kinds are stored and logged — never the values, neither the requester's nor the store's.
 *
 * Matching inside the email's own records (not a search of the whole store by phone number) is what makes a match
 * evidence that the requester is that customer: a phone number typed by someone else matches nothing.
 *
 * Which fields hold which kind: phone — fields with `identity: phone` or `subjectAttribute: phone` (or named like a
 * phone column); account id — fields with `identity: accountId`; postal code — fields named postcode, postal_code,
 * zip, zip_code or plz; order number — fields named order_number, order_no, order_ref(erence), order_id, number or
 * reference, and the primary key `id` of a collection named `orders`/`order`.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Executor } from "#db/client.server.ts";
import { requests, stores } from "#db/schema/index.ts";
import { createConnector } from "#app/connectors/registry.ts";
import type { JsonValue } from "#app/connectors/types.ts";
import { logger } from "#app/utils/logger.server.ts";
import { systemClock, type Clock } from "#app/utils/clock.ts";
import { applyApprovalPolicySafely } from "./approval-policy.server.ts";
import { appendEvent } from "./audit.server.ts";
import { normalizeAccountId, normalizePhone, type CollectionDef, type DataMap } from "./data-map.ts";
import { dataPointKinds, type DataPointKind } from "./intake.ts";
import { decryptIdentity, getRequestById } from "./requests.server.ts";
import { storeContext } from "./stores.server.ts";

const POSTAL_NAME = /^(post(al)?_?code|zip(_?code)?|plz)$/i;
const ORDER_NAME = /^(order_?(number|no|num|ref|reference|id)|number|reference)$/i;
const PHONE_NAME = /^(phone|phone_?number|mobile|telephone|tel)$/i;

/** Whether a field (by name, in a collection of the map when it has one) can hold a data point of `kind`. */
export function fieldHolds(kind: DataPointKind, field: string, collection: string, def: CollectionDef | undefined): boolean {
  const f = def?.fields[field];
  switch (kind) {
    case "phone":
      return f?.identity === "phone" || f?.subjectAttribute === "phone" || PHONE_NAME.test(field);
    case "accountId":
      return f?.identity === "accountId";
    case "postalCode":
      return POSTAL_NAME.test(field);
    case "orderNumber":
      return ORDER_NAME.test(field) || (field === "id" && /^orders?$/i.test(collection));
  }
}

const scalar = (v: JsonValue | undefined): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

/** The comparable form of a data point (a supplied one or a store's value); undefined: not comparable. */
export function normalizeDataPoint(kind: DataPointKind, value: string, map?: Pick<DataMap, "normalization">): string | undefined {
  switch (kind) {
    case "phone":
      return normalizePhone(value, map?.normalization?.defaultCallingCode);
    case "accountId":
      return normalizeAccountId(value);
    case "postalCode": {
      const v = value.normalize("NFKC").replace(/[\s-]/g, "").toUpperCase();
      return v.length >= 2 ? v : undefined;
    }
    case "orderNumber": {
      const v = value.normalize("NFKC").trim().replace(/^#/, "").toUpperCase();
      return v.length > 0 ? v : undefined;
    }
  }
}

/** Statuses in which matching still matters (before staff decide or while they review). */
const MATCHABLE = ["verified", "in_review", "awaiting_information", "approved"] as const;

/**
 * Job `match-data-points`. Safe to run twice (kinds are merged, the level only rises). A store that cannot be read
 * is skipped (logged without values); the result is recorded with the kinds checked and matched. After that commit,
 * the approval policy is applied (a request that just reached its required level is approved at once where its
 * regime and type are automatic; otherwise nothing changes — `applyApprovalPolicy` is idempotent and never throws here).
 */
export async function matchDataPoints(db: Executor, requestId: string, clock: Clock = systemClock) {
  const request = await getRequestById(db, requestId);
  if (!request) return { status: "missing" as const };
  if (!(MATCHABLE as readonly string[]).includes(request.status)) return { status: "skipped" as const };
  const identity = decryptIdentity(request);
  const supplied = dataPointKinds.filter((k) => identity.dataPoints?.[k]);
  if (supplied.length === 0) return { status: "nothing_supplied" as const };

  const matched = new Set<DataPointKind>();
  const unreadable: string[] = [];
  const candidates = await db
    .select({ id: stores.id, name: stores.name })
    .from(stores)
    .where(and(sql`${stores.disabledAt} is null`, inArray(stores.kind, ["postgres", "mysql", "http"])));
  for (const store of candidates) {
    if (supplied.every((k) => matched.has(k))) break;
    try {
      const { context } = await storeContext(db, store.id);
      const map = context.map;
      const wanted = new Map<DataPointKind, string>();
      for (const k of supplied) {
        if (matched.has(k)) continue;
        const v = normalizeDataPoint(k, identity.dataPoints![k]!, map);
        if (v) wanted.set(k, v);
      }
      if (wanted.size === 0) continue;
      const connector = await createConnector(context);
      try {
        for await (const item of connector.access({ email: identity.email }, { requestId })) {
          if (item.type !== "row") continue;
          const def = map.collections[item.collection];
          for (const [field, raw] of Object.entries(item.row)) {
            const value = scalar(raw);
            if (value === undefined) continue;
            for (const [kind, want] of wanted) {
              if (fieldHolds(kind, field, item.collection, def) && normalizeDataPoint(kind, value, map) === want) {
                matched.add(kind);
                wanted.delete(kind);
              }
            }
          }
          if (wanted.size === 0) break;
        }
      } finally {
        await connector.close();
      }
    } catch (err) {
      unreadable.push(store.id);
      logger.warn({ storeId: store.id, code: (err as { code?: string }).code ?? "error" }, "data-point matching could not read a store");
    }
  }

  const kinds = dataPointKinds.filter((k) => matched.has(k));
  const all = dataPointKinds.filter((k) => matched.has(k) || request.matchedDataPoints.includes(k));
  const level = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(requests)
      .set({
        matchedDataPoints: all,
        verificationLevel: sql`greatest(${requests.verificationLevel}, ${1 + all.length})`,
        updatedAt: clock(),
      })
      .where(eq(requests.id, requestId))
      .returning({ level: requests.verificationLevel, matched: requests.matchedDataPoints });
    await appendEvent(
      tx,
      {
        requestId,
        actorType: "system",
        actorId: "match-data-points",
        action: "verification.data_points_matched",
        details: { supplied, matched: kinds, level: row!.level, storesChecked: candidates.length, storesUnreadable: unreadable },
      },
      clock,
    );
    return row!.level;
  });
  const approval = await applyApprovalPolicySafely(db, requestId, clock);
  return { status: "matched" as const, supplied, matched: kinds, level, approval };
}
