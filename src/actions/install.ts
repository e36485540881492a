import { writeFileAtomic } from "../core/local-file.js";
import { resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { gatherMicrok8sState } from "../gather/microk8s-state.js";
import { parseNodes } from "../distros/kubectl.js";
import { byDistribution } from "../distros/registry.js";
import { MICROK8S_API_PORT, MICROK8S_PORTS, kubeconfigForVip, microk8s, parseStatus } from "../distros/microk8s.js";
import { planMicrok8sInstall } from "../phases/install-microk8s.js";
import { authorizeInstallKeys } from "./install-key.js";
import { readJoinedWorkerProxies } from "../gather/worker-proxy-state.js";
import { loadSpecFile } from "../spec/parse.js";
import { planSharedMounts, sharedMountChecks } from "../phases/shared-mounts.js";
import { planNfsStorage } from "../phases/nfs-storage.js";
import type { ClusterSpec } from "../spec/schema.js";
import {
  apiEndpoint,
  clusterPlanInput,
  gatherAllFacts,
  gatherNfsStorage,
  gatherSharedMounts,
  loadBalancerInputs,
  runPreflight,
  showOrApply,
} from "./converge-stages.js";
import { lockNode, type Session } from "./session.js";
import { withChangeSession } from "./runner.js";
import { waitLivez } from "./verify-api.js";
import type { InstallOptions } from "./install-options.js";
import { bundleFor } from "../bundle/local-files.js";
import { bundleChecks } from "../bundle/manifest.js";
import { basename } from "node:path";

export async function runInstall(opts: InstallOptions, ctx: RunContext): Promise<number> {
  const spec = await specForInstall(opts, ctx);
  const deploying = !opts.dryRun && !opts.skipDeploy && spec.spec.deploy.length > 0;
  const deploy = deploying ? await import("./deploy.js") : undefined;
  // spec.deploy's files and secret values are read before anything changes, so a missing one stops the run early.
  const reads = deploy ? await deploy.readDeployInputs(spec, opts.file ?? "cluster.yaml", ctx) : [];
  return withClusterSession(spec, "install", ctx, { lock: !opts.dryRun }, async (session) => {
    await authorizeInstallKeys(spec, session, opts, ctx);
    const code = await converge(spec, session, opts, ctx);
    // The application goes on once the cluster is healthy: converge returned after verifying the API.
    if (code === 0 && deploy) await deploy.deployAll(spec, reads, session, ctx);
    return code;
  });
}

/**
 * Connects to every machine of the spec and, for changing runs, holds the cluster lock while `work`
 * runs (a --dry-run writes nothing anywhere, not even the lock); always releases the lock and closes
 * the connections.
 */
export async function withClusterSession<T>(
  spec: ClusterSpec,
  command: string,
  ctx: RunContext,
  opts: { lock: boolean },
  work: (session: Session) => Promise<T>,
): Promise<T> {
  return withChangeSession(spec, { command, lock: opts.lock }, ctx, (session) => work(session));
}

async function specForInstall(opts: InstallOptions, ctx: RunContext): Promise<ClusterSpec> {
  if (opts.file) return (await loadSpecFile(opts.file)).spec;
  if (!ctx.interactive) {
    throw new HactlError("USAGE", "no cluster file given and no terminal to ask questions on", {
      remedy: "Run `hactl install -f cluster.yaml --yes`, or run `hactl install` in a terminal for the wizard.",
    });
  }
  const { runWizard } = await import("./wizard.js");
  const written = await runWizard({ out: "cluster.yaml" }, ctx);
  return (await loadSpecFile(written)).spec;
}

/**
 * Brings the machines to what the spec says: gather, preflight, plan, then apply (or print the plan for
 * --dry-run). Install, re-install and add-node all go through here; nodes already in place get no steps.
 */
export async function converge(
  spec: ClusterSpec,
  session: Session,
  opts: InstallOptions,
  ctx: RunContext,
): Promise<number> {
  return byDistribution(spec, { microk8s: convergeMicrok8s, kubeadm: convergeOnKubeadm })(spec, session, opts, ctx);
}

async function convergeOnKubeadm(
  spec: ClusterSpec,
  session: Session,
  opts: InstallOptions,
  ctx: RunContext,
): Promise<number> {
  return (await import("./kubeadm/converge.js")).convergeKubeadm(spec, session, opts, ctx);
}

async function convergeMicrok8s(
  spec: ClusterSpec,
  session: Session,
  opts: InstallOptions,
  ctx: RunContext,
): Promise<number> {
  const bundle = await bundleFor(spec, opts);
  const facts = await gatherAllFacts(spec, session, ctx);
  const state = await gatherMicrok8sState(session.hosts, spec.spec.nodes);
  const mounts = await gatherSharedMounts(spec, session, facts);
  const checks = runPreflight(spec, facts, MICROK8S_PORTS, state.installed, ctx, [
    ...(bundle ? bundleChecks(bundle.manifest, basename(bundle.path), spec, facts) : []),
    ...sharedMountChecks(spec, facts, mounts),
  ]);
  const lb = await loadBalancerInputs(spec, session, facts, checks, MICROK8S_API_PORT, opts, ctx);
  const endpoint = apiEndpoint(spec);
  const workerProxies = await readJoinedWorkerProxies(spec, session, state);
  const nfs = await gatherNfsStorage(spec, session, state.leader);
  const plan = [
    ...planMicrok8sInstall({
      ...clusterPlanInput(spec, facts, lb),
      state,
      apiEndpoint: endpoint && `${endpoint.host}:${endpoint.port}`,
      workerProxies,
      ...(bundle ? { bundle } : {}),
    }),
    ...planSharedMounts(spec, facts, mounts),
    ...planNfsStorage(spec, nfs.node, nfs.state),
  ];
  const applied = await showOrApply(plan, spec, session, lockNode(spec, session), opts, ctx);
  if (!applied || opts.finish === false) return 0;
  // What day-2 commands recorded in cluster.yaml (replicas, autoscaling, Linkerd, HA, external
  // services) is re-applied, so a re-install reaches the same state; nothing happens where it matches.
  // A cluster this run created holds no application state yet, so with none recorded there is nothing to read.
  const app = await import("./app/state.js");
  const fresh = state.installed.size === 0;
  if (!fresh || app.hasAppSettings(spec)) await app.applyAppState(spec, session, ctx);
  const leader = state.leader ?? spec.spec.nodes.find((n) => n.role === "control-plane")?.name;
  return finish(spec, session, leader, opts, ctx);
}

/**
 * Kubeconfig pointing at the VIP, a check that the API answers through it, and next steps. The leader
 * (the node that minted the join tokens) answers the reads, all at once.
 */
async function finish(
  spec: ClusterSpec,
  session: Session,
  leaderName: string | undefined,
  opts: InstallOptions,
  ctx: RunContext,
): Promise<number> {
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

  if (endpoint) {
    reporter.step(
      "cluster",
      `API ${apiOk ? "answers" : "does NOT answer"} through https://${endpoint.host}:${endpoint.port}`,
      apiOk ? "done" : "failed",
    );
  }
  const ready = nodes.code === 0 ? parseNodes(nodes.stdout).filter((n) => n.ready).length : 0;
  const haOn = parseStatus(status.stdout).haEnabled;
  reporter.step(
    "cluster",
    `${ready}/${spec.spec.nodes.length} nodes Ready, high availability ${haOn ? "on" : "off"}`,
    ready === spec.spec.nodes.length ? "done" : "failed",
  );
  reporter.result({
    cluster: spec.metadata.name,
    kubeconfig: kubeconfigPath,
    endpoint,
    apiReachable: apiOk,
    nodesReady: ready,
    nodes: spec.spec.nodes.length,
  });
  reporter.print(
    `\nKubeconfig written to ${kubeconfigPath} (mode 0600).\nNext: KUBECONFIG=${kubeconfigPath} kubectl get nodes · hactl status -f <cluster.yaml>`,
  );
  if (apiOk === false) {
    throw new HactlError("UNHEALTHY", "the cluster is installed but its API does not answer through the VIP", {
      remedy: "Run `hactl status` to see which load balancer or node is down.",
    });
  }
  return 0;
}
