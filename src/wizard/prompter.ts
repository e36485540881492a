/**
 * How the question flow talks to the operator. The terminal prompter goes through src/ui/prompts.ts;
 * tests script the answers with their own Prompter.
 */
import type { Reporter } from "../core/output.js";
import { both, checkInt, type Check } from "./validate.js";

export interface Choice<T extends string> {
  value: T;
  name: string;
}

export interface Prompter {
  /** Free text; a failing check shows its message and asks again. The answer comes back trimmed. */
  input(message: string, opts?: { initial?: string | undefined; validate?: Check }): Promise<string>;
  confirm(message: string, initial: boolean): Promise<boolean>;
  select<T extends string>(message: string, choices: readonly Choice<T>[], initial?: T): Promise<T>;
  /** An explanation between questions (not a question). */
  say(message: string): void;
}

export function terminalPrompter(reporter: Reporter): Prompter {
  return {
    async input(message, opts = {}) {
      const { input } = await import("../ui/prompts.js");
      const validate = opts.validate;
      const answer = await reporter.pause(() =>
        input(message, {
          ...(opts.initial !== undefined && opts.initial !== "" ? { initial: opts.initial } : {}),
          ...(validate ? { validate: (v: string) => validate(v.trim()) } : {}),
        }),
      );
      return answer.trim();
    },
    async confirm(message, initial) {
      const { confirm } = await import("../ui/prompts.js");
      return reporter.pause(() => confirm(message, initial));
    },
    async select(message, choices, initial) {
      const { select } = await import("../ui/prompts.js");
      return reporter.pause(() => select(message, choices, initial));
    },
    say(message) {
      reporter.info(message);
    },
  };
}

/** Asks for a whole number within bounds. */
export async function askInt(
  p: Prompter,
  message: string,
  min: number,
  max: number,
  initial: number,
  extra?: Check,
): Promise<number> {
  const check = extra ? both(checkInt(min, max), extra) : checkInt(min, max);
  return Number(await p.input(message, { initial: String(initial), validate: check }));
}
