import { z } from "zod";
import type { Command } from "../core/command.js";
import type { AddonsSpec } from "../spec/schema.js";
import { parseRemote, unexpectedOutput } from "./remote-output.js";

/**
 * MicroK8s: pure command builders and parsers of its documented output (see docs/architecture.md).
 * Nothing here touches a node.
 */

export const MICROK8S_API_PORT = 16443;
export const MICROK8S_AGENT_PORT = 25000;
export const MICROK8S_DATASTORE_PORT = 19001;
/** Ports a fresh node must have free: API, cluster agent, datastore, kubelet. */
export const MICROK8S_PORTS = [MICROK8S_API_PORT, MICROK8S_AGENT_PORT, MICROK8S_DATASTORE_PORT, 10250] as const;

/** The addons cluster.yaml can turn on (spec.addons), as `microk8s enable` names them. */
export const MICROK8S_ADDONS = [
  { key: "dns", name: "dns" },
  { key: "haCluster", name: "ha-cluster" },
  { key: "metricsServer", name: "metrics-server" },
  { key: "hostpathStorage", name: "hostpath-storage" },
] as const satisfies readonly { key: keyof AddonsSpec; name: string }[];
export type Microk8sAddon = (typeof MICROK8S_ADDONS)[number]["name"];

/** Pure: the MicroK8s addons cluster.yaml turns on, in MICROK8S_ADDONS order. */
export function addonsTurnedOn(addons: AddonsSpec): Microk8sAddon[] {
  return MICROK8S_ADDONS.filter((a) => addons[a.key]).map((a) => a.name);
}

export const microk8s = {
  /** Exit 0 with the snap's row (version, tracking channel, `held` note) when installed. */
  isInstalled: (): Command => ({ argv: ["snap", "list", "microk8s"], sudo: true }),
  /** Stops snapd from refreshing MicroK8s on its own; a refresh that names the snap still works. */
  hold: (): Command => ({ argv: ["snap", "refresh", "--hold", "microk8s"], sudo: true, timeoutMs: 120_000 }),
  /** Moves the node to another minor's channel (snapd restarts MicroK8s' services). */
  refresh: (minor: string): Command => ({
    argv: ["snap", "refresh", "microk8s", `--channel=${minor}/stable`],
    sudo: true,
    timeoutMs: 15 * 60_000,
  }),
  install: (version: string): Command => ({
    argv: ["snap", "install", "microk8s", "--classic", `--channel=${version}/stable`],
    sudo: true,
    timeoutMs: 15 * 60_000,
  }),
  /** `snap ack FILE.assert`: the assertions that let snapd install the snap file they describe. */
  snapAck: (assertFile: string): Command => ({ argv: ["snap", "ack", assertFile], sudo: true, timeoutMs: 60_000 }),
  /** `snap install ./NAME_REV.snap` (MicroK8s with --classic): from a file, nothing from the store. */
  installFile: (snapFile: string, classic: boolean): Command => ({
    argv: ["snap", "install", snapFile, ...(classic ? ["--classic"] : [])],
    sudo: true,
    timeoutMs: 15 * 60_000,
  }),
  /**
   * `snap switch --channel=<minor>/stable microk8s`: only the tracking channel changes, nothing is
   * downloaded; after a refresh from a file (which keeps the old channel) `snap list` names the new minor.
   */
  switchChannel: (minor: string): Command => ({
    argv: ["snap", "switch", `--channel=${minor}/stable`, "microk8s"],
    sudo: true,
    timeoutMs: 60_000,
  }),
  waitReady: (timeoutSeconds: number): Command => ({
    argv: ["microk8s", "status", "--wait-ready", "--timeout", String(timeoutSeconds)],
    sudo: true,
    timeoutMs: (timeoutSeconds + 30) * 1000,
  }),
  statusYaml: (): Command => ({
    argv: ["microk8s", "status", "--format", "yaml"],
    sudo: true,
    timeoutMs: 60_000,
    okCodes: [0, 1],
  }),
  /** A single-use token (the default --token-ttl -1); JSON so the URL list parses reliably. */
  addNode: (): Command => ({ argv: ["microk8s", "add-node", "--format", "json"], sudo: true, timeoutMs: 60_000 }),
  /**
   * `microk8s join` only takes the connection string as an argument. hactl sends it on stdin and lets the
   * remote shell substitute it, so it never appears in the SSH exec request or hactl's logs; it is visible
   * in the join process's argv while that runs, and the token is single-use.
   */
  join: (connection: string, worker: boolean): Command => ({
    argv: ["sh", "-c", 'exec microk8s join "$(cat)" "$@"', "microk8s-join", ...(worker ? ["--worker"] : [])],
    sudo: true,
    stdin: `${connection}\n`,
    timeoutMs: 10 * 60_000,
  }),
  leave: (): Command => ({ argv: ["microk8s", "leave"], sudo: true, timeoutMs: 5 * 60_000 }),
  removeNode: (name: string, force: boolean): Command => ({
    argv: ["microk8s", "remove-node", name, ...(force ? ["--force"] : [])],
    sudo: true,
    timeoutMs: 5 * 60_000,
  }),
  /**
   * `microk8s images import FILE` (FILE, or `-` for stdin): MicroK8s posts the tarball to the cluster agent
   * of every node of its cluster (only itself before a join), which imports it into containerd's k8s.io
   * namespace. It exits 0 when a node refuses it; importFailures reads its output.
   */
  importImages: (file: string): Command => ({
    argv: ["microk8s", "images", "import", file],
    sudo: true,
    timeoutMs: 15 * 60_000,
  }),
  enable: (addon: string): Command => ({ argv: ["microk8s", "enable", addon], sudo: true, timeoutMs: 10 * 60_000 }),
  disable: (addon: string): Command => ({ argv: ["microk8s", "disable", addon], sudo: true, timeoutMs: 10 * 60_000 }),
  kubectl: (...args: string[]): Command => ({ argv: ["microk8s", "kubectl", ...args], sudo: true, timeoutMs: 120_000 }),
  /** The linkerd CLI the community addon installs, with MicroK8s' credentials. */
  linkerd: (...args: string[]): Command => ({ argv: ["microk8s", "linkerd", ...args], sudo: true, timeoutMs: 300_000 }),
  config: (): Command => ({ argv: ["microk8s", "config"], sudo: true, timeoutMs: 60_000 }),
  /** Helm 3 as MicroK8s ships it (its helm3 addon is always on), with MicroK8s' credentials. */
  helm: (...args: string[]): Command => ({ argv: ["microk8s", "helm3", ...args], sudo: true, timeoutMs: 15 * 60_000 }),
};

/**
 * Pure: what `microk8s images import` printed about nodes that did not import the tarball ("Failed to
 * import images on ADDRESS: ...", "Failed to reach ADDRESS: ...", "Could not query for nodes"); none
 * when every node took it.
 */
export function importFailures(output: string): string[] {
  return output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(Failed to import images on |Failed to reach |Could not query for nodes)/.test(l));
}

const addNodeJson = z.object({ token: z.string().min(1), urls: z.array(z.string()).min(1) });

/** The join connection string to use from `add-node --format json`: the URL on the leader's own address. */
export function parseAddNode(stdout: string, leaderAddress: string): { connection: string; token: string } {
  const parsed = parseRemote("microk8s add-node --format json", stdout, addNodeJson);
  const connection = parsed.urls.find((u) => u.startsWith(`${leaderAddress}:`)) ?? parsed.urls[0];
  if (!connection) throw unexpectedOutput("microk8s add-node --format json", "at least one join URL");
  return { connection, token: parsed.token };
}

export interface Microk8sStatus {
  running: boolean;
  haEnabled: boolean;
  /** Datastore members as `ip:port` with their dqlite role. */
  datastore: { address: string; role: "voter" | "standby" | "spare" }[];
  addons: Map<string, "enabled" | "disabled">;
  /** The node joined as a worker: status refuses to report on workers. */
  isWorker: boolean;
}

const statusYaml = z.object({
  microk8s: z.object({ running: z.union([z.boolean(), z.string()]) }).optional(),
  "high-availability": z
    .object({
      enabled: z.union([z.boolean(), z.string()]).optional(),
      nodes: z.array(z.object({ address: z.string(), role: z.string() })).nullish(),
    })
    .optional(),
  addons: z.array(z.object({ name: z.string(), status: z.string() })).nullish(),
});

const truthy = (v: boolean | string | undefined): boolean => v === true || v === "True" || v === "true";

/** Parses `microk8s status --format yaml` (Python booleans print as True/False). */
export function parseStatus(stdout: string): Microk8sStatus {
  if (stdout.includes("acting as a node in a cluster")) {
    return { running: true, haEnabled: false, datastore: [], addons: new Map(), isWorker: true };
  }
  const doc = parseRemote("microk8s status --format yaml", stdout, statusYaml, "yaml");
  const roles = new Set(["voter", "standby", "spare"]);
  return {
    running: truthy(doc.microk8s?.running),
    haEnabled: truthy(doc["high-availability"]?.enabled),
    datastore: (doc["high-availability"]?.nodes ?? [])
      .filter((n) => roles.has(n.role))
      .map((n) => ({ address: n.address, role: n.role as "voter" | "standby" | "spare" })),
    addons: new Map((doc.addons ?? []).map((a) => [a.name, a.status === "enabled" ? "enabled" : "disabled"])),
    isWorker: false,
  };
}

/** The IP part of a datastore member `10.0.0.11:19001`. */
export function datastoreIp(member: string): string {
  return member.replace(/:\d+$/, "");
}

/** Rewrites the API server of a `microk8s config` kubeconfig to the VIP. */
export function kubeconfigForVip(kubeconfig: string, vip: string, port: number): string {
  return kubeconfig.replace(/server:\s*https:\/\/[^\s]+/g, `server: https://${vip}:${port}`);
}

/** The microk8s snap as `snap list microk8s` shows it. */
export interface SnapInfo {
  /** e.g. v1.32.3 */
  version: string;
  /** e.g. 1.32/stable */
  channel: string;
  /** snapd will not refresh it on its own (`held` in the Notes column). */
  held: boolean;
}

/**
 * Parses `snap list microk8s`: a header `Name Version Rev Tracking Publisher Notes` and one row per snap;
 * Notes is a comma-separated list (`classic,held`). Undefined when the row is missing.
 */
export function parseSnapList(stdout: string): SnapInfo | undefined {
  for (const line of stdout.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] !== "microk8s" || cols.length < 5) continue;
    const notes = cols.length >= 6 ? (cols[5] ?? "").split(",") : [];
    return { version: cols[1] ?? "", channel: cols[3] ?? "", held: notes.includes("held") };
  }
  return undefined;
}

/**
 * The Kubernetes minor a node runs, e.g. "1.32": from the tracking channel (`1.32/stable`), else from the
 * version (`v1.32.3`, for a node tracking latest/stable). Undefined when neither says.
 */
export function snapMinor(snap: SnapInfo): string | undefined {
  return /^(1\.\d+)\//.exec(snap.channel)?.[1] ?? /^v?(1\.\d+)\./.exec(snap.version)?.[1];
}
