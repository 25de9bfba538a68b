/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof) and says where the time went: self time per function and per
 * component (the portal's own files, each npm package, Node internals, garbage collection, idle).
 */
import { readFileSync } from "node:fs";

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] };

export type ProfileRow = { name: string; ms: number; share: number };
export type ProfileSummary = {
  totalMs: number;
  busyMs: number;
  /** Self time per component. */
  components: ProfileRow[];
  /** Self time per function. */
  functions: ProfileRow[];
  /** Time with the function on the stack, for the portal's own code (app/, db/, jobs/, server/, build/). */
  ownInclusive: ProfileRow[];
};

/** "pg" for node_modules/postgres/…, "app/models/audit.server.ts" for the portal's own code, "node:…" for internals. */
export function componentOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName.startsWith("(")) return functionName; // (garbage collector), (idle), (program), (root)
    return "(native)";
  }
  if (url.startsWith("node:")) return "node internals";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(app|db|jobs|server|build|bench)\/(.*)$/.exec(url.replace(/^file:\/\//, ""));
  return m ? `${m[1]}/${m[2]}` : url.replace(/^file:\/\//, "");
}

/**
 * `windowMs`: only the last `windowMs` before the profile ends (the load phase — the server is stopped right after
 * the load, so its boot, module compilation and idle wait before the load stay out of the figures).
 */
export function summarizeCpuProfile(path: string, { top = 15, windowMs }: { top?: number; windowMs?: number } = {}): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  // Self time from the sample stream (exact), falling back to hit counts × the mean interval.
  const selfUs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas && profile.samples.length === profile.timeDeltas.length) {
    const from = windowMs === undefined ? -Infinity : profile.endTime - windowMs * 1000;
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i]!; // timeDeltas[i]: the time since the previous sample
      if (t < from) continue;
      // Attribute the gap up to the next sample to this sample's node.
      const id = profile.samples[i]!;
      const dt = profile.timeDeltas[i + 1] ?? 0;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
    }
  } else {
    if (windowMs !== undefined) throw new Error("the profile has no sample timeline, so it cannot be cut to a window");
    const hits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
    const interval = (profile.endTime - profile.startTime) / hits;
    for (const n of profile.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * interval);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const components = new Map<string, number>();
  const functions = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const component = componentOf(url, functionName);
    if (component === "(idle)") idleUs += us;
    components.set(component, (components.get(component) ?? 0) + us);
    const fn = `${functionName || "(anonymous)"} ${component}${url ? `:${lineNumber + 1}` : ""}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  // Inclusive time of the portal's own functions: every function on the sampled stack gets the sample once.
  const own = new Map<string, number>();
  const ownKey = (id: number) => {
    const node = byId.get(id);
    if (!node) return undefined;
    const { functionName, url, lineNumber } = node.callFrame;
    const component = componentOf(url, functionName);
    if (!/^(app|db|jobs|server|build)\//.test(component)) return undefined;
    return `${functionName || "(anonymous)"} ${component}:${lineNumber + 1}`;
  };
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
      const key = ownKey(cur);
      if (key && !seen.has(key)) {
        seen.add(key);
        own.set(key, (own.get(key) ?? 0) + us);
      }
    }
  }
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .filter(([name]) => name !== "(idle)" && !name.startsWith("(idle)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / (busyUs || 1) }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, components: rows(components), functions: rows(functions), ownInclusive: rows(own) };
}
