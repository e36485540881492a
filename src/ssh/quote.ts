/**
 * The one place where an argv becomes a string for the remote POSIX shell. Every remote command is built
 * here; nothing else in hactl concatenates shell text.
 */
import { HactlError } from "../core/errors.js";

/** Characters that no POSIX shell treats specially anywhere in a word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;
/** `=` is also plain, except in the first word, where `A=b` would be an assignment, not a command. */
const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one word so the shell passes it through unchanged: single quotes, with `'` written as `'\''`. */
export function quoteArg(word: string, first = false): string {
  if (word.includes("\0")) {
    throw new HactlError("USAGE", "a command argument contains a NUL byte, which no remote shell can pass on", {
      remedy: "Remove the NUL byte from the value (check cluster.yaml and any file content used as an argument).",
    });
  }
  if ((first ? SAFE_WORD : SAFE_ARG).test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Turn an argv into one shell-safe command line; the remote shell splits it back into exactly argv. */
export function quote(argv: readonly string[]): string {
  return argv.map((word, i) => quoteArg(word, i === 0)).join(" ");
}

/**
 * A short, redaction-friendly label for a command in messages: its first words, quoted; an inline
 * script (`sh -c '...'`) is cut to its first line.
 */
export function describeArgv(argv: readonly string[], words = 3): string {
  const cut = argv.slice(0, words).map((w) => {
    const line = w.split("\n")[0] ?? "";
    return line.length > 40 || line !== w ? `${line.slice(0, 40)}…` : w;
  });
  const shown = quote(cut);
  return argv.length > words ? `${shown} …` : shown;
}
