import { resolve } from "node:path";
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import { writeFileAtomic } from "../../core/local-file.js";
import { parseNodes } from "../../distros/kubectl.js";
import { kubeconfigForVip, microk8s, parseStatus } from "../../distros/microk8s.js";
import { gatherMicrok8sState, type Microk8sClusterState } from "../../gather/microk8s-state.js";
import { readJoinedWorkerProxies, type WorkerProxyFiles } from "../../gather/worker-proxy-state.js";
import { planMicrok8sInstall } from "../../phases/install-microk8s.js";
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

interface Microk8sReads extends ClusterReads<Microk8sClusterState> {
  /** The worker proxies' files on the workers that already joined. */
  workerProxies: Map<string, WorkerProxyFiles>;
}

/**
 * MicroK8s's part of install and add-node: the shared reads (MicroK8s's ports, the LB layout on 16443)
 * and the joined workers' proxies, its own plan, and at the end of an install what day-2 commands
 * recorded in cluster.yaml re-applied, a kubeconfig through the VIP and the API checked.
 */
export function microk8sConverge(
  spec: ClusterSpec,
  opts: InstallOptions,
  ctx: RunContext,
): DistributionConverge<Microk8sReads> {
  return {
    async gather(session) {
      const reads = await gatherCluster(spec, session, opts, ctx, gatherMicrok8sState);
      return { ...reads, workerProxies: await readJoinedWorkerProxies(spec, session, reads.state) };
    },
    plan(reads) {
      const endpoint = apiEndpoint(spec);
      return [
        ...planMicrok8sInstall({
          ...clusterPlanInput(spec, reads.facts, reads.lb),
          state: reads.state,
          apiEndpoint: endpoint && `${endpoint.host}:${endpoint.port}`,
          workerProxies: reads.workerProxies,
          ...(reads.bundle ? { bundle: reads.bundle } : {}),
        }),
        ...storagePhases(spec, reads),
      ];
    },
    async finish(reads, session) {
      // What day-2 commands recorded in cluster.yaml (replicas, autoscaling, Linkerd, HA, external
      // services) is re-applied, so a re-install reaches the same state; nothing happens where it matches.
      // A cluster this run created holds no application state yet, so with none recorded there is nothing to read.
      const app = await import("../app/state.js");
      const fresh = reads.state.installed.size === 0;
      if (!fresh || app.hasAppSettings(spec)) await app.applyAppState(spec, session, ctx);
      const leader = reads.state.leader ?? spec.spec.nodes.find((n) => n.role === "control-plane")?.name;
      await finishMicrok8s(spec, session, leader, opts, ctx);
    },
  };
}

/**
 * Kubeconfig pointing at the VIP, a check that the API answers through it, and next steps. The leader
 * (the node that minted the join tokens) answers the reads, all at once.
 */
async function finishMicrok8s(
  spec: ClusterSpec,
  session: Session,
  leaderName: string | undefined,
  opts: InstallOptions,
  ctx: RunContext,
): Promise<void> {
  const { reporter } = ctx;
  const endpoint = apiEndpoint(spec);
  const leader = leaderName ? session.hosts.get(leaderName) : undefined;
  if (!leader) throw new HactlError("INTERNAL", `no connection to the leader ${leaderName ?? "(none)"} after install`);
  reporter.phase("Verify");
  const livez = endpoint ? waitLivez(endpoint.host, endpoint.port, 60_000) : Promise.resolve(undefined);
  const [config, nodes, status] = await Promise.all([
    leader.run(microk8s.config()),
    leader.exec(microk8s.kubectl("get", "nodes", "-o", "json")),
    leader.exec(microk8s.statusYaml()),
  ]);
  // Written before the API check's wait, so a Ctrl-C during that wait still leaves the kubeconfig.
  const kubeconfigPath = resolve(opts.kubeconfig ?? `${spec.metadata.name}.kubeconfig`);
  const content = endpoint ? kubeconfigForVip(config.stdout, endpoint.host, endpoint.port) : config.stdout;
  await writeFileAtomic(kubeconfigPath, content, { mode: 0o600 });
  const apiOk = await livez;

  const ready = nodes.code === 0 ? parseNodes(nodes.stdout).filter((n) => n.ready).length : 0;
  const haOn = parseStatus(status.stdout).haEnabled;
  reportInstalled(
    spec,
    {
      kubeconfigPath,
      endpoint,
      apiOk,
      nodesReady: ready,
      datastore: { text: `high availability ${haOn ? "on" : "off"}`, ok: true },
    },
    ctx,
  );
}
