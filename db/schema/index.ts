export * from "./requests.ts";
export * from "./verification.ts";
export * from "./audit.ts";
export * from "./staff.ts";
export * from "./stores.ts";
export * from "./schedules.ts";
export * from "./console.ts";
export * from "./packages.ts";
