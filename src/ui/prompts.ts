import { HactlError } from "../core/errors.js";

/**
 * The only module that talks to @inquirer/prompts. Ctrl-C inside a prompt becomes USER_ABORTED (exit
 * 130) here, in one place.
 */
async function guard<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (err) {
    if (err instanceof Error && (err.name === "ExitPromptError" || err.name === "AbortPromptError")) {
      throw new HactlError("USER_ABORTED", "cancelled at a prompt; nothing was changed by the question");
    }
    throw err;
  }
}

export async function confirm(message: string, initial = false): Promise<boolean> {
  const { confirm: ask } = await import("@inquirer/prompts");
  return guard(() => ask({ message, default: initial }));
}

export async function input(
  message: string,
  opts: { initial?: string; validate?: (v: string) => true | string } = {},
): Promise<string> {
  const { input: ask } = await import("@inquirer/prompts");
  return guard(() =>
    ask({
      message,
      ...(opts.initial !== undefined ? { default: opts.initial } : {}),
      ...(opts.validate ? { validate: opts.validate } : {}),
    }),
  );
}

export async function secret(message: string): Promise<string> {
  const { password: ask } = await import("@inquirer/prompts");
  return guard(() => ask({ message, mask: "*" }));
}

export async function select<T extends string>(
  message: string,
  choices: readonly { value: T; name: string }[],
  initial?: T,
): Promise<T> {
  const { select: ask } = await import("@inquirer/prompts");
  return guard(() =>
    ask<T>({ message, choices: [...choices], ...(initial !== undefined ? { default: initial } : {}) }),
  );
}

export async function checkbox<T extends string>(
  message: string,
  choices: readonly { value: T; name: string; checked?: boolean }[],
): Promise<T[]> {
  const { checkbox: ask } = await import("@inquirer/prompts");
  return guard(() => ask<T>({ message, choices: [...choices] }));
}
