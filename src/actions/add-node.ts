import { writeFileAtomic } from "../core/local-file.js";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { addNode } from "../spec/edit.js";
import { loadSpecFile } from "../spec/parse.js";
import { parseSpec } from "../spec/parse.js";
import { formatProblems } from "../spec/problems.js";
import type { ClusterSpec } from "../spec/schema.js";
import { authorizeInstallKeys } from "./install-key.js";
import { converge, withClusterSession } from "./install.js";

export interface AddNodeOptions {
  name: string;
  address?: string;
  role: "control-plane" | "worker";
  user?: string;
  file: string;
  dryRun: boolean;
  /** An offline bundle to install the node from (else spec.airgap.bundle). */
  bundle?: string;
}

/**
 * `hactl add-node`: the node goes into the desired spec (from cluster.yaml or the flags), then the same
 * converge as install runs: only the new node gets prepare/install/join steps (joined with a fresh token
 * from a healthy control plane), and every load balancer whose config now differs gets the new backend
 * (and VRRP peer). cluster.yaml is written only after the node joined, keeping its comments and order.
 */
export async function runAddNode(opts: AddNodeOptions, ctx: RunContext): Promise<number> {
  const loaded = await loadSpecFile(opts.file);
  const known = loaded.spec.spec.nodes.find((n) => n.name === opts.name);
  let text = loaded.text;
  if (!known) {
    if (!opts.address) {
      throw new HactlError("USAGE", `node ${opts.name} is not in ${opts.file} and no --address was given`, {
        remedy: `Run hactl add-node ${opts.name} --address <ip> [--role worker], or add it to spec.nodes first.`,
      });
    }
    text = addNode(loaded.text, {
      name: opts.name,
      address: opts.address,
      role: opts.role,
      ...(opts.user ? { ssh: { user: opts.user } } : {}),
    });
  }
  const spec = parseEdited(text, opts.file);
  ctx.reporter.info(
    `Adding ${opts.name} (${spec.spec.nodes.find((n) => n.name === opts.name)?.role}) to ${spec.metadata.name}.`,
  );
  const code = await withClusterSession(spec, "add-node", ctx, { lock: !opts.dryRun }, async (session) => {
    await authorizeInstallKeys(spec, session, opts, ctx);
    return converge(
      spec,
      session,
      { dryRun: opts.dryRun, finish: false, command: "add-node", ...(opts.bundle ? { bundle: opts.bundle } : {}) },
      ctx,
    );
  });
  if (!opts.dryRun && text !== loaded.text) {
    await writeFileAtomic(opts.file, text);
    ctx.reporter.info(`Recorded ${opts.name} in ${opts.file}.`);
  }
  return code;
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
