import type { Phase } from "../core/plan.js";
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

/** --drain-timeout, already refused by the command line unless a whole number of seconds in range. */
export function drainSeconds(opts: Pick<RemoveNodeOptions, "drainTimeout">): number {
  return Number(opts.drainTimeout);
}
