import { effectiveSsh, type ClusterSpec, type NodeSpec } from "../spec/schema.js";
import { endOfSupportFix, endOfSupportProblem } from "../spec/k8s-versions.js";
import { LOOKUP_TIMEOUT_SECONDS, type NodeFacts } from "../gather/facts.js";

export interface PreflightCheck {
  node: string;
  check: string;
  status: "ok" | "warn" | "fail";
  message: string;
  fix?: string;
}

export interface PreflightInput {
  spec: ClusterSpec;
  /** Nodes to check (a day-2 add-node checks only the new one). */
  nodes: readonly NodeSpec[];
  facts: ReadonlyMap<string, NodeFacts>;
  /** Ports the distribution needs free on a node where it is not installed yet. */
  distroPorts: readonly number[];
  /** Nodes where the distribution already runs: their ports are expected to be in use. */
  installed: ReadonlySet<string>;
  /** The day the checks run: a Kubernetes minor past its end of support is a warning. */
  today?: Date;
}

/** How many other workers each worker probes (its successors in spec order, wrapping around). */
const WORKER_RING_PEERS = 4;

/**
 * The peers a machine must reach, as address:port of their sshd (the one port every node listens on before the
 * install). A control plane (and a load-balancer host) probes every node; a worker probes every control
 * plane and the next few workers in spec order, wrapping around, so every worker is probed by workers
 * too (a host firewall or a blocked worker subnet shows up) while the probes grow with the node count,
 * not its square: a connection to sshd costs the target a process, and hundreds at once time out.
 */
export function peerProbesFor(spec: ClusterSpec, machine: string): string[] {
  const nodes = spec.spec.nodes;
  const self = nodes.find((n) => n.name === machine);
  const sshdOf = (n: NodeSpec): string => `${n.address}:${effectiveSsh(spec, n).port}`;
  if (self?.role !== "worker") return nodes.filter((n) => n.name !== machine).map(sshdOf);
  const workers = nodes.filter((n) => n.role === "worker");
  const at = workers.indexOf(self);
  const ring = Array.from(
    { length: Math.min(WORKER_RING_PEERS, workers.length - 1) },
    (_, i) => workers[(at + 1 + i) % workers.length] as NodeSpec,
  );
  const peers = new Set([...nodes.filter((n) => n.role === "control-plane"), ...ring]);
  return nodes.filter((n) => peers.has(n)).map(sshdOf);
}

const SUPPORTED: Record<string, readonly string[]> = { ubuntu: ["22.04", "24.04"], debian: ["12"] };

/** Every check for every node; pure, so the table can be shown before any change is made. */
export function preflightChecks(input: PreflightInput): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  const { spec } = input;
  const min = spec.spec.preflight;
  const lbMode = spec.spec.loadBalancer.mode;
  for (const node of input.nodes) {
    const f = input.facts.get(node.name);
    if (!f) {
      checks.push({
        node: node.name,
        check: "ssh",
        status: "fail",
        message: "no facts gathered",
        fix: "check SSH access to the node",
      });
      continue;
    }
    const add = (check: string, status: PreflightCheck["status"], message: string, fix?: string): void => {
      checks.push({ node: node.name, check, status, message, ...(fix ? { fix } : {}) });
    };
    add("ssh+sudo", "ok", "connected, root commands work");

    const versions = SUPPORTED[f.osId];
    if (versions?.includes(f.osVersion)) add("os", "ok", `${f.osId} ${f.osVersion}`);
    else
      add(
        "os",
        "fail",
        `${f.osId || "unknown"} ${f.osVersion} is not supported`,
        "use Ubuntu 22.04/24.04 or Debian 12",
      );

    add(
      "cpu",
      f.cpus >= min.minCpus ? "ok" : "fail",
      `${f.cpus} CPUs (minimum ${min.minCpus})`,
      f.cpus >= min.minCpus ? undefined : "use a larger server or lower spec.preflight.minCpus",
    );
    add(
      "memory",
      f.memoryMiB >= min.minMemoryMiB ? "ok" : "fail",
      `${f.memoryMiB} MiB (minimum ${min.minMemoryMiB})`,
      f.memoryMiB >= min.minMemoryMiB ? undefined : "add memory or lower spec.preflight.minMemoryMiB",
    );
    add(
      "disk",
      f.diskGiB >= min.minDiskGiB ? "ok" : "fail",
      `${f.diskGiB} GiB free on / (minimum ${min.minDiskGiB})`,
      f.diskGiB >= min.minDiskGiB ? undefined : "free disk space or lower spec.preflight.minDiskGiB",
    );

    if (f.hostname.includes("."))
      add(
        "hostname",
        "fail",
        `hostname ${f.hostname} is a fully qualified name`,
        `set the short name: hostnamectl set-hostname ${node.name}`,
      );
    else if (f.hostname !== node.name)
      add(
        "hostname",
        "fail",
        `hostname is ${f.hostname}, cluster.yaml calls it ${node.name}`,
        `rename the node in cluster.yaml to ${f.hostname}, or run hostnamectl set-hostname ${node.name} on it`,
      );
    else add("hostname", "ok", f.hostname);

    const wrong = spec.spec.nodes.filter(
      (other) => f.resolves.get(other.name) !== other.address && !isLoopbackFor(f, other, node),
    );
    if (wrong.length === 0) add("names", "ok", "every node name resolves to its address");
    else
      add(
        "names",
        "warn",
        `${wrong.map((w) => w.name).join(", ")} do not resolve to their addresses`,
        "hactl will add /etc/hosts entries",
      );

    if (f.lookupTimeouts.length > 0) {
      const servers = f.nameservers.length ? f.nameservers.join(", ") : "none configured";
      // sudo looks up the node's own name on every command: with a silent resolver each one waits for it
      const slowSudo = f.lookupTimeouts.includes(node.name) && effectiveSsh(spec, node).user !== "root";
      const sudoNote = slowSudo
        ? `; sudo waits for the resolver on every command until ${node.name} is in its /etc/hosts (add "127.0.1.1 ${node.name}" there to speed the install up)`
        : "";
      add(
        "dns",
        "warn",
        `name lookups got no answer within ${LOOKUP_TIMEOUT_SECONDS} s (resolver: ${servers})`,
        `check the nameserver lines in /etc/resolv.conf and that the node reaches them; hactl puts the nodes' names in /etc/hosts, so the install goes on${sudoNote}`,
      );
    }

    add(...clockCheck(f, min.maxClockSkewSeconds));

    const needed = input.installed.has(node.name) ? [] : [...input.distroPorts];
    if (lbMode === "keepalived-haproxy" && node.role === "control-plane" && !f.commands.has("haproxy"))
      needed.push(spec.spec.loadBalancer.apiPort);
    const busy = needed.filter((p) => f.listening.has(p));
    if (busy.length === 0)
      add("ports", "ok", needed.length ? `${needed.join(", ")} free` : "in use by the running cluster");
    else
      add(
        "ports",
        "fail",
        `port(s) ${busy.join(", ")} already in use`,
        `stop what listens there (ss -ltnp 'sport = :${busy[0]}') or use other servers`,
      );

    const unreachable = peerProbesFor(spec, node.name).filter((p) => !f.reachable.has(p));
    if (unreachable.length === 0)
      add(
        "network",
        "ok",
        node.role === "worker" ? "reaches the control planes and its worker peers" : "reaches every other node",
      );
    else
      add(
        "network",
        "fail",
        `cannot reach ${unreachable.join(", ")}`,
        `open the firewall between the nodes (TCP ${firewallPorts(spec, input.distroPorts).join(", ")})`,
      );
  }
  const version = spec.spec.distribution.version;
  const unsupported = input.today ? endOfSupportProblem(version, input.today) : undefined;
  if (input.today && unsupported)
    checks.push({
      node: "cluster",
      check: "version",
      status: "warn",
      message: unsupported,
      fix: endOfSupportFix(input.today),
    });
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane").length;
  if (cps % 2 === 0)
    checks.push({
      node: "cluster",
      check: "quorum",
      status: "warn",
      message: `${cps} control-plane nodes: an even count tolerates no more failures than ${cps - 1}`,
      fix: "use an odd number of control-plane nodes",
    });
  return checks;
}

/**
 * The clock check: it fails only when the offset is beyond the maximum by more than the measurement's own
 * error bound (half the round trip it was read on), so a slow link cannot pass for a wrong clock.
 */
function clockCheck(
  f: NodeFacts,
  maxSeconds: number,
): [check: string, status: PreflightCheck["status"], message: string, fix?: string] {
  if (!Number.isFinite(f.clockErrorMs))
    return [
      "clock",
      "warn",
      "could not read the node's clock (date +%s%3N)",
      "check that the node has GNU date (coreutils)",
    ];
  const skew = Math.abs(f.clockSkewMs) / 1000;
  const error = f.clockErrorMs / 1000;
  const bound = error >= 0.05 ? ` ± ${error.toFixed(1)} s` : "";
  const message = `clock differs by ${skew.toFixed(1)} s${bound} (maximum ${maxSeconds})`;
  return skew - error <= maxSeconds
    ? ["clock", "ok", message]
    : ["clock", "fail", message, "enable time sync (timedatectl set-ntp true)"];
}

/** The ports nodes must reach on each other: every sshd port in use, then the distribution's. */
function firewallPorts(spec: ClusterSpec, distroPorts: readonly number[]): number[] {
  return [...new Set([...spec.spec.nodes.map((n) => effectiveSsh(spec, n).port), ...distroPorts])];
}

function isLoopbackFor(f: NodeFacts, other: NodeSpec, self: NodeSpec): boolean {
  const ip = f.resolves.get(other.name);
  return other.name === self.name && ip !== undefined && ip.startsWith("127.");
}

export function preflightFailed(checks: readonly PreflightCheck[]): boolean {
  return checks.some((c) => c.status === "fail");
}

/** Nodes whose names do not all resolve correctly: prepare-hosts adds /etc/hosts entries there. */
export function needsHostsEntries(checks: readonly PreflightCheck[]): Set<string> {
  return new Set(checks.filter((c) => c.check === "names" && c.status === "warn").map((c) => c.node));
}

export function formatPreflight(checks: readonly PreflightCheck[]): string {
  const width = Math.max(8, ...checks.map((c) => c.node.length));
  const lines = checks.map((c) => {
    const mark = c.status === "ok" ? "ok  " : c.status === "warn" ? "warn" : "FAIL";
    return `  ${mark}  ${c.node.padEnd(width)}  ${c.check.padEnd(9)} ${c.message}${c.status !== "ok" && c.fix ? `\n        ${" ".repeat(width)}  fix: ${c.fix}` : ""}`;
  });
  return lines.join("\n");
}
