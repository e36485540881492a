/**
 * `hactl completion bash|zsh|fish` prints a completion script; `hactl __complete-nodes` (hidden) is what
 * those scripts run to offer node names. Neither writes a log file or connects anywhere: they run on
 * every shell start and every Tab.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { cliModel } from "./completion-model.js";
import { completionScript, type Shell } from "./completion-scripts.js";

export function runCompletion(shell: Shell, program: Command): void {
  process.stdout.write(completionScript(shell, cliModel(program)));
}

/** cluster.yaml's host-label rule (PATTERNS.HOST_LABEL; a test keeps them equal), without loading zod on every Tab. */
export const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const record = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * The names of cluster.yaml's nodes and external load-balancer hosts, read with the YAML parser alone
 * (no schema: cheap, and still useful in a file with mistakes elsewhere). Only valid host labels are
 * returned, so nothing a shell would expand ever reaches the completion.
 */
export function machineNames(text: string): string[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return [];
  }
  const spec = record(record(doc).spec);
  const hosts = list(record(record(record(spec.loadBalancer).external)).hosts);
  const names = [...list(spec.nodes), ...hosts].map((m) => record(m).name);
  return [...new Set(names.filter((n): n is string => typeof n === "string" && HOST_LABEL.test(n)))];
}

export async function runCompleteNodes(file: string): Promise<void> {
  const text = await readFile(file, "utf8").catch(() => "");
  const names = machineNames(text);
  if (names.length > 0) process.stdout.write(`${names.join("\n")}\n`);
}
