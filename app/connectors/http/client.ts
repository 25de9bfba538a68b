/**
 * One signed JSON POST to a store's service with a timeout per attempt, a response size limit, retries with backoff
 * on 5xx, timeouts and network errors, and Retry-After honoured on 429/503: waited for inline when short enough,
 * otherwise a RetryLaterError so the caller reschedules the work.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { RetryLaterError, StoreError } from "#app/connectors/types.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signPortalBody } from "./signature.ts";

export type HttpClientOptions = {
  secret: string;
  store: string;
  timeoutMs: number;
  maxRetries: number;
  maxRetryWaitMs: number;
  ca?: string;
  maxResponseBytes?: number;
  /** A 202 with a reference is an accepted asynchronous answer (erasure, correction, opt-out); otherwise refused. */
  acceptAsync?: boolean;
  /** Injected for tests of the backoff; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>;
};

type Response = { status: number; headers: IncomingHttpHeaders; body: Buffer };

/** A 202 answer: the service took the work and will post the result to the portal's callback, quoting `reference`. */
export class AcceptedAnswer {
  constructor(public readonly reference: string) {}
}

const REFERENCE = /^[A-Za-z0-9._:-]{1,200}$/;

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function once(url: URL, body: string, headers: Record<string, string>, options: HttpClientOptions): Promise<Response> {
  const limit = options.maxResponseBytes ?? 100 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: "POST", headers: { ...headers, "content-length": Buffer.byteLength(body).toString() }, ...(options.ca ? { ca: options.ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            req.destroy(new StoreError("http_response_too_large", `the service answered more than ${limit} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new StoreError("http_timeout", `no answer within ${options.timeoutMs} ms`, true)), options.timeoutMs);
    req.on("close", () => clearTimeout(timer));
    req.on("error", reject);
    req.end(body);
  });
}

export async function postSigned(url: URL, payload: unknown, options: HttpClientOptions): Promise<unknown> {
  const sleep = options.sleep ?? realSleep;
  const body = JSON.stringify(payload);
  let lastError: StoreError | undefined;
  for (let attempt = 0; attempt <= options.maxRetries; attempt++) {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      "content-type": "application/json",
      accept: "application/json",
      "user-agent": "privacy-portal",
      "x-portal-store": options.store,
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signPortalBody(options.secret, timestamp, body),
    };
    const backoff = Math.min(1000 * 2 ** attempt, 30_000);
    let res: Response;
    try {
      res = await once(url, body, headers, options);
    } catch (error) {
      const e = error as { code?: string };
      lastError =
        error instanceof StoreError
          ? error
          : /CERT|SSL|TLS/i.test(e?.code ?? "")
            ? new StoreError("tls_failed", `TLS to the service failed (${e.code})`, false, { cause: error })
            : new StoreError("store_unreachable", `cannot reach the service (${e?.code ?? "network error"})`, true, { cause: error });
      if (!lastError.retryable) throw lastError;
      if (attempt < options.maxRetries) await sleep(backoff);
      continue;
    }
    if (res.status >= 200 && res.status < 300) {
      if (res.status === 202) {
        if (!options.acceptAsync) throw new StoreError("http_async_unsupported", "the service answered 202 Accepted where the contract needs a synchronous answer (ping, access, dry runs)");
        let reference: unknown;
        try {
          reference = (JSON.parse(res.body.toString("utf8")) as { reference?: unknown }).reference;
        } catch {
          reference = undefined;
        }
        if (typeof reference !== "string" || !REFERENCE.test(reference)) {
          throw new StoreError("http_bad_response", "the service answered 202 without a valid reference (1-200 letters, digits, . _ : -)");
        }
        return new AcceptedAnswer(reference);
      }
      try {
        return res.body.length === 0 ? {} : (JSON.parse(res.body.toString("utf8")) as unknown);
      } catch {
        throw new StoreError("http_bad_response", `the service answered ${res.status} with a body that is not JSON`);
      }
    }
    if (res.status === 429 || res.status === 503) {
      const wait = retryAfterMs(res.headers["retry-after"]) ?? backoff;
      if (wait > options.maxRetryWaitMs || attempt >= options.maxRetries) throw new RetryLaterError(Math.max(wait, 1000));
      await sleep(wait);
      continue;
    }
    if (res.status >= 500) {
      lastError = new StoreError(`http_${res.status}`, `the service answered ${res.status}`, true);
      if (attempt < options.maxRetries) await sleep(backoff);
      continue;
    }
    if (res.status === 401 || res.status === 403) {
      throw new StoreError("http_unauthorized", `the service refused the request (${res.status}): check the shared secret and the clocks`);
    }
    throw new StoreError(`http_${res.status}`, `the service answered ${res.status}`);
  }
  throw lastError ?? new StoreError("http_failed", "the service did not answer");
}
