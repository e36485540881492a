import { basename } from "node:path";
import { need, type RemoteHost } from "../core/host.js";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { forEachNode } from "../core/parallel.js";
import type { Phase, Plan } from "../core/plan.js";
import { bundleFor, type LocalBundle } from "../bundle/local-files.js";
import { bundleChecks } from "../bundle/manifest.js";
import { gatherFacts, type NodeFacts } from "../gather/facts.js";
import { lbMachinesOutOfDate } from "../gather/lb-state.js";
import type { RenderedConfig } from "../lb/render.js";
import { templateSource } from "../lb/template-source.js";
import { lbLayout, type LbLayout } from "../phases/lb-configs.js";
import { hostsLines } from "../phases/hosts-file.js";
import type { ClusterPlanInput } from "../phases/install-microk8s.js";
import {
  formatPreflight,
  needsHostsEntries,
  peerProbesFor,
  preflightChecks,
  preflightFailed,
  type PreflightCheck,
} from "../phases/preflight.js";
import { nfsProbes, nfsServersOf, planSharedMounts, sharedMountChecks } from "../phases/shared-mounts.js";
import { planNfsStorage } from "../phases/nfs-storage.js";
import { gatherSharedMountState, type SharedMountState } from "../gather/shared-mounts.js";
import { gatherNfsClassState, type NfsClassState } from "../gather/nfs-storage.js";
import { driverFor } from "../distros/registry.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import { resolveSecret } from "../spec/secrets.js";
import type { InstallOptions } from "./install-options.js";
import { machinesOf, type Session } from "./session.js";

/**
 * The gather and plan stages of install and add-node, which run through the one runner
 * (actions/runner.ts, started by actions/install.ts): facts from every machine, the distribution's
 * state, the preflight table, the load-balancer layout, the shared mounts and the NFS StorageClass.
 * Each distribution adds its own reads and plan (DistributionConverge).
 */

/** A distribution's part of install and add-node, for the runner. */
export interface DistributionConverge<G> {
  /** Everything read before planning (it may refuse: preflight); nothing changes. */
  gather(session: Session): Promise<G>;
  /** The steps from what was gathered; nodes already in place get none. */
  plan(gathered: G): Plan;
  /** Install's end, after a successful apply: the kubeconfig through the endpoint, the API checked. */
  finish(gathered: G, session: Session): Promise<void>;
}

/** What a distribution's state reader must tell the shared stages. */
export interface InstalledState {
  installed: ReadonlySet<string>;
  /** The node that answers for the running cluster (none before the first install). */
  leader: string | undefined;
}

/** What install and add-node read on every distribution. */
export interface ClusterReads<S extends InstalledState> {
  bundle: LocalBundle | undefined;
  facts: Map<string, NodeFacts>;
  state: S;
  mounts: Map<string, SharedMountState>;
  lb: LbPlanInputs;
  nfs: { node: string | undefined; state: NfsClassState | undefined };
}

/**
 * The shared gather: the offline bundle (checked against its checksum), facts, the distribution's
 * state, shared mounts, the preflight table (stops before any change when a check failed), the
 * load-balancer inputs and the NFS StorageClass.
 */
export async function gatherCluster<S extends InstalledState>(
  spec: ClusterSpec,
  session: Session,
  opts: InstallOptions,
  ctx: RunContext,
  readState: (hosts: ReadonlyMap<string, RemoteHost>, nodes: readonly NodeSpec[]) => Promise<S>,
): Promise<ClusterReads<S>> {
  const driver = driverFor(spec);
  const bundle = await bundleFor(spec, opts);
  const facts = await gatherAllFacts(spec, session, ctx);
  const state = await readState(session.hosts, spec.spec.nodes);
  const mounts = await gatherSharedMounts(spec, session, facts);
  const checks = runPreflight(spec, facts, driver.ports, state.installed, ctx, [
    ...(bundle ? bundleChecks(bundle.manifest, basename(bundle.path), spec, facts) : []),
    ...sharedMountChecks(spec, facts, mounts),
  ]);
  const lb = await loadBalancerInputs(spec, session, facts, checks, driver.apiPort, opts, ctx);
  const nfs = await gatherNfsStorage(spec, session, state.leader);
  return { bundle, facts, state, mounts, lb, nfs };
}

/** The plan's last phases on every distribution: NFS mounts on the nodes, then the NFS StorageClass. */
export function storagePhases(spec: ClusterSpec, reads: ClusterReads<InstalledState>): Phase[] {
  return [
    ...planSharedMounts(spec, reads.facts, reads.mounts),
    ...planNfsStorage(spec, reads.nfs.node, reads.nfs.state),
  ];
}

async function gatherAllFacts(spec: ClusterSpec, session: Session, ctx: RunContext): Promise<Map<string, NodeFacts>> {
  const machines = machinesOf(spec);
  const names = machines.map((m) => m.name);
  ctx.reporter.phase("Gather facts");
  return forEachNode("Gather facts", machines, async (m) => {
    const probes = [...peerProbesFor(spec, m.name), ...nfsProbes(spec, m.name)];
    const f = await gatherFacts(need(session.hosts, m.name), names, probes);
    ctx.reporter.step(m.name, `${f.osId} ${f.osVersion}, ${f.cpus} CPU, ${f.memoryMiB} MiB`, "done");
    return f;
  });
}

/** Each node's fstab, NFS mounts and NFS servers' export lists, when spec.storage names any NFS server. */
async function gatherSharedMounts(
  spec: ClusterSpec,
  session: Session,
  facts: ReadonlyMap<string, NodeFacts>,
): Promise<Map<string, SharedMountState>> {
  const servers = nfsServersOf(spec);
  if (servers.length === 0) return new Map();
  return forEachNode("Gather shared mounts", spec.spec.nodes, (n) =>
    gatherSharedMountState(need(session.hosts, n.name), servers, facts.get(n.name)?.commands.has("showmount") ?? false),
  );
}

/**
 * Where spec.storage.nfs's steps run (the leader, or the first control plane of a cluster this run
 * creates) and, when the cluster already runs, its NFS driver and StorageClass; empty without spec.storage.nfs.
 */
async function gatherNfsStorage(
  spec: ClusterSpec,
  session: Session,
  leader: string | undefined,
): Promise<{ node: string | undefined; state: NfsClassState | undefined }> {
  const nfs = spec.spec.storage?.nfs;
  if (!nfs) return { node: undefined, state: undefined };
  const node = leader ?? spec.spec.nodes.find((n) => n.role === "control-plane")?.name;
  if (leader === undefined) return { node, state: undefined };
  const state = await gatherNfsClassState(need(session.hosts, leader), driverFor(spec), nfs.storageClass.name);
  return { node, state };
}

/** Prints the preflight table; stops before any change when a check failed. */
function runPreflight(
  spec: ClusterSpec,
  facts: ReadonlyMap<string, NodeFacts>,
  distroPorts: readonly number[],
  installed: ReadonlySet<string>,
  ctx: RunContext,
  extra: readonly PreflightCheck[] = [],
): PreflightCheck[] {
  ctx.reporter.phase("Preflight checks");
  const checks = [
    ...extra,
    ...preflightChecks({ spec, nodes: spec.spec.nodes, facts, distroPorts, installed, today: new Date() }),
  ];
  ctx.reporter.print(formatPreflight(checks));
  if (preflightFailed(checks)) {
    throw new HactlError("PREFLIGHT_FAILED", "preflight checks failed; nothing was changed", {
      remedy: "Fix each FAIL line above (its fix is printed under it), then run the same command again.",
    });
  }
  return checks;
}

export interface LbPlanInputs {
  layout: LbLayout;
  /** Only the machines whose configs differ or whose services are down: a finished cluster gets no LB step. */
  staleFiles: Map<string, readonly RenderedConfig[]>;
  /** Machines that need hactl's /etc/hosts entries. */
  hostsEntriesFor: Set<string>;
}

/** How many fresh-token attempts a join gets before the run stops. */
const JOIN_ATTEMPTS = 3;

/** What every distribution's plan starts from: the spec, the facts and the load-balancer inputs. */
export function clusterPlanInput(
  spec: ClusterSpec,
  facts: ReadonlyMap<string, NodeFacts>,
  lb: LbPlanInputs,
): ClusterPlanInput {
  return {
    spec,
    facts,
    hostsEntriesFor: lb.hostsEntriesFor,
    lbFiles: lb.staleFiles,
    lbPackages: lb.layout.packages,
    nonlocalBind: lb.layout.nonlocalBind,
    joinAttempts: JOIN_ATTEMPTS,
  };
}

async function loadBalancerInputs(
  spec: ClusterSpec,
  session: Session,
  facts: ReadonlyMap<string, NodeFacts>,
  checks: readonly PreflightCheck[],
  backendApiPort: number,
  opts: InstallOptions,
  ctx: RunContext,
): Promise<LbPlanInputs> {
  const stats = spec.spec.loadBalancer.stats;
  const statsPassword =
    stats.enabled && stats.password
      ? await resolveSecret(stats.password, { interactive: ctx.interactive, label: "spec.loadBalancer.stats.password" })
      : undefined;
  const layout = lbLayout({
    spec,
    facts,
    backendApiPort,
    templates: templateSource(opts.templates ?? spec.spec.loadBalancer.templates),
    ...(statsPassword ? { statsPassword } : {}),
  });
  const stale = await lbMachinesOutOfDate(session.hosts, layout.files);
  const hostsEntriesFor = needsHostsEntries(checks);
  const wanted = hostsLines(machinesOf(spec)).join("\n");
  for (const h of spec.spec.loadBalancer.external?.hosts ?? []) {
    if (facts.get(h.name)?.hostsBlock.join("\n") !== wanted) hostsEntriesFor.add(h.name);
  }
  return { layout, staleFiles: new Map([...layout.files].filter(([m]) => stale.has(m))), hostsEntriesFor };
}

/**
 * Where clients reach the API: the VIP on the control planes, the external LB pair's VIP, or the single
 * external LB host's own address (one host needs no VIP); undefined without a load balancer.
 */
export function apiEndpoint(spec: ClusterSpec): { host: string; port: number } | undefined {
  const lb = spec.spec.loadBalancer;
  if (lb.mode === "keepalived-haproxy") return lb.vip ? { host: lb.vip, port: lb.apiPort } : undefined;
  if (lb.mode !== "external" || !lb.external) return undefined;
  const host = lb.external.hosts.length > 1 ? lb.vip : lb.external.hosts[0]?.address;
  return host ? { host, port: lb.apiPort } : undefined;
}
