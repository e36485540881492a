/**
 * What every application command shares: cluster.yaml loaded, one SSH connection per node, the leader
 * found, the plan shown (--dry-run) or confirmed and applied, and cluster.yaml updated afterwards.
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../../core/local-file.js";
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import { applyPlan, type ApplySummary } from "../../core/executor.js";
import { need, type RemoteHost } from "../../core/host.js";
import { describePlan, planIsEmpty, type Plan } from "../../core/plan.js";
import { kubeadm } from "../../distros/kubeadm.js";
import { microk8s } from "../../distros/microk8s.js";
import { gatherKubeadmState, type KubeadmClusterState } from "../../gather/kubeadm-state.js";
import { gatherMicrok8sState, type Microk8sClusterState } from "../../gather/microk8s-state.js";
import type { KubectlBuilder } from "../../phases/app/kube.js";
import { setPath } from "../../spec/edit.js";
import { loadSpecFile } from "../../spec/parse.js";
import type { PathSegment } from "../../spec/problems.js";
import type { ClusterSpec } from "../../spec/schema.js";
import { acquireClusterLock } from "../lock.js";
import { openSession, type Session } from "../session.js";
import { byDistribution } from "../../distros/registry.js";

/** Options every changing application command takes. */
export interface ChangeOptions {
  file: string;
  dryRun: boolean;
}

/** What an application command needs of any cluster: the leader, and how kubectl runs there. */
interface ClusterAccess {
  spec: ClusterSpec;
  file: string;
  session: Session;
  leader: string;
  leaderHost: RemoteHost;
  namespace: string;
  kubectl: KubectlBuilder;
}

export interface AppCluster extends ClusterAccess {
  distribution: "microk8s";
  state: Microk8sClusterState;
}

export interface KubeadmAppCluster extends ClusterAccess {
  distribution: "kubeadm";
  state: KubeadmClusterState;
}

/** The commands that work on both distributions (linkerd) take either. */
export type AnyAppCluster = AppCluster | KubeadmAppCluster;

export function requireMicrok8s(spec: ClusterSpec): void {
  if (spec.spec.distribution.type !== "microk8s") {
    throw new HactlError(
      "NOT_IMPLEMENTED",
      "application commands support the microk8s distribution only in this version",
      {
        remedy: "Use distribution.type: microk8s, or manage the application with kubectl for now.",
      },
    );
  }
}

/** The cluster as it is now, seen from an open session. */
export async function clusterOf(spec: ClusterSpec, file: string, session: Session): Promise<AppCluster> {
  const state = await gatherMicrok8sState(session.hosts, spec.spec.nodes);
  if (!state.leader) {
    throw new HactlError("UNHEALTHY", "no running MicroK8s control-plane node was found", {
      remedy:
        "Install the cluster first (hactl install -f cluster.yaml), or start MicroK8s on a control-plane node; `hactl status` shows which nodes are down.",
    });
  }
  const leaderHost = need(session.hosts, state.leader);
  return {
    distribution: "microk8s",
    spec,
    file,
    session,
    state,
    leader: state.leader,
    leaderHost,
    namespace: spec.spec.app.namespace,
    kubectl: microk8s.kubectl,
  };
}

/** A kubeadm cluster as it is now: its leader is a control plane whose admin kubeconfig answers. */
export async function kubeadmClusterOf(spec: ClusterSpec, file: string, session: Session): Promise<KubeadmAppCluster> {
  const state = await gatherKubeadmState(session.hosts, spec.spec.nodes);
  if (!state.leader) {
    throw new HactlError("UNHEALTHY", "no kubeadm control-plane node answers kubectl", {
      remedy:
        "Install the cluster first (hactl install -f cluster.yaml), or bring a control plane back; `hactl status` shows which nodes are down.",
    });
  }
  const leaderHost = need(session.hosts, state.leader);
  return {
    distribution: "kubeadm",
    spec,
    file,
    session,
    state,
    leader: state.leader,
    leaderHost,
    namespace: spec.spec.app.namespace,
    kubectl: kubeadm.kubectl,
  };
}

export interface ClusterRunOptions {
  /** The command's name, recorded in the cluster lock. */
  command: string;
  /** Take the cluster lock (every changing run that is not a dry run). */
  lock: boolean;
  /** The spec to act on when it differs from the file (reconfigure's answers); default: the file's. */
  spec?: ClusterSpec;
}

/**
 * Loads cluster.yaml, connects to every node, takes the cluster lock (the same lock install, add-node
 * and remove-node hold: on the first connected control plane), finds the leader, runs fn, and always
 * releases and disconnects.
 */
export async function withCluster<T>(
  file: string,
  ctx: RunContext,
  opts: ClusterRunOptions,
  fn: (app: AppCluster) => Promise<T>,
): Promise<T> {
  const spec = opts.spec ?? (await loadSpecFile(file)).spec;
  requireMicrok8s(spec);
  return withLockedSession(spec, ctx, opts, async (session) => fn(await clusterOf(spec, file, session)));
}

/** withCluster for the commands that also work on kubeadm. */
export async function withAnyCluster<T>(
  file: string,
  ctx: RunContext,
  opts: ClusterRunOptions,
  fn: (app: AnyAppCluster) => Promise<T>,
): Promise<T> {
  const spec = opts.spec ?? (await loadSpecFile(file)).spec;
  return withLockedSession(spec, ctx, opts, async (session) => fn(await anyClusterOf(spec, file, session)));
}

/** The cluster as it is now, whichever distribution runs it. */
export function anyClusterOf(spec: ClusterSpec, file: string, session: Session): Promise<AnyAppCluster> {
  return byDistribution<(s: ClusterSpec, f: string, se: Session) => Promise<AnyAppCluster>>(spec, {
    microk8s: clusterOf,
    kubeadm: kubeadmClusterOf,
  })(spec, file, session);
}

async function withLockedSession<T>(
  spec: ClusterSpec,
  ctx: RunContext,
  opts: ClusterRunOptions,
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(spec, spec.spec.nodes, ctx);
  try {
    const lockHolder = spec.spec.nodes.find((n) => n.role === "control-plane" && session.hosts.has(n.name));
    const lockHost = lockHolder ? session.hosts.get(lockHolder.name) : undefined;
    const lock = opts.lock && lockHost ? await acquireClusterLock(lockHost, opts.command, ctx.reporter) : undefined;
    try {
      return await fn(session);
    } finally {
      await lock?.release();
    }
  } finally {
    await session.close();
  }
}

/**
 * --dry-run prints the plan and returns undefined; otherwise the plan is confirmed (interactive runs
 * only) and applied. Progress output is the executor's, as in install.
 */
export async function runPlan(
  plan: Plan,
  app: AnyAppCluster,
  ctx: RunContext,
  opts: { dryRun: boolean; question: string },
): Promise<ApplySummary | undefined> {
  const { reporter } = ctx;
  if (opts.dryRun) {
    reporter.phase("Plan (dry run: nothing is changed)");
    reporter.print(describePlan(plan));
    return undefined;
  }
  if (planIsEmpty(plan)) {
    reporter.info("Nothing to do: the cluster already matches.");
    return { changed: 0, unchanged: 0 };
  }
  if (ctx.interactive) {
    reporter.print(describePlan(plan));
    const { confirm } = await import("../../ui/prompts.js");
    if (!(await confirm(opts.question, true))) throw new HactlError("USER_ABORTED", "cancelled before any change");
  }
  const summary = await applyPlan(plan, { hosts: app.session.hosts, reporter, signal: ctx.signal });
  reporter.info(`${summary.changed} step(s) changed, ${summary.unchanged} already done.`);
  return summary;
}

export type SpecEdit = readonly [readonly PathSegment[], unknown];

/** Records values in cluster.yaml with comment-preserving edits; the file is replaced atomically. */
export async function recordInSpec(file: string, edits: readonly SpecEdit[], ctx: RunContext): Promise<void> {
  if (edits.length === 0) return;
  let text = await readFile(file, "utf8");
  for (const [path, value] of edits) text = setPath(text, path, value);
  await writeFileAtomic(file, text);
  ctx.reporter.log("hactl", `recorded in ${file}: ${edits.map(([p]) => p.join(".")).join(", ")}`);
}

/** The application's services: Deployments in the namespace (limited to spec.app.services when listed). */
export function appServices(spec: ClusterSpec, deployed: readonly string[]): string[] {
  const listed = spec.spec.app.services;
  return listed.length > 0 ? deployed.filter((d) => listed.includes(d)) : [...deployed];
}
