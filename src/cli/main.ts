import { setMaxListeners } from "node:events";
import { Command, CommanderError } from "commander";
import { EXIT, HactlError } from "../core/errors.js";
import type { GlobalOptions } from "../core/context.js";
import { buildProgram, usageError, wantsJson } from "./program.js";

const abort = new AbortController();
// Every running remote command listens for Ctrl-C: 8 channels on each of 30 nodes is far past Node's
// default warning threshold of 10 listeners, which would print a false "memory leak" warning.
setMaxListeners(0, abort.signal);
let interrupts = 0;

function onInterrupt(): void {
  interrupts += 1;
  if (interrupts === 1) {
    process.stderr.write("\nInterrupted: stopping after the current remote step (Ctrl-C again to exit now).\n");
    abort.abort(
      new HactlError("INTERRUPTED", "interrupted by Ctrl-C after the step that was running", {
        remedy:
          "Run the same command again: it re-reads the cluster and finishes the job; finished steps are not repeated.",
      }),
    );
    return;
  }
  process.stderr.write("Exiting now.\n");
  process.exit(EXIT.interrupted);
}

async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program: Command = buildProgram(async (name, body, kind) => {
    const { runCommand } = await import("./run-command.js");
    process.on("SIGINT", onInterrupt);
    process.on("SIGTERM", onInterrupt);
    exitCode = await runCommand(name, program.opts<GlobalOptions>(), body, kind, abort.signal);
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")
        return EXIT.ok;
      if (err.exitCode === 0) return EXIT.ok;
      if (wantsJson(argv))
        process.stdout.write(`${JSON.stringify((await import("./render-error.js")).errorEvent(usageError(err)))}\n`);
      return EXIT.usage;
    }
    throw err;
  }
  return exitCode;
}

// No top-level await: the single-file build bundles this module as CommonJS.
void main(process.argv).then((code) => process.exit(code));
