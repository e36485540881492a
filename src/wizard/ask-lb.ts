/** The load-balancer questions: mode, dedicated hosts and ports (external), API port, VIP, interface, web. */
import type { LoadBalancerMode } from "../spec/schema.js";
import {
  DEFAULTS,
  interfaceMatters,
  vipRequired,
  type Distribution,
  type Draft,
  type LbHostAnswer,
  type NodeAnswer,
  type WizardAnswers,
} from "./answers.js";
import { askInterface, type DiscoverInterfaces } from "./ask-interface.js";
import { askInt, type Prompter } from "./prompter.js";
import {
  both,
  checkAddress,
  checkApiPort,
  checkName,
  checkVip,
  formatPorts,
  notTaken,
  orEmpty,
  parsePorts,
} from "./validate.js";

export type LbAnswers = Pick<WizardAnswers, "lbMode" | "lbHosts" | "lbPorts" | "vip" | "iface" | "apiPort" | "web">;

const MODES = [
  { value: "keepalived-haproxy", name: "keepalived + haproxy on the control-plane nodes (a VIP moves between them)" },
  { value: "external", name: "external: one or two dedicated load-balancer hosts running nginx, set up by hactl" },
  { value: "none", name: "none: your own appliance (hactl render writes its configs)" },
] as const satisfies readonly { value: LoadBalancerMode; name: string }[];

async function askLbHosts(p: Prompter, nodes: readonly NodeAnswer[]): Promise<LbHostAnswer[]> {
  const count = await askInt(p, "How many load-balancer hosts? (2 share a VIP with keepalived)", 1, 2, 1);
  const hosts: LbHostAnswer[] = [];
  for (let i = 0; i < count; i++) {
    const name = await p.input(`Load-balancer host ${i + 1}: name`, {
      initial: `lb-${i + 1}`,
      validate: both(
        checkName,
        notTaken(
          [...nodes, ...hosts].map((m) => m.name),
          "node or load-balancer host",
        ),
      ),
    });
    const address = await p.input(`${name}: address (IPv4 or hostname)`, {
      validate: both(
        checkAddress,
        notTaken(
          [...nodes, ...hosts].map((m) => m.address),
          "node or load-balancer host",
        ),
      ),
    });
    hosts.push({ name, address });
  }
  return hosts;
}

export async function askLoadBalancer(
  draft: Draft,
  cluster: { nodes: readonly NodeAnswer[]; distribution: Distribution },
  p: Prompter,
  discover?: DiscoverInterfaces,
): Promise<LbAnswers> {
  const { nodes, distribution } = cluster;
  const lbMode =
    draft.lbMode ?? (await p.select("Load balancer in front of the API (and web) ports", MODES, DEFAULTS.lbMode));
  const lbHosts = lbMode === "external" ? (draft.lbHosts ?? (await askLbHosts(p, nodes))) : [];
  const apiPort =
    draft.apiPort ??
    Number(
      await p.input("Port of the Kubernetes API on the VIP / load balancer", {
        initial: String(DEFAULTS.apiPort),
        validate: checkApiPort(distribution),
      }),
    );
  let lbPorts = draft.lbPorts ?? [];
  if (lbMode === "external" && !draft.lbPorts) {
    const answer = await p.input("Other ports the load balancers forward to the nodes (e.g. 80, 443, 12201/udp)", {
      initial: "80, 443",
      validate: (v) => {
        const parsed = parsePorts(v, apiPort);
        return typeof parsed === "string" ? parsed : true;
      },
    });
    const parsed = parsePorts(answer, apiPort);
    lbPorts = typeof parsed === "string" ? [] : parsed;
    p.say(`Forwarding ${formatPorts(lbPorts)} and the API port ${apiPort}.`);
  }
  const machineAddresses = [...nodes, ...lbHosts].map((m) => m.address);
  let vip = draft.vip;
  if (vip === undefined && lbMode === "none") {
    vip =
      (await p.input("VIP your appliance will hold for the API (blank: none)", {
        validate: orEmpty(checkVip(machineAddresses)),
      })) || undefined;
  } else if (vip === undefined && vipRequired(lbMode, lbHosts.length)) {
    vip = await p.input("Virtual IP (VIP) for the API: a free address on the same network as the nodes", {
      validate: checkVip(machineAddresses),
    });
  }
  let iface = draft.iface;
  if (iface === undefined && interfaceMatters(lbMode, lbHosts.length)) {
    const holders = lbMode === "external" ? lbHosts : nodes.filter((n) => n.role === "control-plane");
    iface = await askInterface(p, holders, nodes, discover);
  }
  const web =
    draft.web ??
    (lbMode === "external"
      ? DEFAULTS.web
      : await p.confirm("Also balance web traffic (port 80) across the nodes?", DEFAULTS.web));
  return { lbMode, lbHosts, lbPorts, vip, iface, apiPort, web };
}
