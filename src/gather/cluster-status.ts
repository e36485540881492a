import type { RemoteHost } from "../core/host.js";
import { forEachNode } from "../core/parallel.js";
import type { ClusterSpec } from "../spec/schema.js";
import { TCP_PROBE_FN } from "./tcp-probe.js";

/** What one load-balancer machine serves and whether each backend answers from there. */
export interface LbObservation {
  machine: string;
  service: "haproxy" | "nginx";
  active: boolean;
  backends: { endpoint: string; up: boolean }[];
}

const CONFIGS: { service: LbObservation["service"]; path: string }[] = [
  { service: "haproxy", path: "/etc/haproxy/haproxy.cfg" },
  { service: "nginx", path: "/etc/nginx/nginx.conf" },
];

/** `server NAME 10.0.0.11:16443 check` (haproxy) and `server host-or-ip:16443 max_fails=2;` (nginx). */
export function parseBackends(config: string): string[] {
  const found = new Set<string>();
  for (const line of config.split("\n")) {
    const m = /^\s*server\s+(?:[A-Za-z0-9_.-]+\s+(?=[A-Za-z0-9.-]+:\d))?([A-Za-z0-9.-]+:\d+)\b/.exec(line);
    if (m?.[1]) found.add(m[1]);
  }
  return [...found];
}

const PROBE = `${TCP_PROBE_FN}
for ep in "$@"; do ( if tcp_probe "\${ep%:*}" "\${ep##*:}"; then echo "up $ep"; else echo "down $ep"; fi ) & done; wait`;

/** Reads each LB machine's config, and probes every backend from that machine (its own view). */
export async function observeLoadBalancers(
  hosts: ReadonlyMap<string, RemoteHost>,
  machines: readonly { name: string }[],
): Promise<LbObservation[]> {
  const seen: LbObservation[] = [];
  await forEachNode(
    "Read load balancers",
    machines.filter((m) => hosts.has(m.name)),
    async (m) => {
      const host = hosts.get(m.name) as RemoteHost;
      for (const c of CONFIGS) {
        const config = await host.readFile(c.path, { sudo: true });
        const endpoints = config ? parseBackends(config) : [];
        if (endpoints.length === 0) continue;
        const active = (await host.exec({ argv: ["systemctl", "is-active", c.service], sudo: true })).code === 0;
        const probe = await host.exec({ argv: ["sh", "-c", PROBE, "hactl-probe", ...endpoints], timeoutMs: 60_000 });
        const up = new Set(
          probe.stdout
            .split("\n")
            .filter((l) => l.startsWith("up "))
            .map((l) => l.slice(3)),
        );
        seen.push({
          machine: m.name,
          service: c.service,
          active,
          backends: endpoints.map((endpoint) => ({ endpoint, up: up.has(endpoint) })),
        });
      }
    },
  );
  return seen.sort((a, b) => a.machine.localeCompare(b.machine));
}

/** The machine that holds the VIP right now, from each machine's own addresses. */
export async function findVipHolders(hosts: ReadonlyMap<string, RemoteHost>, vip: string): Promise<string[]> {
  const holders: string[] = [];
  await Promise.all(
    [...hosts].map(async ([name, host]) => {
      const r = await host.exec({ argv: ["ip", "-4", "-o", "addr", "show"] });
      if (r.stdout.split(/\s+/).some((w) => w === `${vip}/32` || w.startsWith(`${vip}/`))) holders.push(name);
    }),
  );
  return holders.sort();
}

/** Every load-balancer machine of the spec observed, and who holds the VIP and the web VIP (when there are). */
export async function observeFrontends(
  spec: ClusterSpec,
  hosts: ReadonlyMap<string, RemoteHost>,
): Promise<{ loadBalancers: LbObservation[]; vipHolders?: string[]; webVipHolders?: string[] }> {
  const lb = spec.spec.loadBalancer;
  const onNodes = lb.mode === "keepalived-haproxy";
  const machines =
    lb.mode === "external"
      ? (lb.external?.hosts ?? [])
      : onNodes
        ? spec.spec.nodes.filter((n) => n.role === "control-plane" || (lb.web.vip !== undefined && n.gateway === true))
        : [];
  const webVip = onNodes && lb.web.enabled ? lb.web.vip : undefined;
  const [loadBalancers, vipHolders, webVipHolders] = await Promise.all([
    observeLoadBalancers(hosts, machines),
    lb.vip && lb.mode !== "none" ? findVipHolders(hosts, lb.vip) : Promise.resolve(undefined),
    webVip ? findVipHolders(hosts, webVip) : Promise.resolve(undefined),
  ]);
  return { loadBalancers, ...(vipHolders ? { vipHolders } : {}), ...(webVipHolders ? { webVipHolders } : {}) };
}
