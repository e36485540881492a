/**
 * What shell completion needs to know about hactl's commands, read from the commander program itself
 * (so a new command or flag is completed without touching the completion scripts).
 */
import type { Command, Option } from "commander";

export interface FlagModel {
  /** "--file" */
  long: string;
  /** "-f", when the option has one. */
  short?: string | undefined;
  description: string;
  /** The option takes a value (`--file <path>`). */
  takesValue: boolean;
  /** The value is a path: completed with file names. */
  pathValue: boolean;
  /** The only values allowed, completed as words. */
  choices: readonly string[];
}

export interface CommandModel {
  name: string;
  description: string;
  flags: FlagModel[];
  /** Per positional argument, in order: what to offer. */
  args: ArgCompletion[];
}

/** A positional argument: fixed words, the node names of cluster.yaml, or nothing. */
export type ArgCompletion = { kind: "words"; words: readonly string[] } | { kind: "nodes" } | { kind: "none" };

export interface CliModel {
  globalFlags: FlagModel[];
  commands: CommandModel[];
}

const PATH_PLACEHOLDER = /<(path|dir|file)>/;

function flagOf(o: Option): FlagModel | undefined {
  if (!o.long) return undefined;
  return {
    long: o.long,
    ...(o.short ? { short: o.short } : {}),
    description: o.description,
    takesValue: o.required || o.optional,
    pathValue: PATH_PLACEHOLDER.test(o.flags),
    choices: o.argChoices ?? [],
  };
}

/** Node names are offered for an argument called <node>, and for the name argument of the *-node commands. */
function argOf(cmd: Command, index: number): ArgCompletion {
  const arg = cmd.registeredArguments[index];
  if (!arg) return { kind: "none" };
  if (arg.argChoices && arg.argChoices.length > 0) return { kind: "words", words: arg.argChoices };
  if (arg.name() === "node" || (index === 0 && cmd.name().endsWith("-node"))) return { kind: "nodes" };
  return { kind: "none" };
}

export function cliModel(program: Command): CliModel {
  const help = program.createHelp();
  const flags = (cmd: Command): FlagModel[] =>
    help
      .visibleOptions(cmd)
      .map(flagOf)
      .filter((f): f is FlagModel => f !== undefined);
  return {
    globalFlags: flags(program),
    commands: help
      .visibleCommands(program)
      .filter((c) => c.name() !== "help")
      .map((c) => ({
        name: c.name(),
        description: c.description(),
        flags: flags(c),
        args: c.registeredArguments.map((_, i) => argOf(c, i)),
      })),
  };
}
