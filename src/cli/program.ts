import { Command, Option, type CommanderError } from "commander";
import { HactlError } from "../core/errors.js";
import type { RunCommand } from "./commands/wrap.js";
import { registerCommands } from "./commands/index.js";
import { intOption } from "./commands/options.js";

export const VERSION = "0.1.0";

/** The whole command line: global options, every command, and help that lists the global options too. */
export function buildProgram(run: RunCommand): Command {
  const program = new Command("hactl")
    .description("Install and manage highly available Kubernetes (MicroK8s or kubeadm) on your own servers over SSH.")
    .version(VERSION, "-V, --version")
    .addOption(
      new Option(
        "-o, --output <format>",
        "output format; json: one document from reports, one event per line from changes",
      )
        .choices(["text", "json"])
        .default("text"),
    )
    .option("--log-file <path>", "where to write the full log (mode 0600); default under ~/.local/state/hactl/logs")
    .option("--no-color", "do not colour output (NO_COLOR is honoured too)")
    .option("-y, --yes", "do not ask for confirmation (non-interactive runs)", false)
    .option(
      "--accept-new-host-keys",
      "trust SSH host keys not yet in known_hosts (non-interactive runs refuse them otherwise)",
      false,
    )
    .addOption(
      intOption(
        "--command-timeout <seconds>",
        "fail any single remote command that runs longer than this; default: per step, up to 15 min",
        { min: 1, max: 86_400, unit: "seconds" },
      ),
    )
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError("(run hactl --help for usage)")
    .exitOverride();

  registerCommands(
    program,
    (name, body, kind = {}) =>
      () =>
        run(name, body, kind),
  );
  return program;
}

/** Whether the command line asks for JSON, read from argv itself (for errors commander finds before any action). */
export function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf("--");
  const own = end === -1 ? args : args.slice(0, end);
  return own.some(
    (a, i) => a === "--output=json" || a === "-ojson" || ((a === "-o" || a === "--output") && own[i + 1] === "json"),
  );
}

/** A command line commander refused, as hactl's usage error (exit 2): the JSON error object names the flag. */
export function usageError(err: CommanderError): HactlError {
  return new HactlError("USAGE", err.message.replace(/^error: /, ""), {
    remedy: "Run hactl --help (or hactl COMMAND --help) for the commands, their options and the values they accept.",
  });
}
