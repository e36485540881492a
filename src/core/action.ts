import type { Command } from "./command.js";
import { interruptedError } from "./errors.js";
import type { RemoteHost } from "./host.js";
import { redact } from "./secrets.js";

/**
 * Steps as data: what a step will do on its node, as commands to run and files to write. The dry run's
 * lines are derived from the same values the step runs, so the two cannot drift apart. A step that must
 * decide at run time (joins, waits, read-then-change) keeps a `run` closure instead.
 */
export type Action = RunAction | WriteAction;

export interface RunAction {
  readonly kind: "run";
  readonly command: Command;
  /** An idempotent preparation (`mkdir -p` before a write): running it does not make the step "changed". */
  readonly preparation?: boolean;
  /** Not killed by Ctrl-C (a package install left halfway is worse than a wait): the run stops after it. */
  readonly uninterruptible?: boolean;
}

/** A file written atomically on the node; its content is never printed (it may hold secrets). */
export interface WriteAction {
  readonly kind: "write";
  readonly path: string;
  readonly content: string | Buffer;
  readonly mode: number;
  /** Write as root. */
  readonly sudo?: boolean;
  /** Keep the replaced file as PATH.hactl-bak. */
  readonly backup?: boolean;
}

export function runs(command: Command, opts: { preparation?: boolean; uninterruptible?: boolean } = {}): RunAction {
  return {
    kind: "run",
    command,
    ...(opts.preparation ? { preparation: true } : {}),
    ...(opts.uninterruptible ? { uninterruptible: true } : {}),
  };
}

export function writes(
  path: string,
  content: string | Buffer,
  opts: { mode: number; sudo?: boolean; backup?: boolean },
): WriteAction {
  return { kind: "write", path, content, ...opts };
}

/**
 * The dry-run line of a command: its argv joined, an inline script (a word with a newline) shown as
 * `<script>` or `<script: SUMMARY>`, passed through redact() (argv never holds a secret by design; a
 * secret registered anyway stays masked). Stdin, where secrets travel, is never shown.
 */
export function commandLine(command: Command): string {
  const words = command.argv.map((w) =>
    w.includes("\n") ? (command.summary ? `<script: ${command.summary}>` : "<script>") : w,
  );
  return redact(words.join(" "));
}

function modeText(mode: number): string {
  return `0${mode.toString(8)}`;
}

/** The dry-run lines of a sequence of actions, one per action. */
export function describeActions(actions: readonly Action[]): string[] {
  return actions.map((a) =>
    a.kind === "run"
      ? commandLine(a.command)
      : `write ${redact(a.path)} (${modeText(a.mode)}${a.backup ? ", backup kept" : ""})`,
  );
}

/**
 * Runs the actions in order on one host; the first failure, or Ctrl-C, stops the rest (Ctrl-C also
 * kills a running command unless it is uninterruptible). True (changed) when a command
 * ran (a command is not assumed to be a no-op; preparations excepted) or a file's content or mode
 * differed; false when every write found its file so and no other command ran.
 */
export async function runActions(host: RemoteHost, actions: readonly Action[], signal?: AbortSignal): Promise<boolean> {
  let changed = false;
  for (const a of actions) {
    if (signal?.aborted) throw interruptedError(signal);
    if (a.kind === "run") {
      await host.run(a.command, signal && !a.uninterruptible ? { signal } : {});
      if (!a.preparation) changed = true;
    } else {
      const opts = { mode: a.mode, ...(a.sudo ? { sudo: true } : {}), ...(a.backup ? { backup: true } : {}) };
      if ((await host.writeFile(a.path, a.content, opts)).changed) changed = true;
    }
  }
  return changed;
}
