import { need } from "../../core/host.js";
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../../core/local-file.js";
import { resolve } from "node:path";
import { readBundleMember, type LocalBundle } from "../../bundle/local-files.js";
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import { ADMIN_CONF, KUBEADM_API_PORT } from "../../distros/kubeadm.js";
import { gatherKubeadmState, hasVotingMember, type KubeadmClusterState } from "../../gather/kubeadm-state.js";
import { planKubeadmInstall } from "../../phases/kubeadm/install.js";
import type { ClusterSpec } from "../../spec/schema.js";
import {
  apiEndpoint,
  clusterPlanInput,
  gatherCluster,
  storagePhases,
  type ClusterReads,
  type DistributionConverge,
} from "../converge-stages.js";
import type { InstallOptions } from "../install-options.js";
import type { Session } from "../session.js";
import { reportInstalled } from "../install-report.js";
import { waitLivez } from "../verify-api.js";

/** The address every client and kubeadm itself uses for the API: the load balancer's, or the first control plane. */
export function controlPlaneEndpoint(spec: ClusterSpec): { host: string; port: number } {
  const viaLb = apiEndpoint(spec);
  if (viaLb) return viaLb;
  const first = spec.spec.nodes.find((n) => n.role === "control-plane");
  return { host: first?.address ?? "", port: KUBEADM_API_PORT };
}

interface KubeadmReads extends ClusterReads<KubeadmClusterState> {
  /** The CNI manifest's text: the bundle's, spec.distribution.cni.manifest's, or none (the bundled Calico). */
  cniManifest: string | undefined;
}

/**
 * kubeadm's part of install and add-node: the shared reads (kubeadm's ports, the LB layout on 6443) and
 * the CNI manifest, its own plan, and a kubeconfig through the endpoint. Nodes already in the cluster
 * get no join steps.
 */
export function kubeadmConverge(
  spec: ClusterSpec,
  opts: InstallOptions,
  ctx: RunContext,
): DistributionConverge<KubeadmReads> {
  const dist = spec.spec.distribution;
  if (dist.type !== "kubeadm") throw new HactlError("INTERNAL", "kubeadmConverge called for another distribution");
  return {
    async gather(session) {
      const reads = await gatherCluster(spec, session, opts, ctx, gatherKubeadmState);
      const cniManifest = reads.bundle
        ? await bundleCniManifest(reads.bundle)
        : dist.cni.manifest
          ? await readCniManifest(dist.cni.manifest)
          : undefined;
      return { ...reads, cniManifest };
    },
    plan(reads) {
      const endpoint = controlPlaneEndpoint(spec);
      return [
        ...planKubeadmInstall({
          ...clusterPlanInput(spec, reads.facts, reads.lb),
          state: reads.state,
          controlPlaneEndpoint: `${endpoint.host}:${endpoint.port}`,
          cniManifest: reads.cniManifest,
          ...(reads.bundle ? { bundle: reads.bundle } : {}),
        }),
        ...storagePhases(spec, reads),
      ];
    },
    finish: (_reads, session) => finishKubeadm(spec, session, opts, ctx),
  };
}

/** The CNI manifest the bundle carries (applied from its text: no node fetches a URL). */
async function bundleCniManifest(bundle: LocalBundle): Promise<string> {
  const file = bundle.manifest.files.find((f) => f.kind === "cni-manifest");
  const text = file && (await readBundleMember(bundle.path, file.name));
  if (!text)
    throw new HactlError(
      "INTERNAL",
      `the bundle ${bundle.path} has no CNI manifest (preflight should have refused it)`,
    );
  return text.toString("utf8");
}

async function readCniManifest(path: string): Promise<string> {
  try {
    return await readFile(resolve(path), "utf8");
  } catch (err) {
    throw new HactlError("USAGE", `cannot read the CNI manifest ${path}: ${(err as Error).message}`, {
      remedy: "Fix spec.distribution.cni.manifest (a path on this machine), or remove it to use the bundled Calico.",
    });
  }
}

/** The admin kubeconfig (its server is already the control-plane endpoint), an API check through it, a summary. */
async function finishKubeadm(
  spec: ClusterSpec,
  session: Session,
  opts: InstallOptions,
  ctx: RunContext,
): Promise<void> {
  const { reporter } = ctx;
  const state = await gatherKubeadmState(session.hosts, spec.spec.nodes);
  if (!state.leader) throw new HactlError("INTERNAL", "no control-plane node answers after install");
  const config = await need(session.hosts, state.leader).readFile(ADMIN_CONF, { sudo: true });
  if (!config) throw new HactlError("INTERNAL", `${ADMIN_CONF} is missing on ${state.leader}`);
  const kubeconfigPath = resolve(opts.kubeconfig ?? `${spec.metadata.name}.kubeconfig`);
  await writeFileAtomic(kubeconfigPath, config, { mode: 0o600 });

  reporter.phase("Verify");
  const endpoint = controlPlaneEndpoint(spec);
  const apiOk = await waitLivez(endpoint.host, endpoint.port, 60_000);
  const ready = state.kubeNodes.filter((n) => n.ready).length;
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const voting = cps.filter((n) => hasVotingMember(state, n.address)).length;
  reportInstalled(
    spec,
    {
      kubeconfigPath,
      endpoint,
      apiOk,
      nodesReady: ready,
      datastore: { text: `${voting}/${cps.length} control planes are etcd members`, ok: voting === cps.length },
      extra: { etcdMembers: state.members.length },
    },
    ctx,
  );
}
