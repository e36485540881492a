import type { Command } from "../core/command.js";
import type { RemoteHost } from "../core/host.js";
import { TCP_PROBE_FN } from "./tcp-probe.js";

/** What a node looks like before hactl changes anything. Gathered with one remote command per node. */
export interface NodeFacts {
  osId: string;
  osVersion: string;
  /** The machine's architecture as `uname -m` prints it (x86_64, aarch64). */
  arch: string;
  hostname: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** Node clock minus workstation clock, in milliseconds, measured on a round trip of its own. */
  clockSkewMs: number;
  /** How far off clockSkewMs may be: half the round trip it was measured on, in milliseconds. */
  clockErrorMs: number;
  /** interface name → IPv4 addresses (without prefix length) */
  interfaces: Map<string, string[]>;
  /** TCP ports something listens on. */
  listening: Set<number>;
  /** name → address, as each queried node name resolves on this node (missing when it does not). */
  resolves: Map<string, string>;
  /** Names whose lookup got no answer within LOOKUP_TIMEOUT_SECONDS (the resolver is slow or silent). */
  lookupTimeouts: string[];
  /** The nameservers in the node's /etc/resolv.conf. */
  nameservers: string[];
  /** Executables present: snap, microk8s, kubeadm, keepalived, haproxy, nginx, ... */
  commands: Set<string>;
  /** Ports of other nodes this node could open a TCP connection to ("address:port"). */
  reachable: Set<string>;
  /** net.ipv4.ip_nonlocal_bind is 1 now and hactl's sysctl file keeps it so across reboots. */
  nonlocalBind: boolean;
  /** The lines of hactl's managed block in /etc/hosts (empty when there is none). */
  hostsBlock: string[];
}

/** Every name lookup in the facts script gives up after this long; all lookups run at once. */
export const LOOKUP_TIMEOUT_SECONDS = 2;

const TOOLS = [
  "snap",
  "keepalived",
  "haproxy",
  "nginx",
  "kubeadm",
  "kubelet",
  "containerd",
  "etcdctl",
  "bash",
  "mount.nfs",
  "showmount",
];

/**
 * The facts script runs as the login user (it changes nothing), so it adds the sbin directories a
 * non-root PATH lacks, where keepalived and haproxy live. It is a constant of hactl; names and
 * addresses to look up are passed as positional arguments ("$@"), never spliced into the script, so
 * nothing from cluster.yaml is read by the shell.
 */
const FACTS_SCRIPT = `
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
${TCP_PROBE_FN}
. /etc/os-release 2>/dev/null
echo "os_id=$ID"; echo "os_version=$VERSION_ID"; echo "arch=$(uname -m)"
echo "hostname=$(hostname)"
echo "cpus=$(nproc 2>/dev/null || echo 0)"
echo "mem_kib=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)"
echo "disk_kib=$(df -Pk / | awk 'NR==2{print $4}')"
awk '$1 == "nameserver" {print "nameserver=" $2}' /etc/resolv.conf 2>/dev/null
sed -n '/^# BEGIN hactl cluster nodes$/,/^# END hactl cluster nodes$/p' /etc/hosts 2>/dev/null | sed '1d;$d;s/^/hostsblock=/' 
[ "$(sysctl -n net.ipv4.ip_nonlocal_bind 2>/dev/null)" = 1 ] && grep -qs 'ip_nonlocal_bind = 1' /etc/sysctl.d/60-hactl-loadbalancer.conf && echo "nonlocal_bind=1"
ip -o -4 addr show 2>/dev/null | awk '{print "addr=" $2 " " $4}'
ss -Htln 2>/dev/null | awk '{print "listen=" $4}'
for tool in ${TOOLS.join(" ")}; do command -v "$tool" >/dev/null 2>&1 && echo "has=$tool"; done
lookup() {
  out=$(timeout ${LOOKUP_TIMEOUT_SECONDS} getent ahostsv4 "$1" 2>/dev/null)
  [ $? -eq 124 ] && { echo "lookup_timeout=$1"; return; }
  ip=$(printf '%s\\n' "$out" | awk 'NR==1{print $1}')
  [ -n "$ip" ] && echo "resolves=$1 $ip"
}
mode=names
for arg in "$@"; do
  if [ "$arg" = "--probe" ]; then mode=probe; continue; fi
  if [ "$mode" = names ]; then
    lookup "$arg" &
  else
    ( { tcp_probe "\${arg%:*}" "\${arg##*:}" || { sleep 1; tcp_probe "\${arg%:*}" "\${arg##*:}"; }; } && echo "reach=$arg" ) &
  fi
done
wait
true
`;

export function factsCommand(names: readonly string[], probes: readonly string[]): Command {
  return { argv: ["sh", "-c", FACTS_SCRIPT, "hactl-facts", ...names, "--probe", ...probes], timeoutMs: 60_000 };
}

/** Parse the facts script's output (the clock is measured apart, by measureClock). */
export function parseFacts(stdout: string): NodeFacts {
  const facts: NodeFacts = {
    osId: "",
    osVersion: "",
    arch: "",
    hostname: "",
    cpus: 0,
    memoryMiB: 0,
    diskGiB: 0,
    clockSkewMs: 0,
    clockErrorMs: 0,
    interfaces: new Map(),
    listening: new Set(),
    resolves: new Map(),
    lookupTimeouts: [],
    nameservers: [],
    commands: new Set(),
    reachable: new Set(),
    nonlocalBind: false,
    hostsBlock: [],
  };
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    switch (key) {
      case "os_id":
        facts.osId = value;
        break;
      case "os_version":
        facts.osVersion = value;
        break;
      case "arch":
        facts.arch = value;
        break;
      case "hostname":
        facts.hostname = value;
        break;
      case "cpus":
        facts.cpus = Number(value) || 0;
        break;
      case "mem_kib":
        facts.memoryMiB = Math.floor((Number(value) || 0) / 1024);
        break;
      case "disk_kib":
        facts.diskGiB = Math.floor((Number(value) || 0) / 1024 / 1024);
        break;
      case "addr": {
        const [iface, cidr] = value.split(" ");
        if (iface && cidr)
          facts.interfaces.set(iface, [...(facts.interfaces.get(iface) ?? []), cidr.split("/")[0] ?? cidr]);
        break;
      }
      case "listen": {
        const port = Number(value.slice(value.lastIndexOf(":") + 1));
        if (port > 0) facts.listening.add(port);
        break;
      }
      case "has":
        facts.commands.add(value);
        break;
      case "resolves": {
        const [name, ip] = value.split(" ");
        if (name && ip) facts.resolves.set(name, ip);
        break;
      }
      case "lookup_timeout":
        if (value) facts.lookupTimeouts.push(value);
        break;
      case "nameserver":
        if (value) facts.nameservers.push(value);
        break;
      case "reach":
        facts.reachable.add(value);
        break;
      case "nonlocal_bind":
        facts.nonlocalBind = value === "1";
        break;
      case "hostsblock":
        facts.hostsBlock.push(line.slice(eq + 1));
        break;
    }
  }
  return facts;
}

export interface ClockSample {
  /** Node clock minus workstation clock, in milliseconds. */
  offsetMs: number;
  /** Half the round trip the sample was taken on: the most the offset can be off by. */
  errorMs: number;
}

/** Round trips shorter than this are tight enough; measureClock stops sampling. */
const TIGHT_ROUND_TRIP_MS = 100;
const CLOCK_SAMPLES = 3;

/**
 * The node's clock offset, measured on round trips of their own that only read the clock, so that
 * nothing slow (name lookups, a loaded node) can pass for clock skew. The sample with the shortest
 * round trip wins; its error bound is half that round trip.
 */
export async function measureClock(host: RemoteHost, now: () => number = Date.now): Promise<ClockSample> {
  let best: ClockSample | undefined;
  for (let i = 0; i < CLOCK_SAMPLES; i++) {
    const sentAt = now();
    const result = await host.run({ argv: ["date", "+%s%3N"], timeoutMs: 15_000 });
    const receivedAt = now();
    const nodeMs = Number(result.stdout.trim());
    if (!Number.isFinite(nodeMs) || nodeMs <= 0) continue;
    const sample = { offsetMs: nodeMs - (sentAt + receivedAt) / 2, errorMs: (receivedAt - sentAt) / 2 };
    if (!best || sample.errorMs < best.errorMs) best = sample;
    if (best.errorMs * 2 < TIGHT_ROUND_TRIP_MS) break;
  }
  return best ?? { offsetMs: 0, errorMs: Number.POSITIVE_INFINITY };
}

export async function gatherFacts(
  host: RemoteHost,
  names: readonly string[],
  probes: readonly string[],
): Promise<NodeFacts> {
  const clock = await measureClock(host);
  const facts = parseFacts((await host.run(factsCommand(names, probes))).stdout);
  return { ...facts, clockSkewMs: clock.offsetMs, clockErrorMs: clock.errorMs };
}

/** The interface that carries an address (for keepalived's `interface`). */
export function interfaceFor(facts: NodeFacts, address: string): string | undefined {
  for (const [iface, addrs] of facts.interfaces) if (addrs.includes(address)) return iface;
  return undefined;
}
