/**
 * What every application command shares: cluster.yaml loaded, the leader found, and the command run
 * through the one runner (actions/runner.ts).
 */
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import { need, type RemoteHost } from "../../core/host.js";
import type { Plan } from "../../core/plan.js";
import { kubeadm } from "../../distros/kubeadm.js";
import { microk8s } from "../../distros/microk8s.js";
import { gatherKubeadmState, type KubeadmClusterState } from "../../gather/kubeadm-state.js";
import { gatherMicrok8sState, type Microk8sClusterState } from "../../gather/microk8s-state.js";
import type { KubectlBuilder } from "../../phases/app/kube.js";
import { loadSpecFile } from "../../spec/parse.js";
import type { ClusterSpec } from "../../spec/schema.js";
import { editedSpec, runChange, withChangeSession, type SpecEdit } from "../runner.js";
import type { Session } from "../session.js";
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
 * releases and disconnects. For the commands that do their own applying (deploy) or change nothing.
 */
export async function withAnyCluster<T>(
  file: string,
  ctx: RunContext,
  opts: ClusterRunOptions,
  fn: (app: AnyAppCluster) => Promise<T>,
): Promise<T> {
  const spec = opts.spec ?? (await loadSpecFile(file)).spec;
  return withChangeSession(
    spec,
    { command: opts.command, lock: opts.lock, machines: spec.spec.nodes },
    ctx,
    async (session) => fn(await anyClusterOf(spec, file, session)),
  );
}

/** The cluster as it is now, whichever distribution runs it. */
export function anyClusterOf(spec: ClusterSpec, file: string, session: Session): Promise<AnyAppCluster> {
  return byDistribution<(s: ClusterSpec, f: string, se: Session) => Promise<AnyAppCluster>>(spec, {
    microk8s: clusterOf,
    kubeadm: kubeadmClusterOf,
  })(spec, file, session);
}

export interface AppChangeOptions<A extends AnyAppCluster> extends ChangeOptions {
  /** The command's name, recorded in the cluster lock and the run journal. */
  command: string;
  /** The spec to act on when it differs from the file (reconfigure's answers); default: the file's. */
  spec?: ClusterSpec;
  /** Which clusters the command serves: MICROK8S_ONLY or ANY_DISTRIBUTION. */
  on: ClusterFinder<A>;
}

/** Refuses a spec the command does not serve (before connecting), and finds the cluster's leader. */
export interface ClusterFinder<A extends AnyAppCluster> {
  check(spec: ClusterSpec): void;
  find(spec: ClusterSpec, file: string, session: Session): Promise<A>;
}

export const MICROK8S_ONLY: ClusterFinder<AppCluster> = { check: requireMicrok8s, find: clusterOf };
export const ANY_DISTRIBUTION: ClusterFinder<AnyAppCluster> = { check: () => undefined, find: anyClusterOf };

/** What an application command supplies to the runner: its reads, its plan, what it records and reports. */
export interface AppChangeSteps<A extends AnyAppCluster, G> {
  /** The command's own reads beyond the cluster state (none: its planner reads what it needs). */
  gather?: (app: A) => Promise<G>;
  plan: (app: A, gathered: G) => Plan | Promise<Plan>;
  question: (app: A, gathered: G) => string;
  /** cluster.yaml edits once applied (comments kept). */
  edits?: (app: A, gathered: G) => readonly SpecEdit[];
  /** Extra fields of the dry run's JSON document. */
  describe?: (app: A, gathered: G) => Readonly<Record<string, unknown>>;
  /** After success (and cluster.yaml recorded): read back and report the result. */
  after?: (app: A, gathered: G) => Promise<void>;
}

/**
 * An application command through the one runner (actions/runner.ts): cluster lock, the leader found,
 * the command's gather and plan, --dry-run or one confirmation, apply with the run journal, and
 * cluster.yaml's edits recorded atomically after success.
 */
export async function runAppChange<A extends AnyAppCluster, G = void>(
  opts: AppChangeOptions<A>,
  ctx: RunContext,
  steps: AppChangeSteps<A, G>,
): Promise<number> {
  const spec = opts.spec ?? (await loadSpecFile(opts.file)).spec;
  opts.on.check(spec);
  await runChange(
    {
      command: opts.command,
      spec,
      dryRun: opts.dryRun,
      machines: spec.spec.nodes,
      nothingToDo: "Nothing to do: the cluster already matches.",
      gather: async (session) => {
        const app = await opts.on.find(spec, opts.file, session);
        // without a gather, G is void and `own` undefined
        return { app, own: (await steps.gather?.(app)) as G };
      },
      plan: ({ app, own }) => steps.plan(app, own),
      question: ({ app, own }) => steps.question(app, own),
      ...(steps.describe ? { describe: ({ app, own }: { app: A; own: G }) => steps.describe?.(app, own) ?? {} } : {}),
      record: ({ app, own }) => editedSpec(opts.file, steps.edits?.(app, own) ?? []),
      after: async ({ app, own }) => steps.after?.(app, own),
    },
    ctx,
  );
  return 0;
}

/** The application's services: Deployments in the namespace (limited to spec.app.services when listed). */
export function appServices(spec: ClusterSpec, deployed: readonly string[]): string[] {
  const listed = spec.spec.app.services;
  return listed.length > 0 ? deployed.filter((d) => listed.includes(d)) : [...deployed];
}
