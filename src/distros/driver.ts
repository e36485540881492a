import type { Command } from "../core/command.js";
import type { RemoteHost } from "../core/host.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import type { WorkerProxyFiles } from "../gather/worker-proxy-state.js";
import type { KubeNode } from "./kubectl.js";
import type { CertKind, CertObservation } from "./certs.js";

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

/** The distribution as installed on one node (`hactl version`). */
export interface DistributionVersion {
  installed: boolean;
  /** "v1.36.5" */
  version?: string | undefined;
  /** MicroK8s: the snap channel it tracks, "1.36/stable". */
  channel?: string | undefined;
}

/** How a distribution renews a control plane's certificates (never its CAs: that is `certs renew --ca`). */
export interface CertRenewal {
  /** May a renewal replace this certificate of a control plane? */
  renewable(cert: { certificate: string; kind: CertKind }): boolean;
  /** The commands that renew these certificates on one control plane and restart what serves them. */
  commands(certificates: readonly string[]): Command[];
  /** What the dry run shows for those commands. */
  describe(commands: readonly Command[]): string[];
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
  /** Read-only: the distribution's version on one node, or that it is not installed. */
  installedVersion(host: RemoteHost): Promise<DistributionVersion>;
  /** Read-only: one node's certificates and when they expire (throws when the tool fails). */
  readCertificates(host: RemoteHost, node: NodeSpec): Promise<CertObservation[]>;
  certRenewal: CertRenewal;
  /** Where the kubelet keeps its state on every node (CSI drivers' kubeletDir). */
  kubeletDir: string;
  /** helm as run on a control plane, with the admin credentials. */
  helm(...args: string[]): Command;
  /** Makes `helm` runnable on this control plane (MicroK8s ships its own; kubeadm gets spec.distribution.helm). */
  installHelm(spec: ClusterSpec, host: RemoteHost): Promise<void>;
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
