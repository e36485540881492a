// Types of test/lab/lab.mjs for TypeScript tests.

export interface LabNode {
  /** node-1 .. node-30, lb-1 .. lb-10 */
  name: string;
  /** node-i: 10.77.0.(10+i); lb-i: 10.77.0.(200+i) */
  address: string;
  /** its network namespace: hl-<name> */
  ns: string;
  /** its directory on the host: /var/lib/hactl-lab/<name> (fs/ holds its private directories, sshd.log its sshd log) */
  dir: string;
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
  /** the interface name inside every host */
  iface: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

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

/** Bring up a fresh lab (a previous one is torn down first). */
export function labUp(opts?: { nodes?: number; lbHosts?: number }): Promise<Lab>;
/** Tear down everything the lab created; idempotent. Inside the workstation namespace, that namespace survives. */
export function labDown(): Promise<void>;
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
export function addNodes(count: number): Promise<LabNode[]>;
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
