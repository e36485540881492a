import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { HactlError } from "../core/errors.js";

/**
 * Output of a tool on a node that does not look as the tool documents it. The message names the command
 * and what was expected; the executor adds the node and the step it ran in, so the operator reads
 * "node-2: `kubeadm token create --print-join-command` printed … expected …" rather than "a bug in hactl".
 */
export function unexpectedOutput(command: string, expected: string, remedy?: string): HactlError {
  return new HactlError(
    "UNEXPECTED_OUTPUT",
    `\`${command}\` printed something hactl cannot read: expected ${expected}`,
    {
      remedy:
        remedy ??
        `Run \`${command}\` on the node by hand and compare it with the tool's documented output; another version of the tool may print it differently.`,
    },
  );
}

/** Parses a tool's JSON (or YAML) output against its schema, or fails with `unexpectedOutput`. */
export function parseRemote<T extends z.ZodType>(
  command: string,
  stdout: string,
  schema: T,
  format: "json" | "yaml" = "json",
): z.infer<T> {
  let raw: unknown;
  try {
    raw = format === "json" ? JSON.parse(stdout) : (parseYaml(stdout) ?? {});
  } catch {
    throw unexpectedOutput(command, `a ${format.toUpperCase()} document`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw unexpectedOutput(
      command,
      first ? `${first.path.join(".") || "the document"}: ${first.message}` : "a document of the documented shape",
    );
  }
  return parsed.data;
}
