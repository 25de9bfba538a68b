/** Shared bits of the staff:* commands: `--flag value` parsing (and the lone `--email`) and reading a password from stdin. */
import { parseArgs } from "node:util";

export function parseFlags<T extends Record<string, { type: "string" | "boolean" }>>(args: string[], options: T) {
  return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
}

/**
 * The email of a `<command> --email <email>` command line (a staff:* command that takes nothing else); undefined,
 * after saying why on stderr, when the command line is wrong (the command then exits with 64).
 */
export function parseEmailFlag(args: string[], command: string): string | undefined {
  let flags;
  try {
    flags = parseFlags(args, { email: { type: "string" } });
  } catch (error) {
    console.error((error as Error).message);
    return undefined;
  }
  if (!flags.email) {
    console.error(`Usage: npm run portal -- ${command} --email <email>`);
    return undefined;
  }
  return flags.email;
}

/**
 * Reads a password from standard input. On a terminal: prompts on stderr and reads without echo (raw mode);
 * piped (`printf '%s\n' "$PW" | …`): the first line.
 */
export async function readPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let data = "";
    stdin.setEncoding("utf8");
    for await (const chunk of stdin) {
      data += chunk as string;
      if (data.includes("\n")) break;
    }
    stdin.pause();
    return data.split(/\r?\n/)[0] ?? "";
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new Error("cancelled"));
        if (ch === "\u007f" || ch === "\b") value = [...value].slice(0, -1).join("");
        else if (ch >= " ") value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
