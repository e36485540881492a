import { setMaxListeners } from "node:events";
import { Command, CommanderError, Option } from "commander";
import { EXIT, HactlError, asHactlError } from "../core/errors.js";
import type { GlobalOptions, RunContext } from "./context.js";
import { registerCommands } from "./commands/index.js";

/** A command body: gets the run context and its own parsed options; returns an exit code (default 0). */
export type CommandBody = (ctx: RunContext) => Promise<number | void>;

const VERSION = "0.1.0";

const abort = new AbortController();
// Every running remote command listens for Ctrl-C: 8 channels on each of 30 nodes is far past Node's
// default warning threshold of 10 listeners, which would print a false "memory leak" warning.
setMaxListeners(0, abort.signal);
let interrupts = 0;

function onInterrupt(): void {
  interrupts += 1;
  if (interrupts === 1) {
    process.stderr.write("\nInterrupted: stopping after the current remote step (Ctrl-C again to exit now).\n");
    abort.abort(new HactlError("INTERRUPTED", "interrupted by Ctrl-C after the step that was running", {
      remedy: "Run the same command again: it re-reads the cluster and finishes the job; finished steps are not repeated.",
    }));
    return;
  }
  process.stderr.write("Exiting now.\n");
  process.exit(EXIT.interrupted);
}

/** Runs a command body with output, signals and the single error renderer; never throws. */
async function execute(name: string, program: Command, body: CommandBody): Promise<number> {
  const globals = program.opts<GlobalOptions>();
  const { createRunContext } = await import("./context.js");
  const ctx = await createRunContext(name, globals, abort.signal);
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onInterrupt);
  try {
    const code = (await body(ctx)) ?? EXIT.ok;
    return code;
  } catch (thrown) {
    const err = asHactlError(thrown);
    const { renderError, errorEvent } = await import("./render-error.js");
    if (ctx.reporter.mode === "json") process.stdout.write(`${JSON.stringify(errorEvent(err))}\n`);
    else process.stderr.write(`${renderError(err)}\n`);
    ctx.reporter.log("hactl", `error ${err.code}: ${err.message}${err.details ? `\n${err.details}` : ""}`);
    if (err.code === "INTERRUPTED" || err.code === "USER_ABORTED") return EXIT.interrupted;
    if (ctx.reporter.logFile && ctx.reporter.mode === "text") process.stderr.write(`  log: ${ctx.reporter.logFile}\n`);
    return err.exitCode;
  } finally {
    ctx.reporter.close();
  }
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command("hactl")
    .description("Install and manage highly available Kubernetes (MicroK8s or kubeadm) on your own servers over SSH.")
    .version(VERSION, "-V, --version")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--log-file <path>", "where to write the full log (mode 0600); default under ~/.local/state/hactl/logs")
    .option("--no-color", "do not colour output (NO_COLOR is honoured too)")
    .option("-y, --yes", "do not ask for confirmation (non-interactive runs)", false)
    .option("--accept-new-host-keys", "trust SSH host keys not yet in known_hosts (non-interactive runs refuse them otherwise)", false)
    .option("--command-timeout <seconds>", "fail any single remote command that runs longer than this (default: per step, up to 15 min)")
    .showHelpAfterError("(run hactl --help for usage)")
    .exitOverride();

  registerCommands(program, (name, body) => async () => setExit(await execute(name, program, body)));
  return program;
}

async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return EXIT.ok;
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
  return exitCode;
}

process.exit(await main(process.argv));
