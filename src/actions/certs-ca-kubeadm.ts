import { need } from "../core/host.js";
import { access } from "node:fs/promises";
import { resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { writeFileAtomic } from "../core/local-file.js";
import { HactlError } from "../core/errors.js";
import { describePlan } from "../core/plan.js";
import { registerSecret } from "../core/secrets.js";
import { ADMIN_CONF } from "../distros/kubeadm.js";
import { lbMachinesOutOfDate } from "../gather/lb-state.js";
import {
  STAGE,
  kubeadmCaRotationPhases,
  marksCommand,
  parseMarks,
  planKubeadmCaRotation,
  stagedCommand,
  type RotationMark,
} from "../phases/certs-ca-kubeadm.js";
import { kubeconfigSecrets } from "../phases/kubeconfig.js";
import { serviceLayoutFiles } from "../phases/out-of-service.js";
import type { ClusterSpec } from "../spec/schema.js";
import { apiEndpoint } from "./converge-stages.js";
import { applyLocked } from "./locked-apply.js";
import { serviceLayoutInput } from "./service-layout.js";
import { lockNode, machinesOf, openSession } from "./session.js";
import { waitLivez } from "./verify-api.js";

/** What replacing the CAs of a kubeadm cluster breaks: shown before it asks (or needs --yes). */
export const KUBEADM_CA_ROTATION_EFFECTS = [
  "Replacing the cluster, front-proxy and etcd CAs invalidates everything the old CAs signed once the rotation ends:",
  "  - kubeconfigs with a client certificate of the old CA (CI's, colleagues', any made with kubeadm kubeconfig user) stop working;",
  "    hactl rewrites admin.conf on the control planes and the exported <cluster>.kubeconfig here; fetch any other again (hactl kubeconfig);",
  "  - clients and pods that trust only the old CA (kube-root-ca.crt mounted before the rotation, webhooks and aggregated API servers",
  "    that pin it) fail to verify the API servers: restart them afterwards; service-account tokens are signed by sa.key, which is kept;",
  "  - kubeadm join commands printed before the rotation pin the old CA (hactl add-node makes a new one; kube-public/cluster-info gets the new CA);",
  "  - every control plane restarts etcd, the API server and the kubelet three times, one node at a time out of service; workers restart their kubelet twice.",
];

/**
 * `hactl certs renew --ca` on kubeadm: the new CAs made and copied, every node trusting both, the
 * control planes re-issued one at a time, the old CAs dropped; then the exported admin kubeconfig is
 * rewritten. A re-run after an interruption finishes the rotation from what the nodes recorded.
 * The caller (certs.ts rotateCa) has shown KUBEADM_CA_ROTATION_EFFECTS and has the confirmation.
 */
export async function rotateKubeadmCa(spec: ClusterSpec, opts: { dryRun: boolean }, ctx: RunContext): Promise<number> {
  const session = await openSession(spec, machinesOf(spec), ctx);
  try {
    const nodes = spec.spec.nodes;
    const source = nodes.find((n) => n.role === "control-plane");
    if (!source)
      throw new HactlError("USAGE", "cluster.yaml has no control plane; nothing was changed", {
        remedy: "Add a control-plane node to cluster.yaml.",
      });
    const staged = (await need(session.hosts, source.name).run(stagedCommand)).stdout.includes("staged");
    const done = new Map<string, Set<RotationMark>>();
    for (const n of nodes) done.set(n.name, parseMarks((await need(session.hosts, n.name).run(marksCommand)).stdout));
    const plan = planKubeadmCaRotation(nodes, { staged, done });
    const layout = await serviceLayoutInput(spec, session, ctx);
    const endpoint = apiEndpoint(spec);
    const staleLb = await lbMachinesOutOfDate(session.hosts, serviceLayoutFiles(layout, new Set()));
    const phases = kubeadmCaRotationPhases(layout, plan, {
      probe: waitLivez,
      staleLb,
      ...(endpoint ? { endpoint } : {}),
    });
    if (plan.resuming)
      ctx.reporter.info(`Finishing an interrupted CA rotation (the new CAs are in ${STAGE} on ${source.name}).`);
    if (staleLb.size > 0)
      ctx.reporter.info(
        `Putting every node back in service first (${[...staleLb].join(", ")} kept an interrupted run's load-balancer configs).`,
      );
    if (opts.dryRun) {
      ctx.reporter.phase("Plan (dry run: nothing is changed)");
      ctx.reporter.print(describePlan(phases));
      ctx.reporter.result({
        dryRun: true,
        resuming: plan.resuming,
        trust: plan.trust.map((n) => n.name),
        workers: plan.workers.map((n) => n.name),
        reissue: plan.reissue.map((n) => n.name),
        drop: plan.drop.map((n) => n.name),
      });
      return 0;
    }
    if (ctx.interactive) {
      ctx.reporter.print(describePlan(phases));
      const { confirm } = await import("../ui/prompts.js");
      if (!(await confirm(`Replace the CAs of ${spec.metadata.name}? Read the effects above.`, false)))
        throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
    const holder = lockNode(spec, session);
    await applyLocked(phases, spec, session, { command: "certs renew --ca", lockOn: holder, journalOn: holder }, ctx);
    const exported = await rewriteExportedKubeconfig(
      spec,
      await need(session.hosts, source.name).readFile(ADMIN_CONF, { sudo: true }),
    );
    const workers = nodes.filter((n) => n.role === "worker").map((n) => n.name);
    ctx.reporter.info(
      `Every node now trusts only the new CAs${workers.length > 0 ? ` (workers ${workers.join(", ")} included)` : ""}. ${exported ? `Rewrote ${exported} with the new admin credentials.` : "Fetch the new admin kubeconfig with hactl kubeconfig."} Other kubeconfigs made before now do not verify any more.`,
    );
    ctx.reporter.result({ caReplaced: true, nodes: nodes.map((n) => n.name), kubeconfig: exported ?? null });
    return 0;
  } finally {
    await session.close();
  }
}

/** The kubeconfig install exported (`<cluster>.kubeconfig` here), replaced by the new admin.conf when it exists. */
async function rewriteExportedKubeconfig(
  spec: ClusterSpec,
  adminConf: string | undefined,
): Promise<string | undefined> {
  const file = resolve(`${spec.metadata.name}.kubeconfig`);
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (!exists || !adminConf) return undefined;
  for (const secret of kubeconfigSecrets(adminConf)) registerSecret(secret);
  await writeFileAtomic(file, adminConf, { mode: 0o600 });
  return file;
}
