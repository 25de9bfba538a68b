import "@remix-run/node";

declare module "@remix-run/node" {
  interface AppLoadContext {
    /** The per-request CSP nonce (server/security.ts). */
    cspNonce: string;
    /** The client's IP as Express sees it (honours TRUST_PROXY); only ever used hashed, for rate limits. */
    clientIp: string;
  }
}
