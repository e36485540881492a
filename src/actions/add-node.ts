import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { addNode, setPath } from "../spec/edit.js";
import { loadSpecFile } from "../spec/parse.js";
import { parseSpec } from "../spec/parse.js";
import { formatProblems } from "../spec/problems.js";
import type { ClusterSpec } from "../spec/schema.js";
import { runConverge } from "./install.js";

export interface AddNodeOptions {
  name: string;
  address?: string;
  role: "control-plane" | "worker";
  /** Also a gateway node (gateway: true in cluster.yaml): it holds loadBalancer.web.vip with the others. */
  gateway?: boolean;
  user?: string;
  file: string;
  dryRun: boolean;
  /** An offline bundle to install the node from (else spec.airgap.bundle). */
  bundle?: string;
}

/**
 * `hactl add-node`: the node goes into the desired spec (from cluster.yaml or the flags), then the same
 * converge as install runs through the one runner: only the new node gets prepare/install/join steps
 * (joined with a fresh token from a healthy control plane), and every load balancer whose config now
 * differs gets the new backend (and VRRP peer). cluster.yaml is written atomically only after the node
 * joined, keeping its comments and order.
 */
export async function runAddNode(opts: AddNodeOptions, ctx: RunContext): Promise<number> {
  const loaded = await loadSpecFile(opts.file);
  const text = withNode(loaded.text, loaded.spec, opts);
  const spec = parseEdited(text, opts.file);
  const node = spec.spec.nodes.find((n) => n.name === opts.name);
  const roles = [node?.role, ...(node?.gateway === true ? ["gateway"] : [])].join(", ");
  ctx.reporter.info(`Adding ${opts.name} (${roles}) to ${spec.metadata.name}.`);
  await runConverge(spec, { dryRun: opts.dryRun, ...(opts.bundle ? { bundle: opts.bundle } : {}) }, ctx, {
    command: "add-node",
    finish: false,
    record: () =>
      text === loaded.text ? undefined : { file: opts.file, text, note: `Recorded ${opts.name} in ${opts.file}.` },
  });
  return 0;
}

/**
 * cluster.yaml's text with the node to add: appended from the flags when it is not listed, or made a
 * gateway node when --gateway names a listed node that is not one yet; unchanged otherwise.
 */
export function withNode(
  text: string,
  current: ClusterSpec,
  opts: Pick<AddNodeOptions, "name" | "address" | "role" | "gateway" | "user" | "file">,
): string {
  if (opts.gateway === true && current.spec.loadBalancer.web.vip === undefined) {
    throw new HactlError("USAGE", `--gateway: ${opts.file} has no loadBalancer.web.vip for gateway nodes to hold`, {
      remedy:
        "Add web: { enabled: true, vip: <a free address> } under spec.loadBalancer (two or more gateway nodes hold it), then run add-node again.",
    });
  }
  const index = current.spec.nodes.findIndex((n) => n.name === opts.name);
  const known = current.spec.nodes[index];
  if (known) {
    return opts.gateway === true && known.gateway !== true
      ? setPath(text, ["spec", "nodes", index, "gateway"], true)
      : text;
  }
  if (!opts.address) {
    throw new HactlError("USAGE", `node ${opts.name} is not in ${opts.file} and no --address was given`, {
      remedy: `Run hactl add-node ${opts.name} --address <ip> [--role worker] [--gateway], or add it to spec.nodes first.`,
    });
  }
  return addNode(text, {
    name: opts.name,
    address: opts.address,
    role: opts.role,
    ...(opts.gateway === true ? { gateway: true } : {}),
    ...(opts.user ? { ssh: { user: opts.user } } : {}),
  });
}

export function parseEdited(text: string, file: string): ClusterSpec {
  const { spec, problems } = parseSpec(text, file);
  if (!spec) {
    throw new HactlError("SPEC_INVALID", "the cluster with this change would not be valid", {
      details: formatProblems(problems, file),
      remedy: "Fix the flags (or cluster.yaml) as shown above.",
    });
  }
  return spec;
}
