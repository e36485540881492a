import { need } from "../core/host.js";
import { commandLine, runs } from "../core/action.js";
import { actionStep, type Phase, type Plan, type Step } from "../core/plan.js";
import { addonsTurnedOn, microk8s, parseStatus } from "../distros/microk8s.js";
import type { NodeFacts } from "../gather/facts.js";
import { isMember, type Microk8sClusterState } from "../gather/microk8s-state.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import type { RenderedConfig } from "../lb/render.js";
import type { LocalBundle } from "../bundle/local-files.js";
import { lbStep } from "./activate-config.js";
import {
  bundleDescribe,
  importMicrok8sImages,
  installFromBundle,
  microk8sImagesDescribe,
  placeBundle,
  uploadDescribe,
} from "./bundle-install.js";
import { joinMicrok8sNode, waitMember } from "./microk8s-join.js";
import { hostsEntriesStep, nonlocalBindStep, packagesStep } from "./prepare-hosts.js";
import { workerProxyStep, workersToPoint } from "./worker-proxy.js";
import type { WorkerProxyFiles } from "../gather/worker-proxy-state.js";

/** How long a joined node may take to become Ready (and a datastore member). */
const READY_TIMEOUT_MS = 5 * 60_000;

/** What every distribution's install plan starts from: the spec, the facts and the LB layout. */
export interface ClusterPlanInput {
  spec: ClusterSpec;
  facts: ReadonlyMap<string, NodeFacts>;
  /** Nodes (and LB hosts) whose /etc/hosts needs hactl's entries. */
  hostsEntriesFor: ReadonlySet<string>;
  /** Rendered load-balancer configs of the machines that need them (out of date or service down). */
  lbFiles: ReadonlyMap<string, readonly RenderedConfig[]>;
  /** Packages each LB machine needs: keepalived/haproxy/nginx. */
  lbPackages: ReadonlyMap<string, readonly { pkg: string; command: string }[]>;
  /** Nodes that bind the VIP without holding it (haproxy on every control plane). */
  nonlocalBind: ReadonlySet<string>;
  joinAttempts: number;
}

export interface Microk8sPlanInput extends ClusterPlanInput {
  state: Microk8sClusterState;
  /** `host:port` of the load balancer in front of the API (VIP or external LB); workers' proxies point there. */
  apiEndpoint?: string | undefined;
  /** The apiserver-proxy files of the joined workers, as read before planning. */
  workerProxies?: ReadonlyMap<string, WorkerProxyFiles>;
  /** Install from this offline bundle instead of the snap store. */
  bundle?: LocalBundle;
}

/** Pure: the whole MicroK8s install (or the rest of it) as phases of steps. */
export function planMicrok8sInstall(input: Microk8sPlanInput): Plan {
  const { spec } = input;
  const nodes = spec.spec.nodes;
  const leader = nodes.find((n) => n.name === input.state.leader) ?? nodes.find((n) => n.role === "control-plane");
  if (!leader) return [];
  const machines = [
    ...nodes.map((n) => ({ name: n.name, address: n.address })),
    ...(spec.spec.loadBalancer.external?.hosts ?? []),
  ];
  const entries = [...nodes, ...(spec.spec.loadBalancer.external?.hosts ?? [])].map((n) => ({
    name: n.name,
    address: n.address,
  }));

  const prepare: Step[] = [];
  for (const m of machines) {
    if (input.hostsEntriesFor.has(m.name)) prepare.push(hostsEntriesStep(m.name, entries));
    if (input.nonlocalBind.has(m.name) && !input.facts.get(m.name)?.nonlocalBind)
      prepare.push(nonlocalBindStep(m.name));
    const facts = input.facts.get(m.name);
    const pkgs = input.lbPackages.get(m.name);
    const step = facts && pkgs ? packagesStep(m.name, facts, pkgs) : undefined;
    if (step) prepare.push(step);
  }

  const version = spec.spec.distribution.version;
  const install = nodes
    .filter((n) => !input.state.installed.has(n.name))
    .map((n) => installStep(n, version, input.bundle));
  const halfJoined = (n: NodeSpec): boolean =>
    input.state.kubeNodes.some((k) => k.name === n.name) || input.state.datastoreIps.has(n.address);
  const joining = nodes.filter((n) => n.name !== leader.name && !isMember(input.state, n));
  const wanted = addonsTurnedOn(spec.spec.addons);
  const leaderStatus = input.state.status.get(leader.name);
  const missingAddons = wanted.filter((a) => leaderStatus?.addons.get(a) !== "enabled");
  // A node an earlier run installed (its images import may not have finished) imports the bundle's
  // images again before it joins; the leader too while addons remain to be enabled.
  const { bundle } = input;
  const imports = bundle
    ? nodes
        .filter((n) => input.state.installed.has(n.name))
        .filter((n) => joining.includes(n) || (n.name === leader.name && missingAddons.length > 0))
        .map((n) => importStep(n, bundle))
    : [];
  const joins = joining.map((n) =>
    joinStep(
      n,
      leader,
      input.joinAttempts,
      halfJoined(n),
      imports.some((s) => s.node === n.name),
    ),
  );
  // Workers that joined but are not Ready yet (a run stopped while waiting) are waited for again.
  const notReady = (n: NodeSpec): boolean => input.state.kubeNodes.some((k) => k.name === n.name && !k.ready);
  const workersReady = nodes
    .filter((n) => n.role === "worker" && (joining.includes(n) || notReady(n)))
    .map((n) => readyStep(n, leader));

  // snapd must never upgrade a node on its own (auto-refresh broke HA clusters): hold every node.
  const holds = nodes
    .filter((n) => !input.state.snaps.get(n.name)?.held)
    .map((n) => holdStep(n, input.state.installed.has(n.name)));

  const joiningNames = new Set(joining.map((n) => n.name));
  const proxies = workersToPoint(nodes, input.workerProxies ?? new Map(), joiningNames, input.apiEndpoint).map((n) =>
    workerProxyStep(n, input.apiEndpoint as string, joiningNames.has(n.name) ? [joinId(n.name)] : []),
  );

  const lb: Step[] = [...input.lbFiles].map(([name, files]) => lbStep(name, files));

  // A join starts as soon as its own node and the leader are installed, while other nodes still
  // install; the load balancers need nothing from Kubernetes, so they are configured meanwhile.
  const phases: Phase[] = [
    { title: "Prepare hosts", mode: "parallel", steps: prepare },
    { title: "Install MicroK8s", mode: "parallel", steps: [...install, ...imports] },
    { title: "Form the cluster", mode: "serial", steps: joins, alongsidePrevious: true },
    // Joins must be one at a time, but a worker's wait until Ready need not hold up the next join.
    { title: "Wait for workers", mode: "parallel", steps: workersReady, alongsidePrevious: true },
    { title: "Configure load balancers", mode: "parallel", steps: lb, alongsidePrevious: true },
    {
      title: "Point workers' API proxies at the load balancer",
      mode: "parallel",
      steps: proxies,
      alongsidePrevious: true,
    },
    { title: "Hold MicroK8s refreshes", mode: "parallel", steps: holds, alongsidePrevious: true },
    {
      title: "Enable addons",
      mode: "serial",
      steps: missingAddons.length ? [addonsStep(leader.name, missingAddons)] : [],
    },
  ];
  return phases;
}

const installId = (node: string): string => `install:${node}`;
const imagesId = (node: string): string => `images:${node}`;
const joinId = (node: string): string => `join:${node}`;

function installStep(node: NodeSpec, version: string, bundle: LocalBundle | undefined): Step {
  // Planned only where the gathered state had no MicroK8s; on a node that has it after all (installed
  // meanwhile by hand), snap says "already installed" and exits 0. The snap install is not killed by Ctrl-C.
  if (!bundle)
    return actionStep({
      id: installId(node.name),
      node: node.name,
      title: `install MicroK8s ${version}`,
      actions: [runs(microk8s.install(version), { uninterruptible: true }), runs(microk8s.waitReady(300))],
    });
  return {
    id: installId(node.name),
    node: node.name,
    title: `install MicroK8s ${version} from the offline bundle`,
    describe: [...bundleDescribe(bundle), commandLine(microk8s.waitReady(300)), ...microk8sImagesDescribe(bundle)],
    async run(ctx) {
      const host = need(ctx.hosts, node.name);
      const dir = await placeBundle(host, bundle, ctx.log);
      await installFromBundle(host, bundle, dir);
      await host.run(microk8s.waitReady(300), { signal: ctx.signal });
      // before the join: the import reaches this node only, and the addons are enabled after every join
      await importMicrok8sImages(host, bundle, dir);
      return "changed";
    },
  };
}

/** On a node that has MicroK8s: the offline bundle put there again (a complete copy is not sent again) and its images imported. */
function importStep(node: NodeSpec, bundle: LocalBundle): Step {
  return {
    id: imagesId(node.name),
    node: node.name,
    title: "import the offline bundle's images",
    describe: [uploadDescribe(bundle), ...microk8sImagesDescribe(bundle)],
    async run(ctx) {
      const host = need(ctx.hosts, node.name);
      await importMicrok8sImages(host, bundle, await placeBundle(host, bundle, ctx.log));
      return "changed";
    },
  };
}

/** `snap refresh --hold microk8s` once the node has MicroK8s (right after its install on a new node). */
export function holdStep(node: NodeSpec, installed: boolean): Step {
  return actionStep({
    id: `hold:${node.name}`,
    node: node.name,
    title: "hold MicroK8s refreshes",
    actions: [runs(microk8s.hold())],
    ...(installed ? {} : { after: [installId(node.name)] }),
  });
}

function joinStep(node: NodeSpec, leader: NodeSpec, attempts: number, halfJoined: boolean, reimports: boolean): Step {
  return {
    id: joinId(node.name),
    node: node.name,
    title: `join as ${node.role}`,
    after: [installId(leader.name), installId(node.name), ...(reimports ? [imagesId(node.name)] : [])],
    describe: [
      ...(halfJoined
        ? [
            `remove what an interrupted join left of ${node.name} (microk8s leave; remove-node --force on ${leader.name})`,
          ]
        : []),
      `on ${leader.name}: microk8s add-node (fresh single-use token)`,
      `microk8s join ${leader.address}:25000/<token>${node.role === "worker" ? " --worker" : ""}`,
      ...(node.role === "control-plane" ? ["wait until Ready and in the datastore"] : []),
    ],
    async run(ctx) {
      await joinMicrok8sNode({
        leader: need(ctx.hosts, leader.name),
        leaderAddress: leader.address,
        node: need(ctx.hosts, node.name),
        spec: node,
        attempts,
        readyTimeoutMs: READY_TIMEOUT_MS,
        halfJoined,
        skipReadyWait: node.role === "worker",
        signal: ctx.signal,
        log: ctx.log,
      });
      return "changed";
    },
  };
}

function readyStep(node: NodeSpec, leader: NodeSpec): Step {
  return {
    id: `ready:${node.name}`,
    node: node.name,
    title: "wait until Ready",
    describe: [`on ${leader.name}: microk8s kubectl get nodes until ${node.name} is Ready`],
    after: [joinId(node.name)],
    async run(ctx) {
      await waitMember({
        leader: need(ctx.hosts, leader.name),
        spec: node,
        readyTimeoutMs: READY_TIMEOUT_MS,
        signal: ctx.signal,
      });
      return "changed";
    },
  };
}

function addonsStep(leader: string, addons: readonly string[]): Step {
  return {
    id: `addons:${leader}`,
    node: leader,
    title: `enable ${addons.join(", ")}`,
    describe: addons.map((a) => `microk8s enable ${a}`),
    async run(ctx) {
      const host = need(ctx.hosts, leader);
      const status = parseStatus((await host.exec(microk8s.statusYaml())).stdout);
      const todo = addons.filter((a) => status.addons.get(a) !== "enabled");
      for (const addon of todo) await host.run(microk8s.enable(addon));
      return todo.length ? "changed" : "unchanged";
    },
  };
}
