import { runs } from "../core/action.js";
import type { Command } from "../core/command.js";
import { actionStep, type Phase } from "../core/plan.js";
import { drainCommand } from "../distros/kubectl.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import type { Session } from "./session.js";

export interface RemoveNodeOptions {
  name: string;
  force: boolean;
  drainTimeout: string;
  file: string;
  dryRun: boolean;
}

/**
 * What a distribution contributes to a removal; the rest (LBs first, lock, journal, spec) is shared. Its
 * API port and wipe hint come from the distribution's driver (src/distros/registry.ts).
 */
export interface RemovalDriver {
  /** Pure-ish safety check from the remaining reachable nodes: refusals with numbers, and who runs it. */
  check(
    spec: ClusterSpec,
    session: Session,
    target: NodeSpec,
    reachable: ReadonlySet<string>,
  ): Promise<{ refusals: string[]; runner: string | undefined; warnings?: string[] }>;
  /** The distribution's phases once the node is out of the load balancers: drain, leave/reset, member removal. */
  phases(target: NodeSpec, runner: string, opts: RemoveNodeOptions, onNode: boolean): Phase[];
}

/**
 * The drain of a node before it leaves, run from `runner` with the distribution's kubectl: cordon, evict
 * (daemon sets stay, emptyDir data goes) within --drain-timeout. Nothing when the node is removed with --force.
 */
export function drainPhases(
  target: NodeSpec,
  runner: string,
  opts: Pick<RemoveNodeOptions, "drainTimeout" | "force">,
  kubectl: (...args: string[]) => Command,
  extraFlags: readonly string[] = [],
): Phase[] {
  if (opts.force) return [];
  const drain = drainCommand(kubectl, target.name, Number(opts.drainTimeout), extraFlags);
  return [
    {
      title: `Drain ${target.name}`,
      mode: "serial",
      steps: [
        actionStep({
          id: `drain:${target.name}`,
          node: runner,
          title: `cordon and drain ${target.name}`,
          actions: [runs(drain)],
        }),
      ],
    },
  ];
}
