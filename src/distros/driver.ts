import type { Command } from "../core/command.js";
import type { RemoteHost } from "../core/host.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import type { WorkerProxyFiles } from "../gather/worker-proxy-state.js";
import type { KubeNode } from "./kubectl.js";

/** The distributions cluster.yaml can name (spec.distribution.type). */
export type DistributionName = ClusterSpec["spec"]["distribution"]["type"];

/** A node's seat in the cluster's datastore, named as the distribution names it. */
export interface DatastoreSeat {
  /** e.g. "voter" / "standby" (MicroK8s dqlite), "etcd member" / "etcd learner" (kubeadm). */
  word: string;
  /** The seat votes (counts towards quorum). */
  votes: boolean;
}

/** A node's installed Kubernetes as the distribution reports it, where it reports more than the kubelet. */
export interface InstalledVersion {
  version: string;
  /** The Kubernetes minor, e.g. 1.32. */
  minor?: string;
  /** Whether the node may not upgrade on its own (MicroK8s: snap refreshes held). */
  held?: boolean;
}

/** A file of an offline bundle as its manifest lists it (src/bundle/manifest.ts): name, kind, what it belongs to. */
export interface BundledFile {
  name: string;
  kind: string;
  of: string;
}

/** What `hactl status` needs from a distribution: its cluster now, its datastore in its own words. */
export interface StatusView {
  /** The control-plane node that answered for the cluster; undefined when none did. */
  leader: string | undefined;
  /** Kubernetes nodes as the leader sees them. */
  kubeNodes: KubeNode[];
  /** Datastore seats by node address. */
  seats: ReadonlyMap<string, DatastoreSeat>;
  highAvailability: boolean;
  /** Why high availability is off, in the distribution's words (shown when it is off with 3+ control planes). */
  haMissing: string;
  /** Installed versions by node name, where the distribution knows more than the kubelet's version. */
  versions: ReadonlyMap<string, InstalledVersion>;
  /** Problems only this distribution can see (e.g. its datastore could not be read). */
  problems: string[];
  /** The local API proxy files of joined workers that reach the API through one (MicroK8s); empty otherwise. */
  workerProxies: ReadonlyMap<string, WorkerProxyFiles>;
}

/**
 * Everything about a distribution that shared code asks for, each in the distribution's own terms.
 * Workflows that need planners or a session (install, remove-node, upgrade, backup, restore, certificates)
 * pick theirs by name with `byDistribution` (src/distros/registry.ts).
 */
export interface Distribution {
  name: DistributionName;
  /** How output names it, e.g. "MicroK8s". */
  title: string;
  /** The API server's own port on every control plane (the load balancers' backend port). */
  apiPort: number;
  /** Ports it needs free on a node where it is not installed yet (preflight, firewall advice). */
  ports: readonly number[];
  /** kubectl as run on a control plane. */
  kubectl(...args: string[]): Command;
  /** What to do on a node removed with --force before it is used again. */
  wipeHint: string;
  /** The admin kubeconfig from one control plane, or why it could not be read. */
  adminKubeconfig(host: RemoteHost): Promise<{ text: string } | { missing: string }>;
  /**
   * The commands that install the distribution on a node from an offline bundle unpacked in `dir`, in
   * order; none reaches the network.
   */
  installFromBundle(dir: string, files: readonly BundledFile[]): Command[];
  /** Read-only: the status of the cluster on these reachable nodes. */
  observeStatus(
    spec: ClusterSpec,
    hosts: ReadonlyMap<string, RemoteHost>,
    nodes: readonly NodeSpec[],
  ): Promise<StatusView>;
}
