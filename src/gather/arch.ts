/**
 * Each node's architecture as `uname -m` prints it: what an offline bundle is checked against when a
 * command (upgrade) has no full facts of the nodes.
 */
import { need, type RemoteHost } from "../core/host.js";
import { forEachNode } from "../core/parallel.js";
import { unexpectedOutput } from "../distros/remote-output.js";
import type { NodeSpec } from "../spec/schema.js";
import type { NodeFacts } from "./facts.js";

/** Parses `uname -m`: one machine name such as x86_64 or aarch64. */
export function parseUnameMachine(stdout: string): string {
  const machine = stdout.trim();
  if (!/^[A-Za-z0-9_]+$/.test(machine)) throw unexpectedOutput("uname -m", "one machine name such as x86_64");
  return machine;
}

export async function gatherArchitectures(
  hosts: ReadonlyMap<string, RemoteHost>,
  nodes: readonly NodeSpec[],
): Promise<Map<string, Pick<NodeFacts, "arch">>> {
  return forEachNode("Read the nodes' architecture", nodes, async (node) => {
    const res = await need(hosts, node.name).run({ argv: ["uname", "-m"] });
    return { arch: parseUnameMachine(res.stdout) };
  });
}
