import type { NodeFacts } from "../gather/facts.js";
import { interfaceFor } from "../gather/facts.js";
import { renderExternalLb, renderKeepalivedHaproxy, type LbNode, type RenderedConfig } from "../lb/render.js";
import type { TemplateSource } from "../lb/template-source.js";
import { controlPlaneNodes, gatewayNodes, type ClusterSpec } from "../spec/schema.js";

export interface LbLayout {
  /** Config files per machine (control-plane node or external LB host), in install order. */
  files: Map<string, RenderedConfig[]>;
  /** Packages per machine, installed only when the command is missing. */
  packages: Map<string, { pkg: string; command: string }[]>;
  /** Machines whose haproxy binds the VIP without always holding it. */
  nonlocalBind: Set<string>;
}

export interface LbLayoutInput {
  spec: ClusterSpec;
  facts: ReadonlyMap<string, NodeFacts>;
  /** The API server port on the nodes: 16443 MicroK8s, 6443 kubeadm. */
  backendApiPort: number;
  templates?: TemplateSource;
  /** Resolved stats password, when the stats page is on. */
  statsPassword?: string;
  /**
   * Control planes taken out of service (an upgrade, a certificate renewal; src/phases/out-of-service.ts):
   * in no backend list, and with the lowest VRRP priority, so the VIP moves to a peer and traffic never
   * reaches them. They stay VRRP peers.
   */
  outOfService?: ReadonlySet<string>;
  /**
   * Control planes that stay in every backend but keep the lowest VRRP priority, so the VIP does not move
   * back to them between two passes of an upgrade (each move cuts the connections in flight).
   */
  vrrpStandby?: ReadonlySet<string>;
}

/** The VRRP priority of a node out of service: below every peer, even one whose track script fails. */
export const OUT_OF_SERVICE_PRIORITY = 1;

const KEEPALIVED = { pkg: "keepalived", command: "keepalived" };
const HAPROXY = { pkg: "haproxy", command: "haproxy" };
const NGINX = { pkg: "nginx", command: "nginx" };

/**
 * Pure: which load-balancer files and packages every machine gets, from the spec and gathered facts.
 * keepalived-haproxy: every control plane, and with loadBalancer.web.vip every gateway node as well
 * (the web VIP's VRRP instance; haproxy's web frontend to the gateway nodes only).
 * External LB hosts forward loadBalancer.apiPort to the control planes' API, plus external.ports to
 * every node.
 */
export function lbLayout(input: LbLayoutInput): LbLayout {
  const { spec } = input;
  const lb = spec.spec.loadBalancer;
  const layout: LbLayout = { files: new Map(), packages: new Map(), nonlocalBind: new Set() };
  const asLb = (n: { name: string; address: string }): LbNode => ({ name: n.name, address: n.address });
  // High priorities fail over sooner: a backup declares the master dead after 3 adverts plus a skew of
  // (256 - priority)/256 of an advert (0.06 s at 240, 0.45 s at 140). The track script's weight (-60)
  // still drops a failing holder below every healthy peer.
  const priority = (i: number): number => Math.max(1, 250 - i * 10);
  const inService = (n: { name: string }): boolean => !input.outOfService?.has(n.name);

  if (lb.mode === "keepalived-haproxy" && lb.vip) {
    const cps = controlPlaneNodes(spec).map(asLb);
    const draining = cps.some((n) => !inService(n));
    const gateways = lb.web.enabled && lb.web.vip ? gatewayNodes(spec).map(asLb) : [];
    const webVip =
      lb.web.vip && lb.web.virtualRouterId !== undefined && gateways.length > 0
        ? { address: lb.web.vip, virtualRouterId: lb.web.virtualRouterId, gateways }
        : undefined;
    const webNodes = (webVip ? gateways : spec.spec.nodes.map(asLb)).filter(inService);
    // control planes first, then the gateway nodes that are workers
    const machines = [...cps, ...gateways.filter((g) => !cps.some((c) => c.name === g.name))];
    machines.forEach((self) => {
      const i = cps.findIndex((c) => c.name === self.name);
      const g = gateways.findIndex((c) => c.name === self.name);
      const standby = !inService(self) || input.vrrpStandby?.has(self.name) === true;
      const facts = input.facts.get(self.name);
      const iface = lb.interface ?? (facts ? interfaceFor(facts, self.address) : undefined) ?? "eth0";
      layout.files.set(
        self.name,
        renderKeepalivedHaproxy(
          {
            clusterName: spec.metadata.name,
            vip: lb.vip as string,
            interface: iface,
            virtualRouterId: lb.virtualRouterId,
            unicast: lb.unicast,
            apiPort: lb.apiPort,
            backendApiPort: input.backendApiPort,
            controlPlanes: cps,
            ...(draining ? { apiBackends: cps.filter(inService) } : {}),
            self,
            priority: i >= 0 && !standby ? priority(i) : OUT_OF_SERVICE_PRIORITY,
            ...(lb.web.enabled
              ? {
                  web: {
                    port: lb.web.port,
                    backendPort: lb.web.backendPort,
                    nodes: webNodes,
                    ...(webVip
                      ? { vip: { ...webVip, priority: g >= 0 && !standby ? priority(g) : OUT_OF_SERVICE_PRIORITY } }
                      : {}),
                  },
                }
              : {}),
            ...(lb.stats.enabled && input.statsPassword
              ? { stats: { port: lb.stats.port, user: lb.stats.user, password: input.statsPassword } }
              : {}),
          },
          input.templates,
        ),
      );
      layout.packages.set(self.name, [KEEPALIVED, HAPROXY]);
      layout.nonlocalBind.add(self.name);
    });
  }

  if (lb.mode === "external" && lb.external) {
    const hosts = lb.external.hosts.map(asLb);
    const engine = lb.external.engine;
    hosts.forEach((self, i) => {
      const facts = input.facts.get(self.name);
      const withVip = hosts.length > 1 && lb.vip !== undefined;
      const iface = lb.interface ?? (facts ? interfaceFor(facts, self.address) : undefined) ?? "eth0";
      layout.files.set(
        self.name,
        renderExternalLb(
          {
            engine,
            clusterName: spec.metadata.name,
            ...(withVip
              ? { vip: lb.vip, interface: iface, virtualRouterId: lb.virtualRouterId, unicast: lb.unicast }
              : {}),
            self,
            peers: hosts.filter((h) => h.name !== self.name),
            priority: priority(i),
            ports: [
              {
                port: lb.apiPort,
                protocol: "tcp" as const,
                backendPort: input.backendApiPort,
                backends: controlPlaneNodes(spec).filter(inService).map(asLb),
                readyz: true,
              },
              ...(lb.external?.ports ?? []).map((p) => ({
                port: p.port,
                protocol: p.protocol,
                ...(p.backendPort ? { backendPort: p.backendPort } : {}),
                ...((p.backendPort ?? p.port) === input.backendApiPort
                  ? { backends: controlPlaneNodes(spec).filter(inService).map(asLb), readyz: true }
                  : {}),
              })),
            ],
            backends: spec.spec.nodes.filter(inService).map(asLb),
          },
          input.templates,
        ),
      );
      layout.packages.set(self.name, [engine === "nginx" ? NGINX : HAPROXY, ...(withVip ? [KEEPALIVED] : [])]);
      if (withVip) layout.nonlocalBind.add(self.name);
    });
  }
  return layout;
}
