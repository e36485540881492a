import { EXIT, asHactlError } from "../core/errors.js";
import { createRunContext, type GlobalOptions } from "../core/context.js";
import type { CommandBody, CommandKind } from "./commands/wrap.js";

/**
 * Runs a command body with its output and the single error renderer; never throws. A report's error
 * with --output json is its one JSON document; a change's is its last event; text goes to stderr.
 */
export async function runCommand(
  name: string,
  globals: GlobalOptions,
  body: CommandBody,
  kind: CommandKind,
  signal: AbortSignal,
): Promise<number> {
  const ctx = await createRunContext(name, globals, signal, kind.report ? "document" : "events");
  try {
    return (await body(ctx)) ?? EXIT.ok;
  } catch (thrown) {
    const err = asHactlError(thrown);
    const { renderError, errorEvent } = await import("./render-error.js");
    ctx.reporter.failed(errorEvent(err));
    if (ctx.reporter.mode === "text") process.stderr.write(`${renderError(err)}\n`);
    ctx.reporter.log("hactl", `error ${err.code}: ${err.message}${err.details ? `\n${err.details}` : ""}`);
    if (err.code === "INTERRUPTED" || err.code === "USER_ABORTED") return EXIT.interrupted;
    if (ctx.reporter.logFile && ctx.reporter.mode === "text") process.stderr.write(`  log: ${ctx.reporter.logFile}\n`);
    return err.exitCode;
  } finally {
    ctx.reporter.close();
  }
}
