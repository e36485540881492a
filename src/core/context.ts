import { homedir } from "node:os";
import { join } from "node:path";
import type { JsonShape, Reporter, OutputMode } from "./output.js";

/** Options every command accepts (set on the root program). */
export interface GlobalOptions {
  output: OutputMode;
  logFile?: string;
  color: boolean;
  yes: boolean;
  acceptNewHostKeys: boolean;
  /** Upper bound in seconds for any single remote command (a hung node fails its step); checked by its parser. */
  commandTimeout?: string;
}

/** What a workflow gets from the CLI: output, interactivity, cancellation. */
export interface RunContext {
  readonly reporter: Reporter;
  /** A terminal is attached, --yes is not given and output is text: prompts are allowed. */
  readonly interactive: boolean;
  readonly yes: boolean;
  readonly acceptNewHostKeys: boolean;
  /** Upper bound for any single remote command, when --command-timeout is given. */
  readonly commandTimeoutMs: number | undefined;
  /** Aborted by the first Ctrl-C: workflows stop after the current remote step. */
  readonly signal: AbortSignal;
}

export function stateDir(): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(base, "hactl");
}

export function defaultLogFile(command: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return join(stateDir(), "logs", `${command}-${stamp}.log`);
}

/** `json`: how --output json prints for this command (its declaration decides: a report prints one document). */
export async function createRunContext(
  command: string,
  opts: GlobalOptions,
  signal: AbortSignal,
  json: JsonShape = "events",
): Promise<RunContext> {
  const { createReporter } = await import("./output.js");
  const isTTY = Boolean(process.stdout.isTTY);
  // ora takes a noticeable share of start-up; only a terminal shows its spinner.
  const ora = isTTY && opts.output === "text" ? (await import("ora")).default : undefined;
  const reporter = createReporter({
    mode: opts.output,
    json,
    logFile: opts.logFile ?? defaultLogFile(command),
    isTTY,
    color: opts.color && isTTY && !process.env.NO_COLOR,
    ...(ora ? { spinner: (text: string) => ora({ text, stream: process.stdout, discardStdin: false }).start() } : {}),
  });
  return {
    reporter,
    interactive: isTTY && Boolean(process.stdin.isTTY) && !opts.yes && opts.output === "text",
    yes: opts.yes,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    commandTimeoutMs: opts.commandTimeout !== undefined ? Number(opts.commandTimeout) * 1000 : undefined,
    signal,
  };
}
