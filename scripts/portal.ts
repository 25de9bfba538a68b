/**
 * `npm run portal -- <command> [options]`: maintenance and operations CLI. One file per command under
 * scripts/commands/, registered here (lazily imported, so a command loads only what it needs).
 */
export type Command = { summary: string; run: (args: string[]) => Promise<number> };

const commands: Record<string, () => Promise<{ default: Command }>> = {
  "audit:verify": () => import("./commands/audit-verify.ts"),
  "staff:create": () => import("./commands/staff-create.ts"),
  "staff:totp": () => import("./commands/staff-totp.ts"),
  "staff:reset-mfa": () => import("./commands/staff-reset-mfa.ts"),
  deadline: () => import("./commands/deadline.ts"),
  "stores:apply": () => import("./commands/stores-apply.ts"),
  "stores:test": () => import("./commands/stores-test.ts"),
  "stores:dry-run": () => import("./commands/stores-dry-run.ts"),
};

async function main(argv: string[]) {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help") {
    console.log("Usage: npm run portal -- <command> [options]\n\nCommands:");
    for (const [n, load] of Object.entries(commands)) console.log(`  ${n.padEnd(16)} ${(await load()).default.summary}`);
    return name ? 0 : 64;
  }
  const load = commands[name];
  if (!load) {
    console.error(`Unknown command "${name}". Run \`npm run portal -- help\` for the list.`);
    return 64;
  }
  return (await load()).default.run(args);
}

process.exitCode = await main(process.argv.slice(2));
