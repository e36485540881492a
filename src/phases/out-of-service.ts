import { need } from "../core/host.js";
import { HactlError } from "../core/errors.js";
import { parseOpensslDate } from "../distros/certs.js";
import type { Phase, Step } from "../core/plan.js";
import { findVipHolders } from "../gather/cluster-status.js";
import { TCP_PROBE_FN } from "../gather/tcp-probe.js";
import type { RenderedConfig } from "../lb/render.js";
import { controlPlaneNodes, type NodeSpec } from "../spec/schema.js";
import { lbStep } from "./activate-config.js";
import { lbLayout, type LbLayoutInput } from "./lb-configs.js";

/**
 * Taking nodes out of service and putting them back, for work that restarts an API server or a kubelet
 * (certificate renewal, upgrades); the one implementation of putting load-balancer configs live on every
 * LB machine and of waiting for the VIP to move, which remove-node (and so reset) uses too. Out of service means: in no haproxy/nginx backend list on any
 * load-balancer machine (reloaded gracefully, so connections already open finish), and with the lowest
 * VRRP priority so it hands the VIP to a peer and does not take it back. Back in service means: its API
 * answers on the node itself, every load balancer gets the normal configs again, and the API answers
 * through the VIP.
 *
 * Both directions are plain phases built from the same layout input as install, and every step is
 * idempotent: after a Ctrl-C, planning the same phases again finishes the job (configs already in place
 * are "unchanged").
 */

/** What a caller needs to take nodes in and out: the normal layout input (no outOfService set). */
export type ServiceLayoutInput = Omit<LbLayoutInput, "outOfService">;

/** Where clients reach the API (VIP or external LB) and how long to wait for it. */
export interface ApiEndpoint {
  host: string;
  port: number;
}

/** How a caller probes an address from the workstation (injected so planning stays pure). */
export type LivezProbe = (host: string, port: number, totalMs: number) => Promise<boolean>;

const VIP_RELEASE_MS = 30_000;
const API_SERVING_SECONDS = 90;

/** Pure: why `node` cannot be taken out of service without an outage, or undefined when it can. */
export function outOfServiceRefusal(input: ServiceLayoutInput, node: NodeSpec): string | undefined {
  if (node.role !== "control-plane") return undefined;
  const others = controlPlaneNodes(input.spec).filter((n) => n.name !== node.name);
  if (others.length === 0)
    return `${node.name} is the only control plane: nothing else can serve the API while it is out of service`;
  return undefined;
}

/** Pure: every load-balancer machine's files with `nodes` out of service (empty set: the normal files), `standby` at the lowest VRRP priority. */
export function serviceLayoutFiles(
  input: ServiceLayoutInput,
  outOfService: ReadonlySet<string>,
  standby?: ReadonlySet<string>,
): Map<string, RenderedConfig[]> {
  return lbLayout({ ...input, outOfService, ...(standby && standby.size > 0 ? { vrrpStandby: standby } : {}) }).files;
}

/** Pure: whether taking `nodes` out changes any load balancer's files (a worker no backend lists: no). */
export function serviceLayoutChanges(
  input: ServiceLayoutInput,
  nodes: ReadonlySet<string>,
  standby?: ReadonlySet<string>,
): boolean {
  const before = serviceLayoutFiles(input, new Set(), standby);
  const during = serviceLayoutFiles(input, nodes, standby);
  return [...before].some(([machine, files]) => JSON.stringify(during.get(machine)) !== JSON.stringify(files));
}

/** Pure: the normal load-balancer configs again where an interrupted run left a node out of service. */
export function backInServicePhase(input: ServiceLayoutInput, stale: ReadonlySet<string>): Phase {
  const files = serviceLayoutFiles(input, new Set());
  return {
    title: "Put every node back in service",
    mode: "parallel",
    steps: [...files].filter(([m]) => stale.has(m)).map(([m, f]) => lbStep(m, f)),
  };
}

/** The VIP the control planes share, when keepalived runs on them. */
export function controlPlaneVip(input: ServiceLayoutInput): string | undefined {
  const lb = input.spec.spec.loadBalancer;
  return lb.mode === "keepalived-haproxy" ? lb.vip : undefined;
}

export interface ServiceOptions {
  /** Distinguishes the step ids of the same node taken out more than once in one plan (e.g. the minor of an upgrade pass). */
  key?: string;
  /** Control planes kept in every backend but at the lowest VRRP priority meanwhile (an upgrade between passes). */
  standby?: ReadonlySet<string>;
  /** Where clients reach the API; checked after the switch when given. */
  endpoint?: ApiEndpoint;
  probe?: LivezProbe;
}

const idOf = (nodes: readonly NodeSpec[], opts: ServiceOptions): string =>
  `${opts.key ? `${opts.key}:` : ""}${nodes.map((n) => n.name).join("+")}`;

/**
 * Pure: the phases that take `nodes` out of service: new configs on every load-balancer machine (a control
 * plane's own keepalived with the lowest priority), then a wait until none of them holds the VIP, then
 * (with an endpoint) the API through it.
 */
export function takeOutOfService(
  input: ServiceLayoutInput,
  target: NodeSpec | readonly NodeSpec[],
  opts: ServiceOptions = {},
): Phase[] {
  const nodes = Array.isArray(target) ? (target as readonly NodeSpec[]) : [target as NodeSpec];
  const names = nodes.map((n) => n.name);
  const id = idOf(nodes, opts);
  const files = serviceLayoutFiles(input, new Set(names), opts.standby);
  const lbSteps = [...files].map(([machine, machineFiles]) =>
    lbStep(machine, machineFiles, {
      id: `oos:${id}:lb:${machine}`,
      title: names.includes(machine)
        ? `lowest VRRP priority, ${machine} out of the backends`
        : `${names.join(", ")} out of the backends`,
    }),
  );
  const phases: Phase[] = [{ title: `Take ${names.join(", ")} out of service`, mode: "parallel", steps: lbSteps }];
  const vip = controlPlaneVip(input);
  const cps = nodes.filter((n) => n.role === "control-plane");
  if (vip && cps.length > 0)
    phases.push({
      title: `${cps.map((n) => n.name).join(", ")} hand${cps.length === 1 ? "s" : ""} the VIP over`,
      mode: "serial",
      steps: cps.map((n) => vipReleasedStep(n.name, vip, `oos:${opts.key ? `${opts.key}:` : ""}${n.name}:vip`)),
    });
  if (opts.endpoint && opts.probe && cps.length > 0)
    phases.push({
      title: "API through the load balancer",
      mode: "serial",
      steps: [throughEndpointStep(`oos:${id}:endpoint`, names[0] ?? "", opts.endpoint, opts.probe)],
    });
  return phases;
}

/**
 * Pure: the phases that put `nodes` back: a control plane's API must answer on the node itself (optionally
 * with a certificate valid past `servedValidAfter`), then the normal configs everywhere (standby nodes
 * kept at the lowest VRRP priority), then the API through `endpoint` (when there is one).
 */
export function putBackInService(
  input: ServiceLayoutInput,
  target: NodeSpec | readonly NodeSpec[],
  opts: ServiceOptions & { probe: LivezProbe; servedValidAfter?: Date },
): Phase[] {
  const nodes = Array.isArray(target) ? (target as readonly NodeSpec[]) : [target as NodeSpec];
  const names = nodes.map((n) => n.name);
  const id = idOf(nodes, opts);
  const files = serviceLayoutFiles(input, new Set(), opts.standby);
  const kept =
    opts.standby && opts.standby.size > 0 ? `, ${[...opts.standby].join(", ")} kept at the lowest VRRP priority` : "";
  const lbSteps = [...files].map(([machine, machineFiles]) =>
    lbStep(machine, machineFiles, {
      id: `ois:${id}:lb:${machine}`,
      title: `${names.join(", ")} back in the backends${kept}`,
    }),
  );
  const cps = nodes.filter((n) => n.role === "control-plane");
  const phases: Phase[] = [];
  if (cps.length > 0)
    phases.push({
      title: `${cps.map((n) => n.name).join(", ")}'s API answers`,
      mode: "serial",
      steps: cps.map((n) => apiServingStep(n, input.backendApiPort, opts.servedValidAfter, opts.key)),
    });
  phases.push({ title: `Put ${names.join(", ")} back in service`, mode: "parallel", steps: lbSteps });
  if (opts.endpoint)
    phases.push({
      title: "API through the load balancer",
      mode: "serial",
      steps: [throughEndpointStep(`ois:${id}:endpoint`, names[0] ?? "", opts.endpoint, opts.probe)],
    });
  return phases;
}

function vipReleasedStep(node: string, vip: string, id: string): Step {
  return {
    id,
    node,
    title: `wait until ${node} no longer holds the VIP ${vip}`,
    describe: [`ip -4 -o addr show (until ${vip} is gone, at most ${VIP_RELEASE_MS / 1000} s)`],
    async run(ctx) {
      const host = need(ctx.hosts, node);
      const one = new Map([[node, host]]);
      const deadline = Date.now() + VIP_RELEASE_MS;
      let waited = false;
      while ((await findVipHolders(one, vip)).length > 0) {
        if (Date.now() > deadline) {
          throw new HactlError("UNHEALTHY", `${node} still holds the VIP ${vip} after its VRRP priority was lowered`, {
            node,
            remedy:
              "Check that the other control planes' keepalived runs (hactl status); nothing on this node was stopped. Then run the same command again.",
          });
        }
        if (ctx.signal.aborted) break;
        waited = true;
        await new Promise((r) => setTimeout(r, 500));
      }
      return waited ? "changed" : "unchanged";
    },
  };
}

/**
 * On the node itself: wait until its API port accepts TLS, and print the served certificate's notAfter
 * (`openssl s_client`, then `openssl x509 -enddate`).
 */
const SERVED_CERT_SCRIPT = `${TCP_PROBE_FN}
addr=$1 port=$2 seconds=$3
i=0
while [ "$i" -lt "$seconds" ]; do
  if tcp_probe "$addr" "$port"; then
    end=$(openssl s_client -connect "$addr:$port" </dev/null 2>/dev/null | openssl x509 -noout -enddate 2>/dev/null)
    if [ -n "$end" ]; then echo "$end"; exit 0; fi
  fi
  sleep 1; i=$((i+1))
done
exit 1`;

function apiServingStep(node: NodeSpec, port: number, validAfter: Date | undefined, key: string | undefined): Step {
  return {
    id: `ois:${key ? `${key}:` : ""}${node.name}:api`,
    node: node.name,
    title: `API answers on ${node.address}:${port}${validAfter ? " with the renewed certificate" : ""}`,
    describe: [`openssl s_client -connect ${node.address}:${port} (at most ${API_SERVING_SECONDS} s)`],
    async run(ctx) {
      const r = await need(ctx.hosts, node.name).exec({
        argv: [
          "sh",
          "-c",
          SERVED_CERT_SCRIPT,
          "hactl-served-cert",
          node.address,
          String(port),
          String(API_SERVING_SECONDS),
        ],
        timeoutMs: (API_SERVING_SECONDS + 30) * 1000,
      });
      if (r.code !== 0) {
        throw new HactlError(
          "UNHEALTHY",
          `${node.name}'s API does not answer on ${node.address}:${port}; it stays out of the load balancers`,
          {
            node: node.name,
            remedy:
              "Look at the API server on that node, then run the same command again: it puts the node back once its API answers.",
          },
        );
      }
      const notAfter = parseNotAfter(r.stdout);
      if (validAfter && (!notAfter || notAfter.getTime() <= validAfter.getTime())) {
        throw new HactlError(
          "UNHEALTHY",
          `${node.name}'s API still serves a certificate that expires ${notAfter?.toISOString().slice(0, 10) ?? "(unreadable)"}; it stays out of the load balancers`,
          {
            node: node.name,
            remedy:
              "The API server did not pick up the renewed certificate: restart it on that node, then run the same command again.",
          },
        );
      }
      ctx.log(`served certificate: ${r.stdout.trim()}`);
      return "unchanged";
    },
  };
}

function throughEndpointStep(id: string, node: string, endpoint: ApiEndpoint, probe: LivezProbe): Step {
  return {
    id,
    node,
    title: `API answers through https://${endpoint.host}:${endpoint.port}`,
    describe: [`GET https://${endpoint.host}:${endpoint.port}/livez`],
    async run() {
      if (!(await probe(endpoint.host, endpoint.port, 60_000))) {
        throw new HactlError("UNHEALTHY", `the API does not answer through https://${endpoint.host}:${endpoint.port}`, {
          node,
          remedy: "Run `hactl status` to see which load balancer or node is down.",
        });
      }
      return "unchanged";
    },
  };
}

/** `notAfter=Mar 15 01:59:00 2026 GMT` (openssl x509 -enddate) as a Date. */
function parseNotAfter(text: string): Date | undefined {
  const m = /notAfter=(.+)/.exec(text);
  return m?.[1] ? parseOpensslDate(m[1]) : undefined;
}
