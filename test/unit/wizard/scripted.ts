// A Prompter that answers from a script, checking each question's text and running its validation the
// way the terminal does: a refused answer is recorded and the same question takes the next answer.
import type { Choice, Prompter } from "../../../src/wizard/prompter.js";
import type { Check } from "../../../src/wizard/validate.js";

/** A question pattern and the answer to give; DEFAULT takes the question's suggested value. */
export type Step = [RegExp, string | boolean | typeof DEFAULT];
export const DEFAULT = Symbol("default");

export interface Asked {
  kind: "input" | "confirm" | "select";
  message: string;
  initial?: string | boolean | undefined;
  choices?: string[];
}

export class ScriptedPrompter implements Prompter {
  readonly asked: Asked[] = [];
  readonly refused: { message: string; answer: string; reason: string }[] = [];
  readonly said: string[] = [];
  private next = 0;

  constructor(private readonly steps: readonly Step[]) {}

  get remaining(): number {
    return this.steps.length - this.next;
  }

  private take(message: string): Step[1] {
    const step = this.steps[this.next];
    if (!step) throw new Error(`unscripted question: ${message}`);
    if (!step[0].test(message))
      throw new Error(
        `question ${JSON.stringify(message)} does not match script step ${this.next} (${String(step[0])})`,
      );
    this.next += 1;
    return step[1];
  }

  async input(message: string, opts: { initial?: string | undefined; validate?: Check } = {}): Promise<string> {
    this.asked.push({ kind: "input", message, initial: opts.initial });
    for (;;) {
      const raw = this.take(message);
      const answer = raw === DEFAULT ? (opts.initial ?? "") : String(raw).trim();
      const verdict = opts.validate ? opts.validate(answer) : true;
      if (verdict === true) return answer;
      this.refused.push({ message, answer, reason: verdict });
    }
  }

  async confirm(message: string, initial: boolean): Promise<boolean> {
    this.asked.push({ kind: "confirm", message, initial });
    const raw = this.take(message);
    if (raw === DEFAULT) return initial;
    if (typeof raw !== "boolean") throw new Error(`confirm ${message} needs true/false in the script`);
    return raw;
  }

  async select<T extends string>(message: string, choices: readonly Choice<T>[], initial?: T): Promise<T> {
    this.asked.push({ kind: "select", message, initial, choices: choices.map((c) => c.value) });
    const raw = this.take(message);
    const value = raw === DEFAULT ? (initial ?? choices[0]?.value) : raw;
    const found = choices.find((c) => c.value === value);
    if (!found)
      throw new Error(`select ${message}: ${String(value)} is not one of ${choices.map((c) => c.value).join(", ")}`);
    return found.value;
  }

  say(message: string): void {
    this.said.push(message);
  }
}
