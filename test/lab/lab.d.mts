// Types of test/lab/lab.mjs for TypeScript tests.

/** What kind of machine a lab host is (all fields optional: a plain host is eth0, port 22, root, a resolver that answers). */
export interface HostProfile {
  /** the interface name inside the host (default eth0) */
  iface?: string;
  /** the port its sshd listens on (default 22) */
  sshPort?: number;
  /** "silent": /etc/resolv.conf names a server that takes queries and never answers */
  resolver?: "silent";
  /** false: the host's own name is not in its /etc/hosts */
  ownNameResolves?: boolean;
  /** a docker0-style bridge with 172.17.0.1/16 besides the lab address */
  secondAddress?: boolean;
  /** "ops": cluster.yaml logs in as the ops user, whose sudo asks for a password */
  login?: "root" | "ops";
  /** "password": root logs in with LabNode.rootPassword; its own ~/.ssh/authorized_keys starts empty */
  rootLogin?: "key" | "password";
}

export interface LabNode {
  /** node-1 .. node-30, lb-1 .. lb-10 */
  name: string;
  /** node-i: 10.77.0.(10+i); lb-i: 10.77.0.(200+i) */
  address: string;
  /** its network namespace: hl-<name> */
  ns: string;
  /** its directory on the host: /var/lib/hactl-lab/<name> (fs/ holds its private directories, sshd.log its sshd log) */
  dir: string;
  /** the interface that carries its address */
  iface: string;
  /** the port its sshd listens on */
  sshPort: number;
  profile: HostProfile;
  /** root's password, only on a passwordOnly host */
  rootPassword?: string;
}

export interface Lab {
  subnet: string;
  workstation: { ns: string; address: string };
  nodes: LabNode[];
  lbHosts: LabNode[];
  /** free addresses for keepalived VIPs */
  vips: string[];
  /** root's private key (no passphrase), accepted by every host for root and the ops user */
  sshKey: string;
  /** known_hosts with every host's ed25519 key */
  knownHosts: string;
  /** non-root user whose sudo needs this password */
  opsUser: { name: string; password: string };
  /** the interface name inside the workstation and every host whose profile names no other (see LabNode.iface) */
  iface: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** This process's lab slot (HACTL_LAB_SLOT, else in a vitest worker the lowest slot no live process has claimed, else 0). */
export const LAB_SLOT: number;
/** The first three octets of this slot's addresses ("10.77.0" in slot 0). */
export const LAB_NET: string;
/** The prefix of this slot's namespace names ("hl-" in slot 0, "hl1-" in slot 1). */
export const NS_PREFIX: string;
export const LAB_ROOT: string;
export const LAB_FILE: string;
export const SUBNET: string;
export const BRIDGE_NS: string;
export const WORKSTATION_NS: string;
export const WORKSTATION_ADDRESS: string;
export const MAX_NODES: number;
export const MAX_LB_HOSTS: number;
export const OPS_USER: string;
export const SUDOERS_FILE: string;
export const LAB_PACKAGES: string[];
/** Where labUp copies the node kit; every node sees it whatever the checkout's path. */
export const KIT_DIR: string;
/** The address of the lab's DNS server that never answers. */
export const SILENT_RESOLVER: string;
/** The kinds of machine the lab offers, by name. */
export const PROFILES: Record<
  "plain" | "silentResolver" | "unresolvedName" | "ens18" | "secondAddress" | "sshPort" | "opsSudo" | "passwordOnly",
  HostProfile
>;
/** The mix workflow tests run over, node by node (cycled). */
export const MIXED_PROFILES: HostProfile[];
/** Copy the node kit to KIT_DIR (labUp does it). */
export function prepareKit(): Promise<void>;

/** Bring up a fresh lab (a previous one is torn down first). */
export function labUp(opts?: { nodes?: number; lbHosts?: number; profiles?: HostProfile[] | "mixed" }): Promise<Lab>;
/** Tear down everything the lab created; idempotent. Inside the workstation namespace, that namespace survives. */
export function labDown(): Promise<void>;
/** Tear down the labs of every slot (and, outside the workstation namespace, the workstation too). */
export function labDownAll(): Promise<void>;
/** The current lab, or undefined when none is up. */
export function readLab(): Lab | undefined;
/** Run argv as root inside a node's network, mount and UTS namespaces, with a clean environment. */
export function inNode(
  node: LabNode | string,
  argv: string[],
  opts?: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number },
): Promise<RunResult>;
/** Hard stop: all the node's processes killed, link down. Its disk survives, except /run and /tmp. */
export function stopNode(node: LabNode | string): Promise<void>;
/** Boot a stopped node: link up, mounts, sshd (same host key), the kit's boot hook. */
export function startNode(node: LabNode | string): Promise<void>;
/** Take the node's bridge port down (the node sees NO-CARRIER; its processes keep running). */
export function cutLink(node: LabNode | string): Promise<void>;
export function restoreLink(node: LabNode | string): Promise<void>;
/** Grow a running lab by count nodes; resolves with the new nodes. */
export function addNodes(count: number, opts?: { profiles?: HostProfile[] }): Promise<LabNode[]>;
/**
 * Arguments for OpenSSH `ssh`, WITHOUT the program name, ending with user@address:
 * `execFile("ssh", [...sshArgs("node-1"), "hostname"])` from inside the workstation namespace.
 */
export function sshArgs(node: LabNode | string, opts?: { user?: string }): string[];
/** True when the node's init (its sshd) runs. */
export function nodeRunning(node: LabNode | string): boolean;
/** State of the node's bridge port. */
export function linkState(node: LabNode | string): Promise<"up" | "down" | "missing">;
/** True when the calling process runs inside the workstation namespace. */
export function insideWorkstation(): boolean;
/** Create the bridge and workstation namespaces (and the workstation's link) if missing. */
export function ensureWorkstation(): Promise<{ ns: string; address: string }>;
/** Names the process that owns the lab (the running `npm test`); lab calls from other process trees refuse to run. */
export const LOCK_FILE: string;
/** The live process that owns the lab (a running `npm test`), if any. */
export function lockHolder(): { pid: number; cmd: string } | undefined;
/** Take the lab lock for this process, waiting while another live process holds it. */
export function acquireLabLock(opts?: { waitMs?: number; log?: (line: string) => void }): Promise<void>;
/** Release the lab lock if this process holds it. */
export function releaseLabLock(): void;
/** Names of all hl-* network namespaces. */
export function labNamespaces(): Promise<string[]>;
/** Missing binaries and the Debian package for each. */
export function missingRequirements(): { name: string; pkg: string }[];
/** As root, install missing packages with apt-get; otherwise throw naming what is missing. */
export function ensureRequirements(opts?: { install?: boolean; log?: (line: string) => void }): Promise<void>;
