import type { RunContext } from "../../core/context.js";

/** A command body: gets the run context and its own parsed options; returns an exit code (default 0). */
export type CommandBody = (ctx: RunContext) => Promise<number | void>;

/** How a command is declared beyond its flags. */
export interface CommandKind {
  /**
   * A read-only report (status, validate, schema, …): with --output json it prints exactly one JSON
   * document on stdout, its result or its error. Commands that change things leave this out and stream
   * one JSON event per line.
   */
  readonly report?: boolean;
}

/** Runs one command's body: main.ts passes the real runner (output, signals, errors), tests a recorder. */
export type RunCommand = (name: string, body: CommandBody, kind: CommandKind) => Promise<void>;

/** Turns a command body into its commander action; `{ report: true }` marks a read-only report (one JSON document). */
export type Wrap = (name: string, body: CommandBody, kind?: CommandKind) => () => Promise<void>;
